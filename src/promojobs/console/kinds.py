"""The kinds of promotion the console shows: standard (/v2/promotions) and rule (/v2/rule-promotions).
Each kind has its own console address, so a rule promotion's page never collides with a standard one's,
and its own consume units; the pages, forms and job engine are otherwise the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request

from promojobs.console.web import router
from promojobs.domain.job_specs import STANDARD_CONSUME_UNITS, ConsumeUnits
from promojobs.services.rule_promotions import RULE_CONSUME_UNITS

Handler = TypeVar("Handler", bound=Callable[..., Any])


@dataclass(frozen=True)
class PromotionKind:
    name: str
    label: str
    api_root: str  # e.g. /v2/promotions
    console_root: str  # e.g. /console/promotions
    consume_units: ConsumeUnits

    def api_path(self, promotion_id: str, *rest: str) -> str:
        """The API path of a promotion of this kind (and of something under it), each part quoted."""
        return "/".join([self.api_root, *(quote(part, safe="") for part in (promotion_id, *rest))])

    def page(self, promotion_id: str) -> str:
        return f"{self.console_root}/{quote(promotion_id, safe='')}"


STANDARD = PromotionKind(
    "standard", "Standard", "/v2/promotions", "/console/promotions", STANDARD_CONSUME_UNITS
)
RULE = PromotionKind("rule", "Rule", "/v2/rule-promotions", "/console/rule-promotions", RULE_CONSUME_UNITS)
PROMOTION_KINDS = (STANDARD, RULE)
# The router paths (under /console) of each kind's promotion pages; every page route is added once per kind.
KIND_ROOTS = ("/promotions", "/rule-promotions")


def kind_of(request: Request) -> PromotionKind:
    """The kind whose console address this request came to."""
    path = request.url.path
    return RULE if path.startswith(RULE.console_root + "/") else STANDARD


def kind_route(method: str, path: str) -> Callable[[Handler], Handler]:
    """Adds a promotion page route once per kind: /promotions{path} and /rule-promotions{path}."""

    def register(handler: Handler) -> Handler:
        for root in KIND_ROOTS:
            router.add_api_route(root + path, handler, methods=[method])
        return handler

    return register
