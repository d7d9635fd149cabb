"""/v2/promotions and /v2/promotions/:promotionID."""

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
    cached_read,
    json_response,
)
from promojobs.api.responses import PromotionListResponse, PromotionResponse
from promojobs.api.schemas import PromotionCreateRequest, PromotionUpdateRequest
from promojobs.domain.pagination import PageRequest

router = APIRouter(prefix="/v2/promotions", tags=["promotions"])


@router.post("", status_code=201, response_model=PromotionResponse)
def create_promotion(body: PromotionCreateRequest, caller: PrincipalDep, container: ContainerDep) -> Response:
    fields = body.data.model_dump(exclude_unset=True, by_alias=True)
    promotion = container.promotions.create(caller.store_id, fields)
    return json_response({"data": render.promotion(promotion)}, 201)


@router.get("", response_model=PromotionListResponse)
def list_promotions(request: Request, caller: PrincipalDep, container: ContainerDep) -> Response:
    def fetch(page: PageRequest, raw_filter: str | None) -> tuple[Sequence[Any], int]:
        return container.promotions.list(caller.store_id, page, raw_filter)

    # Newest first by (created_at, id): a store may hold more than 10,000 promotions.
    return cached_list(
        request, caller, container, fetch, render.promotion, key=lambda record: (record.created_at, record.pk)
    )


@router.get("/{promotion_id}", response_model=PromotionResponse)
def get_promotion(
    promotion_id: str, request: Request, caller: PrincipalDep, container: ContainerDep
) -> Response:
    return cached_read(
        request,
        caller,
        container,
        lambda: {"data": render.promotion(container.promotions.get(caller.store_id, promotion_id))},
    )


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
