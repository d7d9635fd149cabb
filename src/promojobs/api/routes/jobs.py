"""/v2/promotions/:promotionID/jobs: submit, list, get, cancel, and the export file link."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from starlette.responses import Response

from promojobs.api import render
from promojobs.api.deps import (
    ContainerDep,
    PrincipalDep,
    cached_list,
    cached_read,
    json_response,
)
from promojobs.api.responses import FileResponseBody, JobListResponse, JobResponse
from promojobs.api.schemas import JobCreateRequest
from promojobs.api.urls import public_root
from promojobs.domain.errors import ValidationFailed
from promojobs.domain.pagination import PageRequest
from promojobs.services.auth import Principal
from promojobs.services.jobs import JobService
from promojobs.store.jobs import JobRecord

# Every route is a plain function, run in the thread pool: nothing that waits for the database runs on the
# event loop. Reads go through the read cache (deps.cached_read): a repeated poll costs one round trip.
router = APIRouter(prefix="/v2/promotions/{promotion_id}/jobs", tags=["promotion jobs"])
MAX_IDEMPOTENCY_KEY_CHARS = 255


@router.post("", status_code=201, response_model=JobResponse)
def create_job(
    promotion_id: str,
    body: JobCreateRequest,
    caller: PrincipalDep,
    container: ContainerDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    data = body.data
    request = JobSubmission(data.job_type, data.name, data.parameters, idempotency_key)
    return submit_job(container.jobs, caller, promotion_id, request, render.job)


@dataclass(frozen=True)
class JobSubmission:
    job_type: str
    name: str | None
    parameters: dict[str, Any] | None
    idempotency_key: str | None


def submit_job(
    jobs: JobService,
    caller: Principal,
    promotion_id: str,
    submission: JobSubmission,
    render_job: Callable[[JobRecord], dict[str, Any]],
) -> Response:
    """Submit a job (standard or rule promotion) and answer 201, marking an idempotent replay."""
    key = submission.idempotency_key
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY_CHARS:
        raise ValidationFailed("Idempotency-Key must be 1 to 255 characters", source="Idempotency-Key")
    job_type, name, parameters = submission.job_type, submission.name, submission.parameters
    request = jobs.parse_request(promotion_id, job_type, name, parameters, key)
    job, created = jobs.submit(caller.store_id, caller.client_id, promotion_id, request)
    response = json_response({"data": render_job(job)}, 201)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@router.get("", response_model=JobListResponse)
def list_jobs(promotion_id: str, request: Request, caller: PrincipalDep, container: ContainerDep) -> Response:
    def fetch(page: PageRequest, raw_filter: str | None) -> tuple[Sequence[Any], int]:
        return container.jobs.list(caller.store_id, promotion_id, page, raw_filter)

    return cached_list(request, caller, container, fetch, render.job)


@router.get("/{job_id}", response_model=JobResponse)
def get_job(
    promotion_id: str, job_id: str, request: Request, caller: PrincipalDep, container: ContainerDep
) -> Response:
    return cached_read(
        request,
        caller,
        container,
        lambda: {"data": render.job(container.jobs.get(caller.store_id, promotion_id, job_id))},
    )


@router.post("/{job_id}/cancel", response_model=JobResponse)
def cancel_job(promotion_id: str, job_id: str, caller: PrincipalDep, container: ContainerDep) -> Response:
    job = container.jobs.cancel(caller.store_id, caller.client_id, promotion_id, job_id)
    return json_response({"data": render.job(job)})


@router.get("/{job_id}/file", response_model=FileResponseBody)
def get_export_file(
    promotion_id: str, job_id: str, request: Request, caller: PrincipalDep, container: ContainerDep
) -> Response:
    job = container.jobs.downloadable(caller.store_id, promotion_id, job_id)
    root = public_root(request, container.settings.public_url)
    href = f"{root}/downloads/{job.uuid}.csv?{container.links.query(job.uuid)}"
    return json_response({"href": href})
