"""Rule-promotion records → Elastic Path wire objects."""

from __future__ import annotations

import json
from typing import Any

from promojobs.api import render
from promojobs.services.code_ids import CodeIds
from promojobs.services.rule_promotions import CreatedCodes
from promojobs.store.jobs import JobRecord
from promojobs.store.promotions import PromotionRecord


def rule_promotion(record: PromotionRecord) -> dict[str, Any]:
    standard = render.promotion(record)
    body: dict[str, Any] = {
        "type": "rule_promotion",
        "id": record.uuid,
        "name": record.name,
        "description": record.description,
        "enabled": record.enabled,
        "automatic": record.automatic,
        "stackable": record.stackable,
        "override_stacking": record.override_stacking,
        "start": standard["start"],
        "end": standard["end"],
    }
    if record.priority is not None:
        body["priority"] = record.priority
    if record.rule_set is not None:
        body["rule_set"] = record.rule_set
    body["meta"] = standard["meta"]
    return body


def rule_code(ids: CodeIds, row: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "promotion_codes", "id": ids.encode(row.id), **render.code(row)}
    if row.rule_json is not None:
        meta = body.pop("meta")
        body.update(json.loads(row.rule_json))
        body["meta"] = meta
    return body


def created_codes(ids: CodeIds, created: CreatedCodes) -> dict[str, Any]:
    data = []
    for code in created.codes:
        values = code.values
        body: dict[str, Any] = {"type": "promotion_codes", "id": ids.encode(code.pk), "code": values.code}
        if values.uses is not None:
            body["uses"] = values.uses
            body["max_uses"] = values.uses
        body["consume_unit"] = values.consume_unit
        if values.user is not None:
            body["user"] = values.user
        body.update(values.extra or {})
        data.append(body)
    answer: dict[str, Any] = {"data": data}
    if created.duplicated_elsewhere:
        answer["messages"] = [
            {
                "source": {"type": "promotion_codes", "codes": created.duplicated_elsewhere},
                "title": "Duplicate code names",
                "description": "Code names duplicated in other promotions",
            }
        ]
    return answer


def rule_job(record: JobRecord) -> dict[str, Any]:
    body = render.job(record)
    head = {"type": body.pop("type"), "id": body.pop("id"), "rule_promotion_id": body.pop("promotion_id")}
    return {**head, **body}
