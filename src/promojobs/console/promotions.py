"""The promotions page: every promotion of the store with its code count, and the form that creates one."""

from __future__ import annotations

from typing import Any, get_args

from fastapi import Request
from starlette.responses import Response

from promojobs.api.schemas import PromotionType
from promojobs.console.api import ApiRefusal
from promojobs.console.kinds import PROMOTION_KINDS, RULE, STANDARD
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


@router.get("/promotions")
async def promotions_page(request: Request) -> Response:
    async with session_api(request) as api:
        return await _promotions(request, api)


async def _promotions(request: Request, api: SessionApi, refused: Refused | None = None) -> Response:
    rows: list[dict[str, Any]] = []
    for kind in PROMOTION_KINDS:
        listed = await api.call("GET", kind.api_root, params={"page[limit]": 100})
        for promotion in listed["data"]:
            codes = await api.call("GET", kind.api_path(promotion["id"], "codes"), params={"page[limit]": 1})
            rows.append({"kind": kind, "promotion": promotion, "codes": codes["meta"]["results"]["total"]})
    form = refused.form if refused else None
    return render(
        request,
        "promotions.html",
        refused.status if refused else 200,
        rows=rows,
        error=refused.message if refused else None,
        form=form or {"currency": "USD", "promotion_type": "fixed_discount", "kind": STANDARD.name},
        promotion_types=PROMOTION_TYPES,
        kinds=PROMOTION_KINDS,
    )


@router.post("/promotions")
async def create_promotion(request: Request) -> Response:
    form = await posted_form(request)
    async with session_api(request) as api:
        try:
            kind = RULE if form.get("kind") == RULE.name else STANDARD
            fields = _rule_promotion_fields(form) if kind is RULE else _promotion_fields(form)
            created = await api.call("POST", kind.api_root, json={"data": fields})
        except (ApiRefusal, FormError) as problem:
            return await _promotions(request, api, Refused.of(problem, form))
    return redirect(f"{kind.page(created['data']['id'])}?notice=created")


def _promotion_fields(form: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": "promotion",
        "name": form.get("name", "").strip(),
        "description": form.get("description", ""),
        "promotion_type": form.get("promotion_type", "fixed_discount"),
        "enabled": form.get("enabled") == "on",
        "automatic": form.get("automatic") == "on",
    }
    currency = form.get("currency", "USD").strip()
    fields["schema"] = {"currencies": [{"currency": currency, "amount": _amount(form)}]}
    return {**fields, **_window(form)}


def _rule_promotion_fields(form: dict[str, str]) -> dict[str, Any]:
    """A rule promotion with the simplest rule set: a fixed amount off the cart in one currency."""
    action = {"strategy": "cart_discount", "args": ["fixed", _amount(form)]}
    fields: dict[str, Any] = {
        "type": "rule_promotion",
        "name": form.get("name", "").strip(),
        "description": form.get("description", ""),
        "enabled": form.get("enabled") == "on",
        "automatic": form.get("automatic") == "on",
        "rule_set": {"currencies": [form.get("currency", "USD").strip()], "actions": [action]},
    }
    return {**fields, **_window(form)}


def _amount(form: dict[str, str]) -> int:
    amount = form.get("amount", "").strip()
    if not amount.isascii() or not amount.isdigit():
        raise FormError("Amount must be a whole number of minor units (1000 is 10.00).")
    return int(amount)


def _window(form: dict[str, str]) -> dict[str, str]:
    """Start and end as given; the API says what is missing (a rule promotion needs both)."""
    return {name: form[name].strip() for name in ("start", "end") if form.get(name, "").strip()}
