"""Typed SQLAlchemy 2 models. Every timestamp is stored as UTC (naive in the database, aware in Python)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database (the same on SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    pass


class Response(Base):
    """A survey response with its segments and the stored analysis."""

    __tablename__ = "responses"
    # the survey-quarantine check reads a customer's answers from this index alone
    __table_args__ = (Index("ix_responses_customer_contacts", "customer_id", "timestamp", "score", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    score: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    customer_id: Mapped[str | None] = mapped_column(String(200), index=True)
    account_id: Mapped[str | None] = mapped_column(String(200), index=True)  # else via customers
    team: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str | None] = mapped_column(String(100))
    touchpoint: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(100))
    sentiment: Mapped[str] = mapped_column(String(10))
    sentiment_score: Mapped[float] = mapped_column(Float)
    urgency_level: Mapped[str] = mapped_column(String(10))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    analysis: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    quarantine_breach: Mapped[str | None] = mapped_column(String(300))  # why the survey broke a contact rule

    themes: Mapped[list[ResponseTheme]] = relationship(back_populates="response", cascade="all, delete-orphan",
                                                       lazy="selectin")


class ResponseEvent(Base):
    """Audit trail of a response: each correction with who made it, the fields that changed and their old values."""

    __tablename__ = "response_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # corrected
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"fields": [...], "old": {...}, "model_id": ...}


class ResponseTheme(Base):
    """One theme of a response, for querying by theme and team."""

    __tablename__ = "response_themes"
    # a team's theme rows (of a kind) up to an answer id are counted from this index alone, and an answer's row
    # for a team is found in it (migration 0006_workspace_filters)
    __table_args__ = (Index("ix_response_themes_team_answer", "team", "response_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), index=True)
    theme: Mapped[str] = mapped_column(String(100), index=True)
    sentiment: Mapped[str] = mapped_column(String(10))
    confidence: Mapped[float] = mapped_column(Float)
    team: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))  # problem | praise | mention

    response: Mapped[Response] = relationship(back_populates="themes")


class Alert(Base):
    """An urgent answer that needs follow-up."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), unique=True)
    level: Mapped[str] = mapped_column(String(10), index=True)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    team: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(12), default="new", index=True)
    owner: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rule_id: Mapped[int | None] = mapped_column(Integer)  # the routing rule that gave team and owner
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when alert.overdue was queued
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    response: Mapped[Response] = relationship(lazy="joined")
    events: Mapped[list[AlertEvent]] = relationship(back_populates="alert", cascade="all, delete-orphan",
                                                    order_by="AlertEvent.id", lazy="selectin")


class AlertEvent(Base):
    """History of an alert: creation, status and owner changes, notes."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # created | status | owner | due | note
    old: Mapped[str | None] = mapped_column(String(200))
    new: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)

    alert: Mapped[Alert] = relationship(back_populates="events")


class ActionItem(Base):
    """An action point (theme) assigned to an owner with a deadline and progress."""

    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    theme: Mapped[str] = mapped_column(String(100), index=True)
    team: Mapped[str | None] = mapped_column(String(100), index=True)
    title: Mapped[str | None] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open | in_progress | done
    progress: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """An API key: only its SHA-256 hash is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(100))  # comma-separated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def scope_set(self) -> set[str]:
        return {s for s in self.scopes.split(",") if s}


class OutboxEvent(Base):
    """A webhook delivery waiting to be sent (one row per event and receiver).

    The row id is the event id and the ``Idempotency-Key`` header: retries resend the same id.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    target_url: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class User(Base):
    """A person who signs in to the workspace (``/app``): a role, a password hash (argon2) and preferences.

    ``session_epoch`` goes up when the password changes or the user is disabled, which ends every session
    signed for an older epoch."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))  # admin | analyst | team_lead | agent
    lang: Mapped[str | None] = mapped_column(String(8))  # en | nl | nb; None: from the browser
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Amsterdam")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    memberships: Mapped[list[UserTeam]] = relationship(back_populates="user", cascade="all, delete-orphan",
                                                       lazy="selectin", order_by="UserTeam.team")

    @property
    def teams(self) -> list[str]:
        return [m.team for m in self.memberships]


class UserTeam(Base):
    """A user's membership of a team (a team the taxonomy routes themes to, or a response's team segment)."""

    __tablename__ = "user_teams"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    team: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)

    user: Mapped[User] = relationship(back_populates="memberships")


class AppSecret(Base):
    """A generated secret the service keeps across restarts (e.g. the session-cookie signing key)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# the workspace counts NPS bands per hour over a period from this index alone (migration 0003_workspace)
Index("ix_responses_timestamp_score", Response.timestamp, Response.score)
# and over a period within one segment value from these (migration 0006_workspace_filters)
Index("ix_responses_team_timestamp", Response.team, Response.timestamp, Response.score)
Index("ix_responses_department_timestamp", Response.department, Response.timestamp, Response.score)
Index("ix_responses_channel_timestamp", Response.channel, Response.timestamp, Response.score)
Index("ix_responses_touchpoint_timestamp", Response.touchpoint, Response.timestamp, Response.score)
Index("ix_responses_country_timestamp", Response.country, Response.timestamp, Response.score)
Index("ix_responses_lang_timestamp", Response.lang, Response.timestamp, Response.score)
# the workspace reads a theme's quotes in rank order (negative first, then the most confident) from the first rows
# of this index (migration 0005_workspace_rank)
Index("ix_response_themes_rank", ResponseTheme.theme, ResponseTheme.sentiment, ResponseTheme.confidence.desc(),
      ResponseTheme.response_id)


class ContactRule(Base):
    """A survey-quarantine rule: for one channel, or for every channel (``channel`` is ``*``)."""

    __tablename__ = "contact_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100), unique=True)
    survey_days: Mapped[int] = mapped_column(Integer)
    complaint_days: Mapped[int] = mapped_column(Integer)
    max_per_year: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(200))


class SurveySent(Base):
    """A survey sent to a customer (the contact log the quarantine rules read)."""

    __tablename__ = "surveys_sent"
    __table_args__ = (Index("ix_surveys_sent_customer_at", "customer_id", "sent_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    survey_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RetagJob(Base):
    """A background re-tagging of stored answers with one model; ``cursor`` is the last response id done."""

    __tablename__ = "retag_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), index=True)  # running | done | failed | superseded | cancelled
    only_other_models: Mapped[bool] = mapped_column(Boolean, default=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    alerts_opened: Mapped[int] = mapped_column(Integer, default=0)
    alerts_cleared: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Account(Base):
    """A customer account with the attributes revenue figures need (revenue in ``currency`` per year)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str | None] = mapped_column(String(300))
    revenue: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    segment: Mapped[str | None] = mapped_column(String(100), index=True)
    owner: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerAccount(Base):
    """Which account a customer (a response's ``customer_id``) belongs to."""

    __tablename__ = "customer_accounts"

    customer_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(200), index=True)


class RoutingRule(Base):
    """Maps an alert's themes and segments to a team, a default owner and the team's lead (lowest priority first)."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    priority: Mapped[int] = mapped_column(Integer, index=True)
    match: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"theme": ..., "level": ..., "team": ..., "channel": ...}
    team: Mapped[str | None] = mapped_column(String(100))
    team_from: Mapped[str | None] = mapped_column(String(20))  # a segment whose value names the team
    owner: Mapped[str | None] = mapped_column(String(200))
    lead: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(10), default="api")  # api | file
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportSubscription(Base):
    """Who gets which digest: an e-mail address, a period (day, week, month), a team (``None``: the company) and the
    language it is written in."""

    __tablename__ = "report_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    period: Mapped[str] = mapped_column(String(8))  # day | week | month
    team: Mapped[str | None] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(8), default="en")  # en | nl | nb: the digest's language
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))


class DigestSent(Base):
    """A digest e-mailed (or being sent, or failed) to one address for one period. The unique key makes a digest
    go out at most once per address, across restarts and workers; ``team_key`` is the team or ``""`` (company)."""

    __tablename__ = "digests_sent"
    __table_args__ = (Index("ux_digests_sent_once", "email", "period", "team_key", "period_start", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("report_subscriptions.id", ondelete="SET NULL"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    period: Mapped[str] = mapped_column(String(8))
    team_key: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))  # sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
