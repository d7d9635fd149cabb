"""promojobs as an ASGI app factory, so the uvicorn command line serves it exactly as it serves the bare app
(``uvicorn bench.apps:promojobs_app --factory``). Settings come from ``PROMOJOBS_*`` variables."""

from __future__ import annotations

from fastapi import FastAPI

from promojobs import bootstrap
from promojobs.api.app import create_app
from promojobs.config import Settings


def promojobs_app() -> FastAPI:
    return create_app(bootstrap.build(Settings()))
