"""Records → Elastic Path wire objects (plain dicts, serialised with orjson)."""

from __future__ import annotations

from typing import Any

from promojobs.domain.jobs import JobStatus, JobType
from promojobs.domain.timefmt import to_rfc3339
from promojobs.store.jobs import JobRecord
from promojobs.store.promotions import PromotionRecord

# An export has written rows once it runs; a pending, failed or cancelled one has no file to count.
EXPORT_RESULT_STATUSES = frozenset({JobStatus.PROCESSING, JobStatus.COMPLETED})


def promotion(record: PromotionRecord) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "promotion",
        "id": record.uuid,
        "name": record.name,
        "description": record.description,
        "enabled": record.enabled,
        "automatic": record.automatic,
        "promotion_type": record.promotion_type,
        "schema": record.schema,
        "start": None if record.start_at is None else to_rfc3339(record.start_at, with_fraction=False),
        "end": None if record.end_at is None else to_rfc3339(record.end_at, with_fraction=False),
    }
    for name in ("min_cart_value", "max_discount_value", "max_applications_per_cart"):
        value = getattr(record, name)
        if value is not None:
            body[name] = value
    body["meta"] = _timestamps(record.created_at, record.updated_at)
    return body


def code(row: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": row.code}
    if row.uses is not None:
        body["uses"] = row.uses
    if row.max_uses is not None:
        body["max_uses"] = row.max_uses
    body["consume_unit"] = row.consume_unit
    if row.user is not None:
        body["user"] = row.user
    body["meta"] = {"timestamps": {"created_at": to_rfc3339(row.created_at)}}
    return body


def job(record: JobRecord) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "promotion_job",
        "id": record.uuid,
        "promotion_id": record.promotion_uuid,
        "job_type": record.job_type,
    }
    if record.name is not None:
        body["name"] = record.name
    parameters = record.parameters.echo()
    if parameters is not None:
        body["parameters"] = parameters
    body["status"] = record.status
    if record.job_type == JobType.CODE_GENERATE and (record.generated or record.deleted is not None):
        result: dict[str, int] = {"generated": record.generated}
        if record.deleted is not None:
            result["deleted"] = record.deleted
        body["result"] = result
    if record.job_type == JobType.CODE_EXPORT and record.status in EXPORT_RESULT_STATUSES:
        body["result"] = {"exported": record.generated}  # rows written so far, then in the file
    if record.error is not None:
        body["error"] = record.error
    meta = _timestamps(record.created_at, record.updated_at)
    meta["audit"] = {"created_by": record.created_by, "cancelled_by": record.cancelled_by}
    body["meta"] = meta
    return body


def _timestamps(created_at: int, updated_at: int) -> dict[str, Any]:
    return {"timestamps": {"created_at": to_rfc3339(created_at), "updated_at": to_rfc3339(updated_at)}}
