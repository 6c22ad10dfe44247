"""Service settings (pydantic-settings, prefix ``NPS_``), validated once at start-up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SEGMENTS: tuple[str, ...] = ("team", "department", "channel", "touchpoint", "country")
"""Segment fields a response may carry (and NPS can be split by)."""

SCOPES: tuple[str, ...] = ("classify", "ingest", "read", "triage", "admin")
"""API key scopes; ``admin`` implies all others."""


class ServiceSettings(BaseSettings):
    """Settings of the service. Every field reads ``NPS_<FIELD>`` from the environment.

    Attributes:
        database_url: SQLAlchemy URL; SQLite file by default, ``postgresql+psycopg://user@host/db`` in production.
        model: model directory to serve (empty: the registry's active model, else the shipped default).
        registry_dir: the model registry polled for promotions.
        model_poll_s: how often the registry is polled for a newly promoted model (0 = never).
        require_auth: require an API key (``Authorization: Bearer <key>`` or ``X-API-Key``) on ``/v1``.
        max_batch: most answers in one classify request.
        max_bulk: most responses in one bulk ingest request.
        max_text_chars: longest answer text accepted.
        max_body_bytes: largest request body accepted (413 above), checked before and while it is read.
        microbatch_max_size: most answers in the micro-batches that run at once (each of the
            ``microbatch_workers`` batches holds at most this / workers).
        microbatch_wait_ms: how long the micro-batcher waits for more requests once one arrived (default 0:
            requests that queue while a batch runs form the next batch anyway; waiting only adds latency).
        microbatch_workers: how many micro-batches run at once. 1 (default) suits the torch encoder, which
            spreads one batch over every core, and the int8 graph, which runs a batch's answers one per core; with
            the float32 ``onnx`` graph, the number of cores together with ``NPS_ENCODER_THREADS=1`` can do more
            work per second (see docs/service.md, "Latency").
        alert_due_hours: default due time of an alert (detractor follow-up target).
        webhook_urls: receivers of ``alert.created``, ``alert.updated``, ``alert.overdue`` and ``promoter.thank_you``.
        webhook_secret: HMAC-SHA256 key for the ``X-NPS-Signature`` header (required with webhooks).
        webhook_timeout_s, webhook_max_attempts, webhook_backoff_s, outbox_poll_s: outbox delivery tuning.
        thank_promoters: queue ``promoter.thank_you`` events for answers scored 9-10 that say something, in the
            answer's language (never in history mode, never for answers older than ``history_alert_age_days``).
        quarantine_survey_days, quarantine_complaint_days, quarantine_max_per_year: the default contact rule (no
            survey within N days of the last one, within M days of a complaint, more than K a year); rules set
            through ``PUT /v1/surveys/rules`` (per channel too) override it.
        quarantine_answer_window_days: an answer belongs to the survey sent to its customer at most this long before.
        history_alert_age_days: in history mode, an urgent answer older than this gets no open alert.
        history_old_alerts: ``closed`` (the alert is created resolved, with an "imported as history" event) or
            ``skip`` (no alert) for such answers.
        retag_batch_size: answers per batch of a re-tagging job (each batch its own transaction).
        log_level: ``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``.
        smtp_host: the SMTP server report digests are e-mailed through (empty: no e-mail, no digest schedule).
        smtp_port: its port (587 for STARTTLS, 465 with ``smtp_ssl``, 25 for a plain relay).
        smtp_user, smtp_password: log in with these (both empty: no login).
        smtp_starttls: upgrade the connection with STARTTLS (the default); ``smtp_ssl``: TLS from the first byte
            (then STARTTLS is not used).
        smtp_from: the From address of digests; smtp_timeout_s: connection and command time-out.
        report_timezone: time zone the digests' days, weeks and months are cut in.
        report_hour: local hour at which a period's digest is sent, the day after the period ends (weekly on
            Mondays, monthly on the 1st).
        report_retry_s, report_max_attempts: a digest that failed to send is tried again after this long, at most
            this many times.
        routing_rules_file: a YAML file of routing rules (``rules: [...]``), loaded at start-up; it replaces
            the rules loaded from a file before, rules made through ``/v1/routing/rules`` stay.
        escalation_poll_s: how often alerts past their due time are looked for (``alert.overdue`` and escalation
            to the team lead); 0 turns the periodic check off (``POST /v1/routing/escalate`` still runs it).
        session_secret: key that signs the workspace's session cookies (empty: a random key generated once and
            kept in the database, shared by every worker).
        session_max_age_s: how long a workspace sign-in lasts.
        workspace_timezone: time zone of dates and periods for users who chose none.
        workspace_warmup: after the start, count the workspace views people open first in the background
            (:mod:`api.web.warmup`), so their first view does not wait for it.
    """

    model_config = SettingsConfigDict(env_prefix="NPS_", extra="ignore")

    database_url: str = "sqlite:///./nps-nlp.db"
    model: Path | None = None
    registry_dir: Path = Path("registry")
    model_poll_s: float = Field(default=10.0, ge=0)
    require_auth: bool = True
    max_batch: int = Field(default=256, ge=1, le=10_000)
    max_bulk: int = Field(default=5000, ge=1, le=100_000)
    max_text_chars: int = Field(default=5000, ge=1, le=1_000_000)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, le=1024**3)
    microbatch_max_size: int = Field(default=64, ge=1, le=4096)
    microbatch_wait_ms: float = Field(default=0.0, ge=0, le=1000)
    microbatch_workers: int = Field(default=1, ge=1, le=64)
    alert_due_hours: float = Field(default=48.0, gt=0)
    # NoDecode: the raw string reaches _split_urls, which takes both forms (pydantic-settings would only take JSON)
    webhook_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_secret: str | None = None
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_backoff_s: float = Field(default=2.0, gt=0)
    outbox_poll_s: float = Field(default=1.0, gt=0)
    thank_promoters: bool = True
    quarantine_survey_days: int = Field(default=90, ge=0, le=3660)
    quarantine_complaint_days: int = Field(default=30, ge=0, le=3660)
    quarantine_max_per_year: int = Field(default=4, ge=1, le=1000)
    quarantine_answer_window_days: int = Field(default=30, ge=0, le=365)
    history_alert_age_days: float = Field(default=7.0, ge=0)
    history_old_alerts: Literal["closed", "skip"] = "closed"
    retag_batch_size: int = Field(default=200, ge=1, le=5000)
    log_level: str = "INFO"
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    smtp_from: str = "nps-nlp@localhost"
    smtp_timeout_s: float = Field(default=30.0, gt=0)
    report_timezone: str = "UTC"
    report_hour: int = Field(default=7, ge=0, le=23)
    report_retry_s: float = Field(default=600.0, ge=0)
    report_max_attempts: int = Field(default=5, ge=1, le=100)
    routing_rules_file: Path | None = None
    escalation_poll_s: float = Field(default=60.0, ge=0)
    session_secret: str | None = Field(default=None, min_length=32)
    session_max_age_s: int = Field(default=12 * 3600, ge=60, le=90 * 24 * 3600)
    workspace_timezone: str = "Europe/Amsterdam"
    workspace_warmup: bool = True

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError(f"NPS_DATABASE_URL must be a sqlite:/// or postgresql+psycopg:// URL, got {value.split(':')[0]}://...")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://"):]
        return value

    @field_validator("webhook_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):  # NPS_WEBHOOK_URLS=https://a,https://b or a JSON list
            value = value.strip()
            if value.startswith("["):
                try:
                    return json.loads(value)
                except ValueError:
                    raise ValueError("NPS_WEBHOOK_URLS is not a JSON list; write https://a,https://b "
                                     "or [\"https://a\", \"https://b\"]") from None
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("webhook_urls")
    @classmethod
    def _check_webhooks(cls, value: list[str]) -> list[str]:
        bad = [u for u in value if not u.startswith(("http://", "https://"))]
        if bad:  # the scheme only: a URL may hold a token
            schemes = ", ".join(repr(u.split(":")[0][:20]) for u in bad)
            raise ValueError(f"webhook URLs must start with http:// or https://, got {schemes}:...")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError(f"NPS_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {value!r}")
        return value.upper()

    @field_validator("report_timezone")
    @classmethod
    def _check_report_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"NPS_REPORT_TIMEZONE must be an IANA time zone such as Europe/Oslo, got {value[:60]!r}") from None
        return value

    @model_validator(mode="after")
    def _smtp_tls(self) -> ServiceSettings:
        if (self.smtp_user is None) != (self.smtp_password is None):
            raise ValueError("set both NPS_SMTP_USER and NPS_SMTP_PASSWORD to log in to the SMTP server, or neither")
        return self

    @model_validator(mode="after")
    def _secret_with_webhooks(self) -> ServiceSettings:
        if self.webhook_urls and not self.webhook_secret:
            raise ValueError("NPS_WEBHOOK_URLS is set but NPS_WEBHOOK_SECRET is not: receivers need the secret to "
                             "verify the X-NPS-Signature header; set NPS_WEBHOOK_SECRET to a long random string")
        return self


def load_settings(**overrides: object) -> ServiceSettings:
    """Read and validate the settings; a bad value raises :class:`ConfigError` naming the variable.

    Raises:
        ConfigError: a setting is invalid (the message lists every problem with its ``NPS_`` variable).
    """
    from pydantic import ValidationError

    from nps_nlp._settings import settings_error

    try:
        return ServiceSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise settings_error(exc, "invalid service settings") from None
