"""Run one chunk of a ``code_generate`` job.

Each batch is one transaction: insert the codes (skipping any that collide with the store's existing
codes), count them on the task and on the job, renew the lease. A crash loses at most the batch in flight,
which rolls back; whoever resumes the chunk continues from the committed ``done``. So the chunk ends with
exactly ``target`` new codes, none lost and none twice. Each batch holds the store's hand-added-codes
lock shared (``store.rule_codes.lock_hand_added_codes``), so no code added by hand to a rule promotion of
the store commits while the batch runs and a generated code never equals one.
"""

from __future__ import annotations

from promojobs.domain.codes import generate_codes
from promojobs.domain.job_specs import GenerateSpec
from promojobs.metrics import BATCH_SECONDS, CODES_GENERATED
from promojobs.store import tasks as task_store
from promojobs.store.codes import CodeOwner, CodeValues, insert_codes
from promojobs.store.database import now_us
from promojobs.store.rule_codes import hand_added_codes_of_length, lock_hand_added_codes
from promojobs.worker.context import TaskContext, release

# Consecutive batches that add nothing mean the code space for this prefix and length is used up.
MAX_EMPTY_BATCHES = 20


class CodeSpaceExhausted(Exception):
    def __str__(self) -> str:
        return "no unused codes of this prefix and length are left; use a longer code_length"


def run(context: TaskContext) -> None:
    task, job = context.task, context.job
    spec = job.generate_spec()
    done = task.done
    empty_batches = 0
    while done < task.target:
        if context.stop.is_set():
            release(context)
            return
        wanted = min(context.settings.batch_size, task.target - done)
        added = _insert_batch(context, wanted, spec, done + wanted >= task.target)
        done += added
        empty_batches = 0 if added else empty_batches + 1
        if empty_batches >= MAX_EMPTY_BATCHES:
            raise CodeSpaceExhausted()
    if task.done >= task.target:
        _finish_empty(context)


def _insert_batch(context: TaskContext, wanted: int, spec: GenerateSpec, last: bool) -> int:
    task, job = context.task, context.job
    uses = spec.max_uses_per_code
    codes = generate_codes(wanted, spec.code_length, spec.code_prefix)
    with BATCH_SECONDS.labels("generate").time(), context.database.write() as conn:
        # Hand-added rule codes are unique only in their promotion, so outside the index that makes the
        # insert skip collisions: leave them out here (usually none; their index holds nothing else). The
        # shared lock keeps a hand-add from committing between this read and the insert (PostgreSQL).
        if codes:
            lock_hand_added_codes(conn, task.store_id, exclusive=False)
        taken = hand_added_codes_of_length(conn, task.store_id, len(codes[0])) if codes else set()
        if taken:
            codes = [code for code in codes if code.upper() not in taken]
        rows: list[CodeValues] = [(code, uses, uses, spec.consume_unit, None) for code in codes]
        added = insert_codes(conn, CodeOwner(task.store_id, job.promotion_pk, job.pk, now_us()), rows)
        task_store.record_progress(conn, task, added, context.settings.lease_us)
        task_store.add_generated(conn, job.pk, added)
        if last and added == wanted:
            task_store.finish_task(conn, task)
            task_store.complete_job_if_done(conn, job.pk)
    CODES_GENERATED.inc(added)
    return added


def _finish_empty(context: TaskContext) -> None:
    """A chunk resumed after its last batch committed but before it was marked done (or of size 0)."""
    with context.database.write() as conn:
        task_store.finish_task(conn, context.task)
        task_store.require_processing(conn, context.job.pk)
        task_store.complete_job_if_done(conn, context.job.pk)
