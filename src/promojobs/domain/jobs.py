"""Job vocabulary: types, statuses and which transitions exist. Enum values are the wire strings."""

from __future__ import annotations

from enum import StrEnum


class JobType(StrEnum):
    CODE_GENERATE = "code_generate"
    CODE_EXPORT = "code_export"


class JobStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"


class ConsumeUnit(StrEnum):
    PER_CART = "per_cart"
    PER_ITEM = "per_item"


class TaskKind(StrEnum):
    GENERATE = "generate"
    EXPORT = "export"
    CANCEL = "cancel"


class TaskStatus(StrEnum):
    READY = "ready"
    RUNNING = "running"
    DONE = "done"


CANCELLABLE_STATUSES = frozenset({JobStatus.PENDING, JobStatus.PROCESSING})

# The docs' own filter example says eq(status,complete); the status is "completed" everywhere else.
STATUS_ALIASES = {"complete": JobStatus.COMPLETED.value}

CODES_LIMIT_EXCEEDED = "codes limit exceeded"
