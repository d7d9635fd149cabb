"""/healthz (the process answers) and /readyz (the database answers too)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from promojobs.api.deps import ContainerDep, json_response

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get("/readyz")
def readyz(container: ContainerDep) -> Response:
    container.database.ping()
    return json_response({"status": "ready"})
