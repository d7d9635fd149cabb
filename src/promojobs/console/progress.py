"""A job's live progress: what the bar shows, and the server-sent events that move it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from promojobs.console.api import ApiRefusal
from promojobs.console.kinds import kind_of, kind_route
from promojobs.console.web import (
    SECURITY_HEADERS,
    SessionApi,
    SessionEnded,
    session_api,
)
from promojobs.domain.progress import RateMeter, format_duration, format_rate, job_lifetime_seconds

ACTIVE = ("pending", "processing", "cancelling")
FINAL = ("completed", "failed", "cancelled")
EVENT_POLL_SECONDS = 0.25  # the server looks at the job this often; the browser is told of each change
KEEPALIVE_SECONDS = 15.0


def progress(job: dict[str, Any], meter: RateMeter) -> dict[str, Any]:
    """What the bar shows, for the first render and for every server-sent event."""
    parameters = job.get("parameters") or {}
    total = int(parameters["number_of_codes"]) if job["job_type"] == "code_generate" else None
    generated = int((job.get("result") or {}).get("generated", 0))
    finished = job["status"] in FINAL
    estimate = meter.observe(time.monotonic(), generated, total, finished, job_lifetime_seconds(job))
    if total:
        counts = f"{generated:,} of {total:,} codes ({estimate.percent} %)"
    else:
        counts = "export " + ("ready" if job["status"] == "completed" else job["status"])
    deleted = (job.get("result") or {}).get("deleted")
    return {
        "id": job["id"],
        "job_type": job["job_type"],
        "status": job["status"],
        "final": finished,
        "value": generated if total else int(job["status"] == "completed"),
        "max": total or 1,
        "percent": estimate.percent if total else (100 if job["status"] == "completed" else 0),
        "counts": counts,
        "rate": format_rate(estimate.codes_per_second) if total and not finished else "",
        "eta": f"about {format_duration(estimate.seconds_left)} left" if total and not finished else "",
        "error": job.get("error") or ("" if deleted is None else f"{deleted:,} generated codes deleted"),
        "cancellable": job["status"] in ("pending", "processing"),
        "downloadable": job["job_type"] == "code_export" and job["status"] == "completed",
    }


@kind_route("GET", "/{promotion_id}/jobs/{job_id}/events")
async def job_events(promotion_id: str, job_id: str, request: Request) -> Response:
    api = session_api(request)
    headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
    events = _events(api, kind_of(request).api_path(promotion_id, "jobs", job_id))
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


async def _events(api: SessionApi, path: str) -> AsyncIterator[str]:
    meter = RateMeter()
    last: dict[str, Any] | None = None
    quiet_since = time.monotonic()
    yield "retry: 2000\n\n"
    async with api:
        while True:
            try:
                job = (await api.call("GET", path))["data"]
            except SessionEnded:
                yield _event("ended", {"message": "Your session has ended. Sign in again."})
                return
            except ApiRefusal as refusal:
                yield _event("failure", {"message": str(refusal)})
                return
            shown = progress(job, meter)
            if shown != last:
                yield _event("progress", shown)
                last, quiet_since = shown, time.monotonic()
            elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                yield ": still here\n\n"
                quiet_since = time.monotonic()
            if shown["final"]:
                return
            await asyncio.sleep(EVENT_POLL_SECONDS)


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"
