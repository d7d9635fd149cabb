"""/healthz (the process answers) and /readyz (the database answers too, within a short timeout).

/healthz runs on the event loop and touches nothing else, so it answers while every request thread waits
for the database. /readyz asks the database in a thread of its own and gives up after
``READY_TIMEOUT_SECONDS``: a load balancer should take the process out, not wait with it.
"""

from __future__ import annotations

import anyio
from anyio import to_thread
from fastapi import APIRouter, Request
from starlette.responses import Response

from promojobs.api.deps import ContainerDep, json_response
from promojobs.domain.errors import Unavailable

router = APIRouter(tags=["health"])
READY_TIMEOUT_SECONDS = 2.0
READY_THREADS = 2  # its own threads: a /readyz never queues behind requests waiting for the database


@router.get("/healthz")
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request, container: ContainerDep) -> Response:
    state = request.app.state
    if getattr(state, "ready_threads", None) is None:
        state.ready_threads = anyio.CapacityLimiter(READY_THREADS)
    with anyio.move_on_after(READY_TIMEOUT_SECONDS) as scope:
        await to_thread.run_sync(container.database.ping, limiter=state.ready_threads, abandon_on_cancel=True)
    if scope.cancelled_caught:
        raise Unavailable(f"The database did not answer within {READY_TIMEOUT_SECONDS:g} s.")
    return json_response({"status": "ready"})
