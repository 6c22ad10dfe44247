"""Prometheus metrics (one registry per app) and structured JSON logs that never carry answer text."""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("nps_nlp.api")

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        data.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Send ``nps_nlp.api`` logs as JSON lines to stderr (idempotent)."""
    logger = logging.getLogger("nps_nlp.api")
    logger.setLevel(level)
    if not any(getattr(h, "_nps_json", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._nps_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.propagate = True


class Metrics:
    """The service's Prometheus metrics in their own registry (several apps can live in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("nps_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=r)
        self.latency = Histogram("nps_http_request_duration_seconds", "HTTP request latency", ["route"], registry=r,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.answers = Counter("nps_answers_analyzed_total", "answers run through the pipeline", registry=r)
        self.batch_size = Histogram("nps_microbatch_size", "answers per encoder batch", registry=r,
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
        self.batch_seconds = Histogram("nps_microbatch_duration_seconds", "time of one pipeline batch", registry=r)
        self.ingested = Counter("nps_responses_ingested_total", "ingested responses by outcome", ["status"], registry=r)
        self.alerts = Counter("nps_alerts_created_total", "alerts created", registry=r)
        self.webhooks = Counter("nps_webhook_attempts_total", "webhook delivery attempts", ["event_type", "outcome"],
                                registry=r)
        self.model_info = Gauge("nps_model_loaded", "1 for the served model", ["model_id"], registry=r)
        self.reloads = Counter("nps_model_reloads_total", "model loads after start-up", registry=r)

    def on_batch(self, n: int, seconds: float) -> None:
        self.answers.inc(n)
        self.batch_size.observe(n)
        self.batch_seconds.observe(seconds)

    def on_webhook(self, event_type: str, ok: bool) -> None:
        self.webhooks.labels(event_type, "ok" if ok else "failed").inc()

    def set_model(self, model_id: str) -> None:
        self.model_info.clear()
        self.model_info.labels(model_id).set(1)


class RequestObserver:
    """ASGI middleware: request id (``X-Request-ID``, taken from the request or made up), the latency metric and
    one structured log line per request (method, route, status, time, caller; never the body).

    Plain ASGI rather than ``@app.middleware("http")``: that one runs every request through an extra task and
    body stream, which showed in the single-answer latency on 2 cores."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex[:16]
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            path = getattr(scope.get("route"), "path", "unmatched")
            state = getattr(scope["app"].state, "nps", None)
            if state is not None:
                state.metrics.requests.labels(scope["method"], path, str(status)).inc()
                state.metrics.latency.labels(path).observe(elapsed)
            if path not in ("/healthz", "/readyz", "/metrics"):
                log.info("request", extra={"request_id": request_id, "method": scope["method"], "route": path,
                                           "status": status, "duration_ms": round(elapsed * 1000, 2),
                                           "caller": scope.get("state", {}).get("caller")})
