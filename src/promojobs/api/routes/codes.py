"""/v2/promotions/:promotionID/codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from promojobs.api import render
from promojobs.api.deps import (
    ContainerDep,
    PrincipalDep,
    cached_list,
    json_response,
)
from promojobs.api.responses import CodeListResponse, PromotionResponse
from promojobs.api.schemas import CodesAddRequest, CodesDeleteRequest
from promojobs.domain.pagination import PageRequest
from promojobs.services.codes import NewCode

router = APIRouter(prefix="/v2/promotions/{promotion_id}/codes", tags=["promotion codes"])


@router.post("", status_code=201, response_model=PromotionResponse)
def add_codes(
    promotion_id: str, body: CodesAddRequest, caller: PrincipalDep, container: ContainerDep
) -> Response:
    new_codes = [NewCode(c.code, c.uses, c.user, c.consume_unit) for c in body.data.codes]
    promotion = container.codes.add(caller.store_id, promotion_id, new_codes)
    return json_response({"data": render.promotion(promotion)}, 201)


@router.get("", response_model=CodeListResponse)
def list_codes(
    promotion_id: str, request: Request, caller: PrincipalDep, container: ContainerDep
) -> Response:
    def fetch(page: PageRequest, raw_filter: str | None) -> tuple[Sequence[Any], int]:
        return container.codes.list(caller.store_id, promotion_id, page, raw_filter)

    # Codes seek by their id on the (promotion_id, id) index: a promotion holds millions.
    return cached_list(request, caller, container, fetch, render.code, key=lambda row: (int(row.id),))


@router.delete("", status_code=204, response_class=Response)
def delete_codes(
    promotion_id: str, body: CodesDeleteRequest, caller: PrincipalDep, container: ContainerDep
) -> Response:
    container.codes.delete_many(caller.store_id, promotion_id, [c.code for c in body.data.codes])
    return Response(status_code=204)


@router.delete("/{code}", status_code=204, response_class=Response)
def delete_code(promotion_id: str, code: str, caller: PrincipalDep, container: ContainerDep) -> Response:
    container.codes.delete_one(caller.store_id, promotion_id, code)
    return Response(status_code=204)
