"""/v2/promotions and /v2/promotions/:promotionID."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from promojobs.api import render
from promojobs.api.deps import ContainerDep, PrincipalDep, json_response, list_response, page_of, single_query
from promojobs.api.schemas import (
    PromotionCreateRequest,
    PromotionListResponse,
    PromotionResponse,
    PromotionUpdateRequest,
)

router = APIRouter(prefix="/v2/promotions", tags=["promotions"])


@router.post("", status_code=201, response_model=PromotionResponse)
def create_promotion(body: PromotionCreateRequest, caller: PrincipalDep, container: ContainerDep) -> Response:
    fields = body.data.model_dump(exclude_unset=True, by_alias=True)
    promotion = container.promotions.create(caller.store_id, fields)
    return json_response({"data": render.promotion(promotion)}, 201)


@router.get("", response_model=PromotionListResponse)
async def list_promotions(request: Request, caller: PrincipalDep, container: ContainerDep) -> Response:
    page = page_of(request)
    raw_filter = single_query(request, "filter")
    records, total = container.promotions.list(caller.store_id, page, raw_filter)
    return list_response(request, container, [render.promotion(r) for r in records], page, total, raw_filter)


@router.get("/{promotion_id}", response_model=PromotionResponse)
async def get_promotion(promotion_id: str, caller: PrincipalDep, container: ContainerDep) -> Response:
    return json_response({"data": render.promotion(container.promotions.get(caller.store_id, promotion_id))})


@router.put("/{promotion_id}", response_model=PromotionResponse)
def update_promotion(
    promotion_id: str, body: PromotionUpdateRequest, caller: PrincipalDep, container: ContainerDep
) -> Response:
    fields = body.data.model_dump(exclude_unset=True, by_alias=True)
    promotion = container.promotions.update(caller.store_id, promotion_id, fields)
    return json_response({"data": render.promotion(promotion)})


@router.delete("/{promotion_id}", status_code=204, response_class=Response)
def delete_promotion(promotion_id: str, caller: PrincipalDep, container: ContainerDep) -> Response:
    container.promotions.delete(caller.store_id, promotion_id)
    return Response(status_code=204)
