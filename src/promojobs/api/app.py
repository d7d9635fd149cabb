"""The ASGI application: routes, the error table, the middleware, and (by default) an embedded worker."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI

from promojobs.api import errors, metrics, schemas
from promojobs.api.access_log import AccessLog
from promojobs.api.cached_reads import CachedReads
from promojobs.api.middleware import BodyLimit
from promojobs.api.routes import codes, downloads, health, jobs, promotions, tokens
from promojobs.bootstrap import Container, serve_metrics_port
from promojobs.console import routes as console
from promojobs.domain.errors import Unavailable
from promojobs.store.changes import psycopg_conninfo
from promojobs.worker.runner import Worker
from promojobs.worker.wakeup import PostgresListener

log = logging.getLogger("promojobs")


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="promojobs",
        version="0.1.0",
        summary="Elastic Path Promotions API with bulk promotion-code jobs, self-hosted.",
        lifespan=_lifespan,
    )
    app.state.container = container
    errors.install(app)
    for module in (tokens, promotions, codes, jobs, downloads, health, metrics):
        app.include_router(module.router)
    console.install(app)
    app.add_middleware(BodyLimit, max_bytes=container.settings.max_body_bytes)
    app.add_middleware(CachedReads, access=container.access, cache=container.read_cache)
    app.add_middleware(AccessLog)
    app.add_middleware(metrics.RequestMetrics)
    _install_openapi(app, container)
    return app


def _install_openapi(app: FastAPI, container: Container) -> None:
    """Serve FastAPI's document completed by ``schemas.complete_openapi`` (errors, parameters, links)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generated = FastAPI.openapi(app)  # caches itself in app.openapi_schema: replace it
            app.openapi_schema = None
            app.openapi_schema = schemas.complete_openapi(
                generated, codes_per_job=container.settings.codes_per_job_limit
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    container: Container = app.state.container
    stop = threading.Event()
    threads: list[threading.Thread] = []
    # The routes and their database calls run in this pool; one pooled connection per thread.
    to_thread.current_default_thread_limiter().total_tokens = container.settings.request_threads
    with contextlib.suppress(Unavailable):  # the heartbeat thread records it once the database is back
        await to_thread.run_sync(container.registry.beat)
    container.registry.start()
    stop_metrics = serve_metrics_port(container)
    if container.settings.embedded_worker:
        worker = Worker(container.database, container.worker_settings(), container.wakeup)
        threads.append(
            threading.Thread(target=worker.run, args=(stop,), name="promojobs-worker", daemon=True)
        )
        if container.database.is_postgres:
            PostgresListener(psycopg_conninfo(container.database.url), container.wakeup, stop).start()
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        container.wakeup.set()
        for thread in threads:
            thread.join(timeout=60)
        await to_thread.run_sync(container.registry.stop)
        stop_metrics()
        container.database.dispose()
