"""The ASGI application: routes, the error table, the body limit, and (by default) an embedded worker."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from promojobs.api import docs, errors, schemas
from promojobs.api.access_log import AccessLog
from promojobs.api.cached_reads import CachedReads
from promojobs.api.routes import codes, downloads, health, jobs, promotions, tokens
from promojobs.bootstrap import Container
from promojobs.console import routes as console
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
        docs_url=None,  # api/docs.py serves both pages with bundled assets
        redoc_url=None,
    )
    app.state.container = container
    errors.install(app)
    for module in (tokens, promotions, codes, jobs, downloads, health):
        app.include_router(module.router)
    console.install(app)
    app.add_middleware(BodyLimit, max_bytes=container.settings.max_body_bytes)
    app.add_middleware(CachedReads, container=container)
    app.add_middleware(AccessLog)
    _install_openapi(app, container)
    docs.install(app)
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
    container.database.changes.watch()
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
        container.database.dispose()


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, whether announced by Content-Length or streamed.

    The body is read in full (up to the limit) before the application sees any of it: a streamed body
    that turns out too large must not reach a route as a shorter, still valid, JSON document, be
    written, and then be answered 413.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        message = await receive()
        if message["type"] == "http.request" and message.get("more_body", False):
            chunks: list[bytes] = []
            size = 0
            while True:
                if message["type"] != "http.request":
                    return  # the client went away mid-body: nobody to answer
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > self.max_bytes:
                    await _too_large(self.max_bytes)(scope, receive, send)
                    return
                if not message.get("more_body", False):
                    break
                message = await receive()
            message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        elif len(message.get("body", b"")) > self.max_bytes:  # one message, as for almost every request
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        body_message = message
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: disconnect notices
            replayed = True
            return body_message

        await self.app(scope, replay, send)


def _too_large(max_bytes: int) -> ASGIApp:
    return errors.error_response(
        413, "Payload Too Large", f"The request body must be at most {max_bytes} bytes"
    )
