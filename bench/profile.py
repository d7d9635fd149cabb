"""``python -m bench --profile``: py-spy on the worker during a code_generate and a code_export, and on the
API server under wrk, on each backend.

py-spy samples the worker's Python stacks (with ``--native``, the C frames of sqlite3 and psycopg too;
with ``--idle``, the time it waits for PostgreSQL). Only the samples taken inside the task count, so the
percentages add up to the task's wall time. For the API server, the samples of threads waiting for work
are left out. The summary goes into docs/performance.md (section ``profile``); the raw stacks stay in
``/tmp/promojobs-profiles``.
"""

from __future__ import annotations

import shutil
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from bench import load, machine, report
from bench.dbs import Databases, Kind
from bench.procs import BIN, Processes
from bench.service import Identity, Services
from bench.suite import JOBS_FILTER, Plan

RATE = 100
TOP = 18
# Leaf frames of threads that wait for work (the server's idle threadpool threads, its event loop).
IDLE_LEAVES = ("Condition.wait (", "Queue.get (", "select (", "epoll", "_run_once (")


def _py_spy() -> str | None:
    local = BIN / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def _frame_name(frame: str) -> str:
    """``func (path/to/module.py)`` → ``func (module.py)``; native frames stay as they are."""
    if frame.endswith(")") and " (" in frame:
        name, where = frame[:-1].rsplit(" (", 1)
        for marker in ("site-packages/", "src/", "lib/python3.11/"):
            if marker in where:
                where = where.split(marker, 1)[1]
        return f"{name} ({where})"
    return frame


def summarise(raw: Path, task_file: str | None) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """Samples counted, the top frames by inclusive samples, and the top leaf frames (self samples).

    With ``task_file`` (e.g. ``worker/generate.py``) only samples inside that module's frames count, cut
    at its outermost frame; without it, every sample whose leaf is not an idle wait counts."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [_frame_name(frame) for frame in stack.split(";")]
        if task_file is not None:
            if task_file not in stack:
                continue
            module = task_file.rsplit("/", 1)[1]
            frames = frames[min(i for i, frame in enumerate(frames) if module in frame) :]
        elif any(marker in frames[-1] for marker in IDLE_LEAVES):
            continue
        count = int(count_text)
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        leaf[frames[-1]] += count
    return total, inclusive.most_common(TOP), leaf.most_common(TOP)


def _table(title: str, entries: list[tuple[str, int]], total: int) -> list[str]:
    lines = [f"| {title} | share of task samples |", "|---|---|"]
    lines += [f"| `{frame}` | {count / total:.1%} |" for frame, count in entries]
    return lines


def _section(title: str, raw: Path, task_file: str | None) -> str:
    total, inclusive, leaves = summarise(raw, task_file)
    if total == 0:
        return f"{title}: no samples.\n"
    lines = [
        f"{title}; {total:,} samples counted.",
        "",
        *_table("frame (inclusive)", inclusive, total),
        "",
        *_table("leaf frame (self)", leaves, total),
        "",
    ]
    return "\n".join(lines)


class _Spy:
    """py-spy record attached to one process until stopped."""

    def __init__(self, procs: Processes, py_spy: str, pid: int, out: Path, *flags: str) -> None:
        argv = [py_spy, "record", "--pid", str(pid), "--rate", str(RATE), "--format", "raw", "--nolineno"]
        self.out = out
        self.proc = procs.start("py-spy", [*argv, *flags, "-o", str(out)])
        self.proc.wait_for_log("Sampling")

    def stop(self) -> Path:
        time.sleep(0.2)
        self.proc.stop(sig=signal.SIGINT)
        return self.out


def run(plan: Plan, backends: list[Kind], work_dir: Path, write_doc: bool) -> int:
    py_spy = _py_spy()
    if py_spy is None:
        print("py-spy is not installed: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    for sub in ("logs", "db", "out"):
        (work_dir / sub).mkdir(parents=True, exist_ok=True)
    procs = Processes(work_dir / "logs")
    dbs = Databases(work_dir / "db")
    services = Services(procs, work_dir, Identity())
    sections: list[str] = []
    keep = work_dir.parent / "promojobs-profiles"
    keep.mkdir(exist_ok=True)

    def say(message: str) -> None:
        print(f"  … {message}", file=sys.stderr, flush=True)

    try:
        for kind in backends:
            db = dbs.create(kind, "profile")
            service = services.start(db, workers=1)
            try:
                worker = service.workers[0]
                client = service.client
                promotion = client.create_promotion("profile")
                say(f"[{kind}] code_generate {plan.codes:,} under py-spy")
                spy = _Spy(procs, py_spy, worker.pid, keep / f"generate-{kind}.txt", "--idle", "--native")
                db.checkpoint()
                parameters = {"number_of_codes": plan.codes, "code_length": plan.length}
                seconds, _job = client.run_job(promotion, "code_generate", parameters)
                sections.append(
                    _section(
                        f"**{kind}, code_generate** of {plan.codes:,} codes: {seconds:.2f} s under py-spy "
                        f"({RATE} Hz, `--idle --native`, samples inside the generate task)",
                        spy.stop(),
                        "worker/generate.py",
                    )
                )
                say(f"[{kind}] code_export {plan.codes:,} under py-spy")
                spy = _Spy(procs, py_spy, worker.pid, keep / f"export-{kind}.txt", "--idle", "--native")
                seconds, _job = client.run_job(promotion, "code_export")
                sections.append(
                    _section(
                        f"**{kind}, code_export** of {plan.codes:,} codes: {seconds:.2f} s to completed "
                        "under py-spy (samples inside the export task)",
                        spy.stop(),
                        "worker/export.py",
                    )
                )
                api = client.create_promotion("api")
                for _ in range(plan.api_export_jobs):
                    client.run_job(api, "code_export")
                token = client.token
            finally:
                services.stop(service)
            say(f"[{kind}] GET filtered jobs under wrk and py-spy")
            env = services.env(db, work_dir / "data-http", PROMOJOBS_EMBEDDED_WORKER="false")
            proc, url = services.start_uvicorn("uvicorn", "bench.apps:promojobs_app", env, 1, factory=True)
            try:
                path = f"{url}/v2/promotions/{api}/jobs?{JOBS_FILTER}"
                load.measure(path, 1, {"Authorization": f"Bearer {token}"})
                spy = _Spy(procs, py_spy, proc.pid, keep / f"api-jobs-{kind}.txt")
                result = load.measure(path, plan.http_seconds, {"Authorization": f"Bearer {token}"})
                sections.append(
                    _section(
                        f"**{kind}, GET filtered jobs** under wrk -c32 and py-spy: {result.short()} "
                        "(samples of the uvicorn process whose leaf is not an idle wait)",
                        spy.stop(),
                        None,
                    )
                )
            finally:
                proc.stop()
                dbs.drop(db)
    finally:
        procs.stop_all()
        dbs.drop_all()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = f"Profiled on {when}, promojobs {machine.revision()}.\n\n" + "\n".join(sections)
    print(text)
    print(f"raw stacks (py-spy --format raw) in {keep}")
    if write_doc and sections:
        report.replace_section("profile", text)
    return 0
