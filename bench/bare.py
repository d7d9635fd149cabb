"""The bare route: the same framework (FastAPI) and server (uvicorn) as promojobs, no database, no auth.

It answers ``GET /jobs`` and ``GET /codes`` with static JSON of the same shape and size as promojobs'
answers (captured from the running service into the files named by ``BENCH_BARE_JOBS`` and
``BENCH_BARE_CODES``), serialised with orjson on every request, as promojobs does; and ``GET /healthz``
like promojobs'.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.responses import Response


def _load(variable: str) -> Any:
    path = os.environ.get(variable)
    return orjson.loads(Path(path).read_bytes()) if path else {"data": []}


JOBS = _load("BENCH_BARE_JOBS")
CODES = _load("BENCH_BARE_CODES")

app = FastAPI()


@app.get("/jobs")
async def jobs() -> Response:
    return Response(orjson.dumps(JOBS), media_type="application/json")


@app.get("/healthz")
async def healthz() -> Response:
    return Response(orjson.dumps({"status": "ok"}), media_type="application/json")


@app.get("/codes")
async def codes() -> Response:
    return Response(orjson.dumps(CODES), media_type="application/json")
