"""Records → Elastic Path wire objects (plain dicts, serialised with orjson).

The shapes are the response models' (``api.responses``): each body's keys, their order, the constant
``type`` and which fields are left out when empty come from the model, read once at import into a
builder per model that takes each value from the record's attribute of the same name. Building a dict
per record stays as cheap as writing it out by hand: no pydantic on this path.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from promojobs.api.responses import (
    CodeOut,
    JobAudit,
    JobMeta,
    JobOut,
    JobResult,
    Meta,
    OmittedWhenNone,
    PromotionOut,
    Timestamps,
)
from promojobs.domain.jobs import JobStatus, JobType
from promojobs.domain.timefmt import to_rfc3339
from promojobs.store.jobs import JobRecord
from promojobs.store.promotions import PromotionRecord

# An export has written rows once it runs; a pending, failed or cancelled one has no file to count.
EXPORT_RESULT_STATUSES = frozenset({JobStatus.PROCESSING, JobStatus.COMPLETED})


def _builder(
    model: type[BaseModel], *, computed: tuple[str, ...] = (), renamed: dict[str, str] | None = None
) -> Callable[..., dict[str, Any]]:
    """``build(source, **computed)``: the model's body in its order, its constant ``type`` filled in, each
    other field read from the attribute of ``source`` of the same name (or the one ``renamed`` gives) or,
    for the ``computed`` fields, passed in; an ``Omitted`` field that is None is left out.

    Generated from the model's fields, as ``dataclasses`` generates ``__init__``: the same code as written
    out by hand, and as fast (a generic loop over the fields costs three times as much per record)."""
    lines = ["    body = {}"]
    for name, field in model.model_fields.items():
        key = field.alias or name
        arguments = typing.get_args(field.annotation)
        if typing.get_origin(field.annotation) is Literal and len(arguments) == 1:
            lines.append(f"    body[{key!r}] = {arguments[0]!r}")
            continue
        value = key if key in computed else f"source.{(renamed or {}).get(key, key)}"
        if any(isinstance(marker, OmittedWhenNone) for marker in field.metadata):
            lines.append(f"    if (value := {value}) is not None:\n        body[{key!r}] = value")
        else:
            lines.append(f"    body[{key!r}] = {value}")
    keywords = f", *, {', '.join(computed)}" if computed else ""
    source = "\n".join([f"def build(source{keywords}):", *lines, "    return body"])
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<{model.__name__} body>", "exec"), namespace)  # noqa: S102 (our own field names)
    built: Callable[..., dict[str, Any]] = namespace["build"]
    return built


_PROMOTION = _builder(PromotionOut, computed=("start", "end", "meta"), renamed={"id": "uuid"})
_CODE = _builder(CodeOut, computed=("meta",))
_JOB = _builder(
    JobOut,
    computed=("parameters", "result", "meta"),
    renamed={"id": "uuid", "promotion_id": "promotion_uuid"},
)
_JOB_RESULT = _builder(JobResult, computed=("generated", "deleted", "exported"))
_JOB_AUDIT = _builder(JobAudit)
_META = _builder(Meta, computed=("timestamps",))
_JOB_META = _builder(JobMeta, computed=("timestamps", "audit"))
_TIMESTAMPS = _builder(Timestamps, computed=("created_at", "updated_at"))


def promotion(record: PromotionRecord) -> dict[str, Any]:
    return _PROMOTION(
        record,
        start=None if record.start_at is None else to_rfc3339(record.start_at, with_fraction=False),
        end=None if record.end_at is None else to_rfc3339(record.end_at, with_fraction=False),
        meta=_META(None, timestamps=_timestamps(record.created_at, record.updated_at)),
    )


def code(row: Any) -> dict[str, Any]:
    return _CODE(row, meta=_META(None, timestamps=_timestamps(row.created_at, None)))


def job(record: JobRecord) -> dict[str, Any]:
    return _JOB(
        record,
        parameters=record.parameters.echo(),
        result=_job_result(record),
        meta=_JOB_META(
            None, timestamps=_timestamps(record.created_at, record.updated_at), audit=_JOB_AUDIT(record)
        ),
    )


def _job_result(record: JobRecord) -> dict[str, Any] | None:
    if record.job_type == JobType.CODE_GENERATE and (record.generated or record.deleted is not None):
        return _JOB_RESULT(None, generated=record.generated, deleted=record.deleted, exported=None)
    if record.job_type == JobType.CODE_EXPORT and record.status in EXPORT_RESULT_STATUSES:
        # rows written so far, then in the file
        return _JOB_RESULT(None, generated=None, deleted=None, exported=record.generated)
    return None


def _timestamps(created_at: int, updated_at: int | None) -> dict[str, Any]:
    return _TIMESTAMPS(
        None,
        created_at=to_rfc3339(created_at),
        updated_at=None if updated_at is None else to_rfc3339(updated_at),
    )
