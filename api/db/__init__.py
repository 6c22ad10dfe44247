"""Storage: SQLAlchemy 2 models, engine/session factory and the Alembic runner."""

from api.db.models import (
    ActionItem,
    Alert,
    AlertEvent,
    ApiKey,
    Base,
    OutboxEvent,
    Response,
    ResponseEvent,
    ResponseTheme,
)
from api.db.session import Database, migrate

__all__ = ["ActionItem", "Alert", "AlertEvent", "ApiKey", "Base", "Database", "OutboxEvent", "Response",
           "ResponseEvent", "ResponseTheme", "migrate"]
