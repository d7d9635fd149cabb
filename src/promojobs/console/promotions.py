"""The promotions page: every promotion of the store with its code count, and the form that creates one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args
from urllib.parse import quote

from fastapi import Request
from starlette.responses import Response

from promojobs.api.schemas import PromotionType
from promojobs.console.api import ApiRefusal
from promojobs.console.web import (
    FormError,
    Refused,
    SessionApi,
    posted_form,
    redirect,
    render,
    router,
    session_api,
)

PROMOTION_TYPES = get_args(PromotionType)


@dataclass(frozen=True)
class PromotionKind:
    """A kind of promotion the console lists. Rule promotions (/v2/rule-promotions) become a second one."""

    name: str
    label: str
    path: str


PROMOTION_KINDS = (PromotionKind("standard", "Standard", "/v2/promotions"),)


@router.get("/promotions")
async def promotions_page(request: Request) -> Response:
    async with session_api(request) as api:
        return await _promotions(request, api)


async def _promotions(request: Request, api: SessionApi, refused: Refused | None = None) -> Response:
    rows: list[dict[str, Any]] = []
    for kind in PROMOTION_KINDS:
        listed = await api.call("GET", kind.path, params={"page[limit]": 100})
        for promotion in listed["data"]:
            codes = await api.call("GET", f"{kind.path}/{promotion['id']}/codes", params={"page[limit]": 1})
            rows.append({"kind": kind, "promotion": promotion, "codes": codes["meta"]["results"]["total"]})
    form = refused.form if refused else None
    return render(
        request,
        "promotions.html",
        refused.status if refused else 200,
        rows=rows,
        error=refused.message if refused else None,
        form=form or {"currency": "USD", "promotion_type": "fixed_discount"},
        promotion_types=PROMOTION_TYPES,
    )


@router.post("/promotions")
async def create_promotion(request: Request) -> Response:
    form = await posted_form(request)
    async with session_api(request) as api:
        try:
            fields = _promotion_fields(form)
            created = await api.call("POST", "/v2/promotions", json={"data": fields})
        except (ApiRefusal, FormError) as problem:
            return await _promotions(request, api, Refused.of(problem, form))
    return redirect(f"/console/promotions/{quote(created['data']['id'])}?notice=created")


def _promotion_fields(form: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": "promotion",
        "name": form.get("name", "").strip(),
        "description": form.get("description", ""),
        "promotion_type": form.get("promotion_type", "fixed_discount"),
        "enabled": form.get("enabled") == "on",
        "automatic": form.get("automatic") == "on",
    }
    amount = form.get("amount", "").strip()
    if not amount.isascii() or not amount.isdigit():
        raise FormError("Amount must be a whole number of minor units (1000 is 10.00).")
    fields["schema"] = {
        "currencies": [{"currency": form.get("currency", "USD").strip(), "amount": int(amount)}]
    }
    for name in ("start", "end"):
        if form.get(name, "").strip():
            fields[name] = form[name].strip()
    return fields
