"""/v2/rule-promotions: the promotions, their codes and their jobs (the same job engine as standard)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from starlette.responses import Response

from promojobs.api import render_rule
from promojobs.api.deps import (
    ContainerDep,
    PrincipalDep,
    cached_list,
    cached_read,
    json_response,
    single_query,
)
from promojobs.api.responses import FileResponseBody
from promojobs.api.routes.jobs import JobSubmission, submit_job
from promojobs.api.rule_responses import (
    RuleCodeListResponse,
    RuleCodesCreatedResponse,
    RuleJobListResponse,
    RuleJobResponse,
    RulePromotionListResponse,
    RulePromotionResponse,
)
from promojobs.api.rule_schemas import (
    RuleCodesAddRequest,
    RuleJobCreateRequest,
    RulePromotionCreateRequest,
    RulePromotionUpdateRequest,
)
from promojobs.api.schemas import CodesDeleteRequest
from promojobs.api.urls import public_root
from promojobs.domain.errors import ValidationFailed
from promojobs.domain.pagination import PageRequest
from promojobs.services.rule_promotions import NewRuleCode, ShopperLimit

# Plain functions run in the thread pool, as the standard routes (api/routes/jobs.py); reads go through
# the read cache (deps.cached_read, deps.cached_list).
router = APIRouter(prefix="/v2/rule-promotions", tags=["rule promotions"])
_PROMOTION = "/{promotion_id}"
_JOB = _PROMOTION + "/jobs/{job_id}"


@router.post("", status_code=201, response_model=RulePromotionResponse)
def create_rule_promotion(
    body: RulePromotionCreateRequest, caller: PrincipalDep, container: ContainerDep
) -> Response:
    fields = body.data.model_dump(exclude_unset=True)
    promotion = container.rule_promotions.create(caller.store_id, fields)
    return json_response({"data": render_rule.rule_promotion(promotion)}, 201)


@router.get("", response_model=RulePromotionListResponse)
def list_rule_promotions(request: Request, caller: PrincipalDep, container: ContainerDep) -> Response:
    def fetch(page: PageRequest, raw_filter: str | None) -> tuple[Sequence[Any], int]:
        return container.rule_promotions.list(caller.store_id, page, raw_filter)

    # Newest first by (created_at, id), as standard promotions: pages past offset 10,000 by a cursor.
    return cached_list(
        request,
        caller,
        container,
        fetch,
        render_rule.rule_promotion,
        key=lambda record: (record.created_at, record.pk),
    )


@router.get(_PROMOTION, response_model=RulePromotionResponse)
def get_rule_promotion(
    promotion_id: str, request: Request, caller: PrincipalDep, container: ContainerDep
) -> Response:
    def body() -> dict[str, Any]:
        promotion = container.rule_promotions.get(caller.store_id, promotion_id)
        return {"data": render_rule.rule_promotion(promotion)}

    return cached_read(request, caller, container, body)


@router.put(_PROMOTION, response_model=RulePromotionResponse)
def update_rule_promotion(
    promotion_id: str, body: RulePromotionUpdateRequest, caller: PrincipalDep, container: ContainerDep
) -> Response:
    fields = body.data.model_dump(exclude_unset=True)
    promotion = container.rule_promotions.update(caller.store_id, promotion_id, fields)
    return json_response({"data": render_rule.rule_promotion(promotion)})


@router.delete(_PROMOTION, status_code=204, response_class=Response)
def delete_rule_promotion(promotion_id: str, caller: PrincipalDep, container: ContainerDep) -> Response:
    container.rule_promotions.delete(caller.store_id, promotion_id)
    return Response(status_code=204)


# ---- codes ----


@router.post(_PROMOTION + "/codes", status_code=201, response_model=RuleCodesCreatedResponse)
def add_rule_codes(
    promotion_id: str, body: RuleCodesAddRequest, caller: PrincipalDep, container: ContainerDep
) -> Response:
    new_codes = [
        NewRuleCode(
            c.code,
            c.uses,
            c.user,
            c.consume_unit,
            None
            if c.max_uses_per_shopper is None
            else ShopperLimit(c.max_uses_per_shopper.max_uses, c.max_uses_per_shopper.includes_guests),
            c.is_for_new_shopper,
        )
        for c in body.data.codes
    ]
    created = container.rule_codes.add(caller.store_id, promotion_id, new_codes)
    return json_response(render_rule.created_codes(container.code_ids, created), 201)


SORTED_CURSOR_ERROR = (
    "page[cursor] is not valid with sort: a cursor comes only from the links of the codes in creation "
    "order; a list sorted by code pages by page[offset]"
)


@router.get(_PROMOTION + "/codes", response_model=RuleCodeListResponse)
def list_rule_codes(
    promotion_id: str, request: Request, caller: PrincipalDep, container: ContainerDep
) -> Response:
    sort = single_query(request, "sort")

    def fetch(page: PageRequest, raw_filter: str | None) -> tuple[Sequence[Any], int]:
        return container.rule_codes.list(caller.store_id, promotion_id, page, raw_filter, sort)

    # Codes seek by id in creation order (ix_codes_promotion): a rule promotion holds millions. The code
    # order has no index (it would slow every rule code insert by 15-48 %): it pages by page[offset] only,
    # its links are null past 10,000, and a cursor (only ever from a creation-order link) is refused.
    if sort is not None and single_query(request, "page[cursor]") is not None:
        raise ValidationFailed(SORTED_CURSOR_ERROR, source="page[cursor]", title="Bad Request")
    return cached_list(
        request,
        caller,
        container,
        fetch,
        lambda row: render_rule.rule_code(container.code_ids, row),
        key=_by_id if sort is None else None,
        options=[] if sort is None else [("sort", sort)],
    )


def _by_id(row: Any) -> tuple[int, ...]:
    return (int(row.id),)


@router.delete(_PROMOTION + "/codes", status_code=204, response_class=Response)
def delete_rule_codes(
    promotion_id: str, body: CodesDeleteRequest, caller: PrincipalDep, container: ContainerDep
) -> Response:
    container.rule_codes.delete_many(caller.store_id, promotion_id, [c.code for c in body.data.codes])
    return Response(status_code=204)


@router.delete(_PROMOTION + "/codes/{code_id}", status_code=204, response_class=Response)
def delete_rule_code(
    promotion_id: str, code_id: str, caller: PrincipalDep, container: ContainerDep
) -> Response:
    container.rule_codes.delete_one(caller.store_id, promotion_id, code_id)
    return Response(status_code=204)


# ---- jobs ----


@router.post(_PROMOTION + "/jobs", status_code=201, response_model=RuleJobResponse)
def create_rule_job(
    promotion_id: str,
    body: RuleJobCreateRequest,
    caller: PrincipalDep,
    container: ContainerDep,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    data = body.data
    request = JobSubmission(data.job_type, data.name, data.parameters, idempotency_key)
    return submit_job(container.rule_jobs, caller, promotion_id, request, render_rule.rule_job)


@router.get(_PROMOTION + "/jobs", response_model=RuleJobListResponse)
def list_rule_jobs(
    promotion_id: str, request: Request, caller: PrincipalDep, container: ContainerDep
) -> Response:
    def fetch(page: PageRequest, raw_filter: str | None) -> tuple[Sequence[Any], int]:
        return container.rule_jobs.list(caller.store_id, promotion_id, page, raw_filter)

    return cached_list(request, caller, container, fetch, render_rule.rule_job)


@router.get(_JOB, response_model=RuleJobResponse)
def get_rule_job(
    promotion_id: str, job_id: str, request: Request, caller: PrincipalDep, container: ContainerDep
) -> Response:
    def body() -> dict[str, Any]:
        return {"data": render_rule.rule_job(container.rule_jobs.get(caller.store_id, promotion_id, job_id))}

    return cached_read(request, caller, container, body)


@router.post(_JOB + "/cancel", response_model=RuleJobResponse)
def cancel_rule_job(
    promotion_id: str, job_id: str, caller: PrincipalDep, container: ContainerDep
) -> Response:
    job = container.rule_jobs.cancel(caller.store_id, caller.client_id, promotion_id, job_id)
    return json_response({"data": render_rule.rule_job(job)})


@router.get(_JOB + "/file", response_model=FileResponseBody)
def get_rule_export_file(
    promotion_id: str, job_id: str, request: Request, caller: PrincipalDep, container: ContainerDep
) -> Response:
    job = container.rule_jobs.downloadable(caller.store_id, promotion_id, job_id)
    root = public_root(request, container.settings.public_url)
    href = f"{root}/downloads/{job.uuid}.csv?{container.links.query(job.uuid)}"
    return json_response({"href": href})
