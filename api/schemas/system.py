"""Models, health, keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ActiveModelOut(BaseModel):
    id: str
    source: str
    path: str | None
    loaded_at: datetime
    labels: list[str] | None = None
    card: str | None = None
    metrics: dict[str, Any] | None = None


class HealthOut(BaseModel):
    status: str
    checks: dict[str, str] = {}
