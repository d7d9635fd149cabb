"""The ASGI application: routes, the error table, the body limit, and (by default) an embedded worker."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from promojobs.api import errors
from promojobs.api.routes import codes, downloads, health, jobs, promotions, tokens
from promojobs.bootstrap import Container
from promojobs.worker.runner import Worker
from promojobs.worker.wakeup import PostgresListener, psycopg_conninfo

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
    for module in (tokens, promotions, codes, jobs, downloads, health):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, max_bytes=container.settings.max_body_bytes)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    container: Container = app.state.container
    stop = threading.Event()
    threads: list[threading.Thread] = []
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
    """Refuse request bodies over ``max_bytes`` with 413, whether announced by Content-Length or streamed."""

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
        state = {"received": 0, "too_large": False}

        async def limited_receive() -> Message:
            message = await receive()
            state["received"] += len(message.get("body", b""))
            if state["received"] > self.max_bytes:
                # End the body here; the app's answer is replaced by a 413 below.
                state["too_large"] = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message: Message) -> None:
            if not state["too_large"]:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)
        if state["too_large"]:
            await _too_large(self.max_bytes)(scope, receive, send)


def _too_large(max_bytes: int) -> ASGIApp:
    return errors.error_response(
        413, "Payload Too Large", f"The request body must be at most {max_bytes} bytes"
    )
