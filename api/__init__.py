"""The nps-nlp service: a FastAPI app (``api.main:app``) over the library's :class:`~nps_nlp.FeedbackPipeline`.

Layout: ``settings`` (``ServiceSettings``), ``main`` (app factory and lifespan), ``deps`` (``Annotated``
dependencies), ``errors`` (error -> HTTP mapping), ``db/`` (SQLAlchemy models, engine, migrations runner),
``migrations/`` (Alembic), ``schemas/`` (request/response models), ``routers/`` (one per resource),
``services/`` (micro-batcher, model manager, ingest, queries, outbox worker).
"""
