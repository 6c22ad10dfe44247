"""The app: ``api.main:app`` (``nps-nlp serve`` runs it). Nothing heavy happens at import.

The lifespan validates the settings, upgrades the database with Alembic, loads the model once (through
:class:`~nps_nlp.pipeline.FeedbackPipeline`), then starts the micro-batcher, the outbox worker and the
registry watcher; once the service is ready it starts the workspace's warm-up in the background
(:mod:`api.web.warmup`). On shutdown it stops them in reverse order.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import func, select

from api import errors
from api import web as workspace
from api.db.models import ApiKey
from api.db.session import Database, migrate
from api.deps import AppState
from api.guards import RequestGuard
from api.observability import Metrics, RequestObserver, configure_logging
from api.routers import accounts as accounts_routes
from api.routers import alerts, classify, dashboard, insights, responses, system, teams, webhooks
from api.routers import exports as exports_routes
from api.routers import reports as reports_routes
from api.routers import retag as retag_routes
from api.routers import routing as routing_routes
from api.routers import surveys as survey_routes
from api.services.batcher import MicroBatcher
from api.services.escalation import EscalationWorker
from api.services.heap import freeze_heap
from api.services.models import LoadedModel, ModelManager, Pipeline
from api.services.outbox import OutboxWorker
from api.services.retag import RetagRunner
from api.services.routing import load_file as load_routing_file
from api.services.scheduler import DigestScheduler
from api.settings import ServiceSettings, load_settings
from api.web.warmup import warm_in_background
from nps_nlp import allocator

log = logging.getLogger("nps_nlp.api")

DESCRIPTION = """Themes, per-theme sentiment, urgency and routing for NPS answers in Dutch, Norwegian and English.

Authenticate with `Authorization: Bearer <api key>` or `X-API-Key: <api key>` (create keys with `nps-nlp keys create`). Scopes:
`classify`, `ingest`, `read` (figures, feeds, alerts), `triage` (follow-up: alert status, assigning and updating
action items), `admin` (all, plus model reload and webhook deliveries). Errors are
`{"detail": ..., "problems": [...]}`: 4xx for anything wrong with a request (unknown fields included), 409 for a
re-sent `external_id` with other content, 503 with `Retry-After` while the database is unavailable.
People sign in to the team workspace at `/app` (`/dashboard` redirects there); these docs work offline."""


class _Background:
    """The service's background work, started after the model loads and stopped in reverse order: overdue-alert
    escalation, webhook delivery, the registry watcher, e-mailed digests, re-tagging jobs and the workspace's
    warm-up (:mod:`api.web.warmup`)."""

    def __init__(self) -> None:
        self.escalator: EscalationWorker | None = None
        self.outbox: OutboxWorker | None = None
        self.watch: asyncio.Task[None] | None = None
        self.digests: DigestScheduler | None = None
        self.warmup: asyncio.Task[None] | None = None
        self.stop_warmup = threading.Event()

    async def start(self, app: FastAPI, state: AppState) -> None:
        conf, db, manager, metrics = state.settings, state.db, state.models, state.metrics
        if conf.escalation_poll_s > 0:
            self.escalator = EscalationWorker(db, conf)
            self.escalator.start()
        if conf.webhook_urls:
            self.outbox = OutboxWorker(db, conf, metrics.on_webhook)
            self.outbox.start()
        if conf.model_poll_s > 0 and conf.model is None and manager.current.source != "injected":
            def reloaded(loaded: LoadedModel) -> None:
                metrics.reloads.inc()
                metrics.set_model(loaded.model_id)

            self.watch = asyncio.create_task(manager.watch(conf.model_poll_s, reloaded), name="nps-model-watch")
        # e-mailed report digests, on the schedule in NPS_REPORT_HOUR / NPS_REPORT_TIMEZONE, when SMTP is set
        if conf.smtp_host:
            self.digests = DigestScheduler(db, conf, lambda: manager.current.pipeline.taxonomy)
            self.digests.start()
        app.state.digests = self.digests
        app.state.retag = RetagRunner(state)
        await app.state.retag.resume()  # re-tagging jobs left running by an earlier process

    def start_warmup(self, app: FastAPI, state: AppState) -> None:
        """Warm the workspace in a thread; the service is ready meanwhile."""
        app.state.workspace_warmup = None
        if state.settings.workspace_warmup:
            self.warmup = asyncio.create_task(asyncio.to_thread(warm_in_background, app, self.stop_warmup),
                                              name="nps-workspace-warmup")

    async def stop(self, app: FastAPI) -> None:
        if self.warmup is not None:
            self.stop_warmup.set()
            await self.warmup  # it stops after the view it is counting
        if self.watch is not None:
            self.watch.cancel()
        await app.state.retag.stop()
        if self.escalator is not None:
            await self.escalator.stop()
        await app.state.nps.batcher.stop()
        if self.outbox is not None:
            await self.outbox.stop()
        if self.digests is not None:
            await self.digests.stop()


_ROUTERS = (classify, responses, insights, alerts, teams, webhooks, system, dashboard, exports_routes, reports_routes,
            accounts_routes, routing_routes, survey_routes, retag_routes)


def create_app(settings: ServiceSettings | None = None, pipeline: Pipeline | None = None,
               models: ModelManager | None = None) -> FastAPI:
    """Build the app.

    Args:
        settings: the settings (default: read from ``NPS_*`` at start-up).
        pipeline: serve this pipeline instead of loading a model (tests, embedding).
        models: a ready model manager (tests of reloading).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        conf = settings or load_settings()
        configure_logging(conf.log_level)
        allocator.tune()  # a long-lived process: keep its memory level (see nps_nlp.allocator)
        # a request's few answers are tokenized faster on one thread: the fast tokenizer's thread pool costs more
        # to wake than the work. Set the variable to override.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        db = Database(conf.database_url)
        await asyncio.to_thread(migrate, db)
        if conf.routing_rules_file is not None:  # a bad file stops the start-up with the problems listed
            await asyncio.to_thread(load_routing_file, db, conf.routing_rules_file)
        manager = models or (ModelManager.injected(pipeline, registry_dir=conf.registry_dir) if pipeline is not None
                             else ModelManager(conf.model, conf.registry_dir))
        if not manager.ready:
            await asyncio.to_thread(manager.load)
        metrics = Metrics()
        metrics.set_model(manager.current.model_id)
        batcher = MicroBatcher(lambda: manager.current, conf.microbatch_max_size, conf.microbatch_wait_ms, metrics.on_batch,
                               workers=conf.microbatch_workers)
        state = AppState(conf, db, manager, batcher, metrics)
        batcher.start()
        app.state.nps = state
        background = _Background()
        await background.start(app, state)
        if conf.require_auth and not await asyncio.to_thread(_count_keys, db):
            log.warning("authentication is on but there are no API keys: create one with "
                        "`nps-nlp keys create --name NAME --scope admin` (same NPS_DATABASE_URL)")
        log.info("service ready", extra={"model_id": manager.current.model_id, "database": db.engine.url.render_as_string(),
                                         "webhooks": len(conf.webhook_urls), "auth": conf.require_auth})
        # what start-up built stays: keep it out of the collector's scans (the model was frozen when it loaded)
        await asyncio.to_thread(freeze_heap, thaw=False)
        background.start_warmup(app, state)
        try:
            yield
        finally:
            await background.stop(app)
            db.dispose()
            app.state.nps = None

    # FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from files shipped in the package, not a CDN
    app: FastAPI = FastAPIOffline(title="nps-nlp", version=_version(), description=DESCRIPTION, lifespan=lifespan)
    errors.install(app)
    for module in _ROUTERS:
        app.include_router(module.router)
    workspace.install(app)  # the team workspace at /app (pages, actions, static files)
    app.add_middleware(RequestGuard)
    app.add_middleware(RequestObserver)  # outermost: it also logs the guard's answers
    return app


def _version() -> str:
    from nps_nlp import __version__

    return __version__


def _count_keys(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.revoked_at.is_(None))) or 0


app = create_app()
