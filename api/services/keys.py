"""API keys: random secrets shown once, stored as SHA-256 hashes with scopes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import ApiKey
from api.settings import SCOPES
from nps_nlp.errors import ConfigError

KEY_PREFIX = "nps_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(session: Session, name: str, scopes: Iterable[str]) -> tuple[str, ApiKey]:
    """Create a key; returns ``(plaintext key, row)``. The plaintext is not stored anywhere.

    Raises:
        ConfigError: an unknown scope or an empty name.
    """
    scopes = sorted({s.strip() for s in scopes if s.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ConfigError(f"scopes must be among {', '.join(SCOPES)}; got {unknown or 'none'}")
    if not name.strip():
        raise ConfigError("a key needs a name (who or what uses it)")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name.strip()[:100], prefix=key[:12], key_hash=hash_key(key), scopes=",".join(scopes))
    session.add(row)
    session.flush()
    return key, row


def find_key(session: Session, key: str) -> ApiKey | None:
    """The active (not revoked) key row for a plaintext key."""
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        return None
    return row


def revoke_key(session: Session, key_id: int) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise ConfigError(f"no API key with id {key_id}; list them with `nps-nlp keys list`")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
    return row


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
