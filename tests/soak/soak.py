"""Soak: a real ``promojobs serve`` (embedded worker) under mixed load from 10 stores for 5 minutes.

    make soak                                     # 5 minutes on SQLite
    make soak SOAK_ARGS="--seconds 60"            # shorter
    make soak SOAK_ARGS="--backend postgresql"    # PostgreSQL (PROMOJOBS_TEST_PG, default postgres@127.0.0.1)

Every store has ``--clients-per-store`` client threads over 127.0.0.1, each with its own promotions. A client
loops over a weighted mix: reads (list promotions, get a promotion, page through codes, list jobs, poll its
jobs), code additions, and jobs (generate, export, cancel). A client never writes to a promotion while a
job of its own runs on it, so it always knows how many codes each promotion must hold. A promotion that
holds more than ``--max-codes-per-promotion`` codes is deleted (with its codes, jobs and files) and replaced
by a new one, so the data set stops growing after the first seconds and memory can be compared over time.

It prints requests by kind, a status histogram, p50/p99 latencies, jobs finished and the server's resident
memory over time, and fails (exit code 1) if:

- any request answers 5xx or gets no answer, or any answer other than the expected ones;
- any job ends with the wrong count: a generate job completed with ``generated != number_of_codes``, a
  cancelled one whose ``deleted != generated``, an export file whose lines are not 1 + the promotion's
  codes, a promotion whose code total is not what its client added plus its completed jobs generated;
  any job failed, or not finished in time after the load stops;
- the server's RSS grew after warm-up by more than ``--rss-tolerance`` (20 %): median of the samples in
  the last 30 s against the median of those in the 30 s up to the end of warm-up (the first minute, or the
  first fifth of a shorter run).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.served import Served, start_serve
from tests.support import PG_ADMIN_URL, PROMOTION, PostgresDatabases, postgres_reachable

STORES = 10
RSS_SAMPLE_SECONDS = 5.0
WINDOW_SECONDS = 30.0
JOB_DRAIN_SECONDS = 240.0
MAX_PROMOTIONS_PER_CLIENT = 8

# (operation, weight): reads dominate, then code additions, then jobs.
MIX: list[tuple[str, int]] = [
    ("list promotions", 14),
    ("get promotion", 12),
    ("list codes", 14),
    ("list jobs", 8),
    ("add codes", 22),
    ("create promotion", 2),
    ("generate", 6),
    ("export", 3),
    ("cancel", 3),
]


@dataclass
class Job:
    id: str
    job_type: str
    number: int = 0  # codes asked for (generate)
    expected_lines: int = 0  # header + codes (export)
    cancel_sent: bool = False


@dataclass
class Promotion:
    id: str
    prefix: str
    codes: int = 0  # what the promotion must hold
    job: Job | None = None


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_kind: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.kind_statuses: dict[str, Counter[int]] = defaultdict(Counter)
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.jobs: Counter[str] = Counter()
        self.failures: list[str] = []

    def record(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.by_kind[kind] += 1
            self.statuses[status] += 1
            self.kind_statuses[kind][status] += 1
            self.latencies[kind].append(seconds)

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)
            if len(self.failures) <= 20:
                print(f"  FAILURE: {message}", flush=True)

    def finished(self, what: str) -> None:
        with self.lock:
            self.jobs[what] += 1


class Client:
    """One client thread of one store."""

    def __init__(
        self,
        base_url: str,
        token: str,
        name: str,
        stats: Stats,
        stop: threading.Event,
        args: argparse.Namespace,
        seed: int,
    ) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        self.name = name
        self.stats = stats
        self.stop = stop
        self.think = args.think_ms / 1000
        self.max_codes = args.max_codes_per_promotion
        self.rng = random.Random(seed)
        self.promotions: list[Promotion] = []
        self.sequence = 0

    # -- plumbing --

    def call(
        self, kind: str, method: str, path: str, expected: tuple[int, ...], **kwargs: Any
    ) -> httpx.Response | None:
        started = time.monotonic()
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.stats.record(kind, 0, time.monotonic() - started)
            self.stats.fail(f"{self.name} {kind}: no answer ({exc!r})")
            return None
        self.stats.record(kind, response.status_code, time.monotonic() - started)
        if response.status_code not in expected:
            self.stats.fail(
                f"{self.name} {kind}: {method} {path} -> {response.status_code} {response.text[:300]}"
            )
            return None
        return response

    def next_name(self) -> str:
        self.sequence += 1
        return f"{self.name}-{self.sequence}"

    # -- the loop --

    def run(self) -> None:
        try:
            for _ in range(2):
                self.create_promotion()
            operations = [name for name, _ in MIX]
            weights = [weight for _, weight in MIX]
            while not self.stop.is_set():
                self.poll_jobs()
                operation = self.rng.choices(operations, weights)[0]
                getattr(self, "op_" + operation.replace(" ", "_"))()
                self.rotate()
                if self.think:
                    time.sleep(self.rng.uniform(0, 2 * self.think))
        except Exception as exc:  # a bug in the soak itself must not pass silently
            self.stats.fail(f"{self.name}: client crashed: {exc!r}")

    def drain(self, deadline: float) -> None:
        """After the load: wait for this client's jobs, then check every promotion's total."""
        while any(p.job for p in self.promotions) and time.monotonic() < deadline:
            self.poll_jobs()
            time.sleep(0.2)
        for promotion in self.promotions:
            if promotion.job is not None:
                self.stats.fail(
                    f"{self.name}: job {promotion.job.id} not finished {JOB_DRAIN_SECONDS:.0f} s after"
                )
                continue
            response = self.call(
                "list codes", "GET", f"/v2/promotions/{promotion.id}/codes", (200,), params={"page[limit]": 1}
            )
            if response is not None:
                total = response.json()["meta"]["results"]["total"]
                if total != promotion.codes:
                    self.stats.fail(
                        f"{self.name}: promotion {promotion.id} holds {total} codes, not {promotion.codes}"
                    )
        self.http.close()

    def rotate(self) -> None:
        """Delete an idle promotion that grew past the limit, check it is gone, and start a new one."""
        for promotion in [p for p in self.promotions if p.job is None and p.codes > self.max_codes]:
            path = f"/v2/promotions/{promotion.id}"
            if self.call("delete promotion", "DELETE", path, (204,)) is None:
                continue
            self.promotions.remove(promotion)
            self.call("get promotion", "GET", path, (404,))
            self.create_promotion()

    def idle_promotion(self) -> Promotion | None:
        idle = [p for p in self.promotions if p.job is None]
        return self.rng.choice(idle) if idle else None

    # -- jobs --

    def poll_jobs(self) -> None:
        for promotion in self.promotions:
            job = promotion.job
            if job is None:
                continue
            response = self.call("get job", "GET", f"/v2/promotions/{promotion.id}/jobs/{job.id}", (200,))
            if response is None:
                continue
            data = response.json()["data"]
            status = data["status"]
            if status in ("pending", "processing", "cancelling"):
                continue
            promotion.job = None
            result = data.get("result", {})
            if status == "failed":
                self.stats.fail(f"{self.name}: {job.job_type} job {job.id} failed: {data.get('error')}")
            elif job.job_type == "code_generate" and status == "completed":
                if result.get("generated") != job.number:
                    self.stats.fail(f"{self.name}: job {job.id} generated {result} of {job.number}")
                promotion.codes += job.number
                self.stats.finished("generate completed")
            elif job.job_type == "code_generate" and status == "cancelled":
                if result.get("deleted", 0) != result.get("generated", 0):
                    self.stats.fail(f"{self.name}: cancelled job {job.id} left codes: {result}")
                self.stats.finished("generate cancelled")
            elif job.job_type == "code_export" and status == "completed":
                self.check_export(promotion, job)
                self.stats.finished("export completed")
            elif job.job_type == "code_export" and status == "cancelled":
                self.stats.finished("export cancelled")
            else:
                self.stats.fail(f"{self.name}: job {job.id} ended {status}: {data}")

    def check_export(self, promotion: Promotion, job: Job) -> None:
        response = self.call(
            "export link", "GET", f"/v2/promotions/{promotion.id}/jobs/{job.id}/file", (200,)
        )
        if response is None:
            return
        download = self.call("download", "GET", response.json()["href"], (200,))
        if download is None:
            return
        lines = download.content.count(b"\n")
        if lines != job.expected_lines:
            self.stats.fail(f"{self.name}: export {job.id} has {lines} lines, not {job.expected_lines}")

    # -- operations --

    def create_promotion(self) -> None:
        if len(self.promotions) >= MAX_PROMOTIONS_PER_CLIENT:
            return
        name = self.next_name()
        body = {"data": {**PROMOTION, "name": name}}
        response = self.call("create promotion", "POST", "/v2/promotions", (201,), json=body)
        if response is not None:
            prefix = f"S{abs(hash(name)) % 10**6}-"
            self.promotions.append(Promotion(response.json()["data"]["id"], prefix))

    def op_create_promotion(self) -> None:
        self.create_promotion()

    def op_list_promotions(self) -> None:
        offset = self.rng.choice([0, 0, 0, 5])
        self.call(
            "list promotions",
            "GET",
            "/v2/promotions",
            (200,),
            params={"page[limit]": 25, "page[offset]": offset},
        )

    def op_get_promotion(self) -> None:
        if self.promotions:
            self.call("get promotion", "GET", f"/v2/promotions/{self.rng.choice(self.promotions).id}", (200,))

    def op_list_codes(self) -> None:
        if not self.promotions:
            return
        promotion = self.rng.choice(self.promotions)
        offset = self.rng.randrange(0, max(1, min(promotion.codes, 10_000)))
        self.call(
            "list codes",
            "GET",
            f"/v2/promotions/{promotion.id}/codes",
            (200,),
            params={"page[limit]": 25, "page[offset]": offset},
        )

    def op_list_jobs(self) -> None:
        if self.promotions:
            promotion = self.rng.choice(self.promotions)
            self.call(
                "list jobs", "GET", f"/v2/promotions/{promotion.id}/jobs", (200,), params={"page[limit]": 10}
            )

    def op_add_codes(self) -> None:
        promotion = self.idle_promotion()
        if promotion is None:
            return
        base = self.next_name()
        codes = [{"code": f"{base}-{n}"} for n in range(self.rng.randint(1, 20))]
        body = {"data": {"type": "promotion_codes", "codes": codes}}
        if (
            self.call("add codes", "POST", f"/v2/promotions/{promotion.id}/codes", (201,), json=body)
            is not None
        ):
            promotion.codes += len(codes)

    def op_generate(self) -> None:
        promotion = self.idle_promotion()
        if promotion is None:
            return
        number = self.rng.randint(500, 5000)
        parameters = {"number_of_codes": number, "code_length": 9, "code_prefix": promotion.prefix}
        body = {"data": {"type": "promotion_job", "job_type": "code_generate", "parameters": parameters}}
        response = self.call("create job", "POST", f"/v2/promotions/{promotion.id}/jobs", (201,), json=body)
        if response is not None:
            promotion.job = Job(response.json()["data"]["id"], "code_generate", number=number)

    def op_export(self) -> None:
        promotion = self.idle_promotion()
        if promotion is None:
            return
        body = {"data": {"type": "promotion_job", "job_type": "code_export"}}
        response = self.call("create job", "POST", f"/v2/promotions/{promotion.id}/jobs", (201,), json=body)
        if response is not None:
            promotion.job = Job(
                response.json()["data"]["id"], "code_export", expected_lines=1 + promotion.codes
            )

    def op_cancel(self) -> None:
        running = [p for p in self.promotions if p.job is not None and not p.job.cancel_sent]
        if not running:
            return
        promotion = self.rng.choice(running)
        assert promotion.job is not None
        promotion.job.cancel_sent = True
        # 422 when the job finished first: a race the client is told about, not an error.
        self.call(
            "cancel", "POST", f"/v2/promotions/{promotion.id}/jobs/{promotion.job.id}/cancel", (200, 422)
        )


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _median_between(samples: list[tuple[float, int]], start: float, end: float) -> float:
    window = [rss for at, rss in samples if start <= at <= end]
    return statistics.median(window) if window else float("nan")


def _report(
    args: argparse.Namespace, stats: Stats, samples: list[tuple[float, int]], elapsed: float, warmup: float
) -> dict[str, Any]:
    total = sum(stats.by_kind.values())
    all_latencies = [value for values in stats.latencies.values() for value in values]
    print(
        f"\n=== soak: {args.backend}, {elapsed:.0f} s of load, "
        f"{STORES} stores x {args.clients_per_store} clients"
    )
    print(f"requests: {total} ({total / elapsed:.0f}/s)")
    print(f"  {'kind':<18}{'count':>8}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    for kind in sorted(stats.by_kind, key=lambda k: -stats.by_kind[k]):
        values = stats.latencies[kind]
        statuses = " ".join(f"{code}:{count}" for code, count in sorted(stats.kind_statuses[kind].items()))
        print(
            f"  {kind:<18}{stats.by_kind[kind]:>8}{_percentile(values, 0.5) * 1000:>9.1f}"
            f"{_percentile(values, 0.99) * 1000:>9.1f}  {statuses}"
        )
    p50, p99 = _percentile(all_latencies, 0.5) * 1000, _percentile(all_latencies, 0.99) * 1000
    print(f"  {'all':<18}{total:>8}{p50:>9.1f}{p99:>9.1f}")
    print("status codes: " + ", ".join(f"{code}: {count}" for code, count in sorted(stats.statuses.items())))
    print("jobs finished: " + ", ".join(f"{what}: {count}" for what, count in sorted(stats.jobs.items())))
    print("server RSS (MiB) over time:")
    for at, rss in samples:
        if at == samples[-1][0] or int(at) % 30 < RSS_SAMPLE_SECONDS:
            print(f"  {at:>6.0f} s  {rss / 1024:>7.1f}")
    warm = _median_between(samples, warmup - WINDOW_SECONDS, warmup)
    end = _median_between(samples, elapsed - WINDOW_SECONDS, elapsed)
    growth = (end - warm) / warm
    print(
        f"RSS after warm-up ({warmup:.0f} s): {warm / 1024:.1f} MiB; at the end: {end / 1024:.1f} MiB "
        f"({growth:+.1%}; tolerance {args.rss_tolerance:.0%})"
    )
    if growth > args.rss_tolerance:
        stats.fail(f"RSS grew {growth:.1%} after warm-up (tolerance {args.rss_tolerance:.0%})")
    return {
        "backend": args.backend,
        "seconds": round(elapsed),
        "requests": total,
        "requests_per_second": round(total / elapsed),
        "by_kind": dict(stats.by_kind),
        "statuses": {str(code): count for code, count in sorted(stats.statuses.items())},
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
        "jobs": dict(stats.jobs),
        "rss_mib": [[round(at), round(rss / 1024, 1)] for at, rss in samples],
        "rss_warm_mib": round(warm / 1024, 1),
        "rss_end_mib": round(end / 1024, 1),
        "rss_growth": round(growth, 4),
        "failures": stats.failures,
    }


def _soak(args: argparse.Namespace, served: Served) -> dict[str, Any]:
    stores = [f"soak-store-{index}" for index in range(STORES)]
    tokens = served.tokens(stores)
    stats = Stats()
    stop = threading.Event()
    clients = [
        Client(
            served.base_url,
            tokens[store],
            f"{store}_c{n}",
            stats,
            stop,
            args,
            seed=i * 31 + n,
        )
        for i, store in enumerate(stores)
        for n in range(args.clients_per_store)
    ]
    threads = [threading.Thread(target=client.run, daemon=True) for client in clients]
    samples: list[tuple[float, int]] = []
    started = time.monotonic()
    warmup = min(60.0, args.seconds / 5)
    for thread in threads:
        thread.start()
    next_progress = 30.0
    while (elapsed := time.monotonic() - started) < args.seconds:
        if served.process.poll() is not None:
            stats.fail(f"the server exited with {served.process.returncode}")
            break
        samples.append((elapsed, served.rss_kib()))
        if elapsed >= next_progress:
            with stats.lock:
                done, fivexx = (
                    sum(stats.by_kind.values()),
                    sum(c for s, c in stats.statuses.items() if s >= 500),
                )
            print(
                f"  {elapsed:>4.0f} s: {done} requests, {fivexx} 5xx, "
                f"{sum(stats.jobs.values())} jobs finished, "
                f"RSS {samples[-1][1] / 1024:.1f} MiB",
                flush=True,
            )
            next_progress += 30
        time.sleep(min(RSS_SAMPLE_SECONDS, max(0.0, args.seconds - elapsed)))
    samples.append((time.monotonic() - started, served.rss_kib()))
    elapsed = time.monotonic() - started
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    deadline = time.monotonic() + JOB_DRAIN_SECONDS
    for client in clients:
        client.drain(deadline)
    return _report(args, stats, samples, elapsed, warmup)


def _run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    settings = {"worker_batch_size": 2000, "poll_seconds": 0.5}
    pg: PostgresDatabases | None = None
    name = ""
    if args.backend == "postgresql":
        if not postgres_reachable():
            raise SystemExit(f"PostgreSQL is not reachable at {PG_ADMIN_URL} (set PROMOJOBS_TEST_PG)")
        pg = PostgresDatabases("soak")
        name = pg.create()
        database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    else:
        database_url = f"sqlite:///{workdir / 'promojobs.sqlite3'}"
    served = start_serve(database_url, workdir / "data", settings)
    try:
        print(
            f"soak: {args.backend} server pid {served.process.pid} at {served.base_url}, {args.seconds} s",
            flush=True,
        )
        result = _soak(args, served)
    finally:
        code = served.stop(timeout=120)
        if pg is not None:
            pg.drop(name)
            pg.close()
    log = served.log()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal: -15 is a clean stop too.
    if code not in (0, -signal.SIGTERM) or "Application shutdown complete." not in log:
        result["failures"].append(f"the server did not stop cleanly on SIGTERM (exit code {code})")
    for marker in ("Traceback", "database is locked"):
        if marker in log:
            result["failures"].append(f"the server log contains {marker!r} (see {served.log_path})")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300, help="load duration (default 300)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--clients-per-store", type=int, default=2)
    parser.add_argument("--think-ms", type=float, default=10, help="mean pause between a client's requests")
    parser.add_argument(
        "--max-codes-per-promotion",
        type=int,
        default=10_000,
        help="replace a promotion past this many codes (default 10,000), so the data set stops growing",
    )
    parser.add_argument("--rss-tolerance", type=float, default=0.20)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (database, server log)")
    args = parser.parse_args(argv)
    # Stopped with SIGTERM: still stop the server and drop the database (the finally blocks below).
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(1))
    workdir = Path(tempfile.mkdtemp(prefix="promojobs-soak-"))
    try:
        result = _run(args, workdir)
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    failures = result["failures"]
    if failures:
        print(f"\nSOAK FAILED: {len(failures)} problem(s)")
        for failure in failures[:20]:
            print(f"  - {failure}")
        return 1
    print("\nSOAK PASSED: no 5xx, every job finished with the right count, no memory growth after warm-up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
