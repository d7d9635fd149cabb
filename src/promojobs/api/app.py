"""The ASGI application: routes, the error table, the middleware, and (by default) an embedded worker."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from promojobs.api import docs, errors, metrics, openapi
from promojobs.api.access_log import AccessLog
from promojobs.api.cached_reads import CachedReads
from promojobs.api.middleware import BodyLimit
from promojobs.api.routes import codes, downloads, health, jobs, promotions, rule_promotions, tokens
from promojobs.bootstrap import Container, embedded_worker, serve_metrics_port
from promojobs.console import routes as console
from promojobs.domain.errors import Unavailable

log = logging.getLogger("promojobs")


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="promojobs",
        version="0.1.0",
        summary="Elastic Path Promotions API with bulk promotion-code jobs, self-hosted.",
        lifespan=_lifespan,
        docs_url=None,  # api/docs.py serves both pages with bundled assets
        redoc_url=None,
    )
    app.state.container = container
    errors.install(app)
    for module in (tokens, promotions, codes, jobs, rule_promotions, downloads, health, metrics):
        app.include_router(module.router)
    console.install(app)
    app.add_middleware(BodyLimit, max_bytes=container.settings.max_body_bytes)
    app.add_middleware(
        CachedReads, access=container.access, cache=container.read_cache, versions=container.store_versions
    )
    app.add_middleware(AccessLog)
    app.add_middleware(metrics.RequestMetrics)
    openapi.install(app, container.settings)
    docs.install(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    container: Container = app.state.container
    # The routes and their database calls run in this pool; one pooled connection per thread.
    to_thread.current_default_thread_limiter().total_tokens = container.settings.request_threads
    with contextlib.suppress(Unavailable):  # the heartbeat thread records it once the database is back
        await to_thread.run_sync(container.registry.beat)
    container.registry.start()
    stop_metrics = serve_metrics_port(container)
    thresholds = _settle_the_garbage_collector()
    try:
        await container.store_versions.open()
        with embedded_worker(container):
            yield
    finally:
        await to_thread.run_sync(container.registry.stop)
        await container.store_versions.close()
        stop_metrics()
        container.database.dispose()
        # A process that serves again (the tests do) starts from the collector as it was.
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def _settle_the_garbage_collector() -> tuple[int, ...]:
    """Keep the collector's pauses out of request latency (measured by the benchmark's /healthz p99 under
    load: 80-105 ms before, 9-15 ms after): what start-up made (modules, routes, the container) lives as
    long as the process, so it is moved out of the collector's reach, and the young generation is collected
    every 20,000 new containers instead of 700 (a request makes a few hundred). The older generations keep
    being collected after 20 young collections each, so cyclic garbage still goes within seconds. Returns
    the thresholds it replaced."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    return thresholds
