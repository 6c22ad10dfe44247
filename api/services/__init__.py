"""Service logic behind the routers: model manager, micro-batcher, ingest, queries, outbox worker, API keys."""
