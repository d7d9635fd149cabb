"""The measurements of one run, in order, each against its raw baseline measured in the same run."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import load
from bench import raw as raw_path
from bench.dbs import Databases, Kind, ScratchDb
from bench.procs import Proc, Processes, free_port, load_average
from bench.report import Row, at_least, at_most, mib, seconds_and_rate
from bench.service import Identity, Service, Services

JOBS_FILTER = "filter=eq(job_type,code_export):eq(status,completed)&page%5Blimit%5D=25"


@dataclass(frozen=True)
class Plan:
    mode: str
    codes: int  # generate and export, both backends (length ``length``)
    big_codes: int | None  # PostgreSQL, 1 and 2 workers, then export (length ``big_length``)
    http_seconds: int
    http_warmup: int = 1
    generate_runs: int = 2  # promojobs and raw alternate; the fastest run of each counts
    http_workers: int = 1
    length: int = 8
    big_length: int = 10
    post_codes: int = 10_000
    post_repeats: int = 3
    api_generate_jobs: int = 5
    api_export_jobs: int = 30
    distant_rounds: int = 3  # alternating runs of each side of the distant-database row
    export_runs: int = 3  # promojobs' export and the tool's dump alternate; the fastest of each counts


FULL = Plan("full", codes=1_000_000, big_codes=10_000_000, http_seconds=10)
QUICK = Plan(
    "quick",
    codes=200_000,
    big_codes=None,
    http_seconds=4,
    generate_runs=1,
    export_runs=1,
    api_generate_jobs=2,
    api_export_jobs=25,
)


@dataclass(frozen=True)
class Generated:
    seconds: float
    worker_cpu: float
    server_cpu: float
    worker_rss_kib: int


@dataclass(frozen=True)
class Exported:
    job_seconds: float
    total_seconds: float
    size: int
    lines: int
    worker_rss_kib: int
    worker_cpu: float


@dataclass(frozen=True)
class ExportRuns:
    exps: list[Exported]  # in the order run, alternating with the tool's
    tools: list[raw_path.ExportResult]

    @property
    def fastest(self) -> Exported:
        return min(self.exps, key=lambda exp: exp.total_seconds)

    @property
    def fastest_tool(self) -> raw_path.ExportResult:
        return min(self.tools, key=lambda tool: tool.seconds)

    @property
    def peak_rss_kib(self) -> int:
        """The export worker's, the largest of the runs."""
        return max(exp.worker_rss_kib for exp in self.exps)

    @property
    def least_rss_kib(self) -> int:
        return min(exp.worker_rss_kib for exp in self.exps)

    @property
    def tool_peak_rss_kib(self) -> int:
        return max(tool.peak_rss_kib for tool in self.tools)

    def runs(self, tool_name: str) -> str:
        if len(self.exps) == 1:
            return ""
        pairs = zip(self.exps, self.tools, strict=True)
        order = ", ".join(
            f"promojobs {e.total_seconds:.2f} s, {tool_name} {t.seconds:.2f} s" for e, t in pairs
        )
        return f"runs in order: {order}; the fastest of each counts"


def _n(count: int) -> str:
    return f"{count / 1_000_000:g}M" if count >= 1_000_000 else f"{count / 1000:g}k"


class Suite:
    def __init__(
        self, plan: Plan, work_dir: Path, emit: Callable[[Row], None], say: Callable[[str], None]
    ) -> None:
        self.plan = plan
        self.work_dir = work_dir
        self.emit = emit
        self._say = say
        self.loads: list[float] = []
        self.rows: list[Row] = []
        for sub in ("logs", "db", "out"):
            (work_dir / sub).mkdir(parents=True, exist_ok=True)
        self.procs = Processes(work_dir / "logs")
        self.dbs = Databases(work_dir / "db")
        self.services = Services(self.procs, work_dir, Identity())
        self.export_rss: dict[tuple[Kind, int], int] = {}
        self.healthz_measured = False
        self.distant_ms: float | None = None  # also measure the listing with PostgreSQL this far away

    def say(self, message: str) -> None:
        """Progress on stderr; also samples the load average (the machine may be shared)."""
        self.loads.append(load_average())
        self._say(message)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        self.emit(row)

    def close(self) -> None:
        self.procs.stop_all()
        self.dbs.drop_all()

    # --- building blocks ----------------------------------------------------------------------------

    def _stop(self, service: Service) -> None:
        self.services.stop(service)
        shutil.rmtree(service.data_dir, ignore_errors=True)

    def generate(self, service: Service, promotion: str, count: int, length: int) -> Generated:
        service.db.checkpoint()
        server0 = service.db.postgres_cpu()
        cpu0 = sum(worker.cpu_seconds() for worker in service.workers)
        poll = 0.05 if count <= 2_000_000 else 0.2
        parameters = {"number_of_codes": count, "code_length": length}
        seconds, job = service.client.run_job(promotion, "code_generate", parameters, poll)
        generated = job.get("result", {}).get("generated")
        if generated != count:
            raise RuntimeError(f"job completed with {generated} codes, expected {count}")
        cpu = sum(worker.cpu_seconds() for worker in service.workers) - cpu0
        server = service.db.postgres_cpu() - server0
        rss = max(worker.peak_rss_kib() for worker in service.workers)
        return Generated(seconds, cpu, server, rss)

    def export(self, service: Service, promotion: str, count: int) -> Exported:
        """Export with a fresh worker process, so its peak RSS is the export's alone."""
        self.services.stop_workers(service)
        (worker,) = self.services.add_workers(service, 1)
        service.db.checkpoint()
        out = self.work_dir / "out" / "promojobs-export.csv"
        poll = 0.05 if count <= 2_000_000 else 0.2
        started = time.perf_counter()
        job_id = service.client.submit(promotion, "code_export")
        service.client.wait(promotion, job_id, poll)
        job_seconds = time.perf_counter() - started
        size = service.client.download_export(promotion, job_id, out)
        total = time.perf_counter() - started
        lines = _count_lines(out)
        out.unlink()
        if lines != count + 1:
            raise RuntimeError(f"export has {lines} lines, expected {count + 1}")
        return Exported(job_seconds, total, size, lines, worker.peak_rss_kib(), worker.cpu_seconds())

    def raw_insert(self, kind: Kind, label: str) -> tuple[ScratchDb, raw_path.InsertResult]:
        n = self.plan.codes
        self.say(f"[{kind}] raw baseline: insert {n:,} codes")
        db = self.dbs.create(kind, label)
        codes = raw_path.random_codes(n, self.plan.length)
        db.checkpoint()
        result = raw_path.insert(db, codes)
        if result.rows != n:
            raise RuntimeError(f"raw insert put {result.rows} rows, expected {n}")
        return db, result

    def tool_export(self, db: ScratchDb, promotion: str) -> raw_path.ExportResult:
        pk = db.scalar("SELECT id FROM promotions WHERE uuid = %s", promotion)
        assert isinstance(pk, int)
        db.checkpoint()
        return raw_path.export(db, pk, self.work_dir / "out" / "tool-export.csv")

    def exports(self, service: Service, promotion: str, n: int, runs: int) -> ExportRuns:
        """promojobs' export and the tool's dump, alternating ``runs`` times each (one export takes a second
        or two, and one run alone swings by a third on a busy machine); the fastest of each counts."""
        exps: list[Exported] = []
        tools: list[raw_path.ExportResult] = []
        for _ in range(runs):
            exps.append(self.export(service, promotion, n))
            tools.append(self.tool_export(service.db, promotion))
        return ExportRuns(exps, tools)

    # --- one backend: generate, export, POST codes, HTTP ---------------------------------------------

    def backend(self, kind: Kind) -> None:
        plan, n = self.plan, self.plan.codes
        # Raw and promojobs runs alternate, each on a fresh database, and the fastest run of each counts,
        # so neither the order nor a passing disturbance favours one side. With one promojobs run, the raw
        # baseline runs before and after it.
        raws: list[raw_path.InsertResult] = []
        gens: list[Generated] = []
        raw_db: ScratchDb | None = None
        service: Service | None = None
        try:
            for run in range(plan.generate_runs + (1 if plan.generate_runs == 1 else 0)):
                new_raw_db, result = self.raw_insert(kind, f"raw{run + 1}")
                raws.append(result)
                if raw_db is not None:
                    self.dbs.drop(raw_db)
                raw_db = new_raw_db
                if run >= plan.generate_runs:
                    break
                if service is not None:
                    self._stop(service)
                    self.dbs.drop(service.db)
                service = self.services.start(self.dbs.create(kind, f"promojobs{run + 1}"), workers=1)
                self.say(f"[{kind}] promojobs: code_generate {n:,} codes")
                promotion = service.client.create_promotion("generate")
                gens.append(self.generate(service, promotion, n, plan.length))
            assert service is not None and raw_db is not None
            db = service.db
            gen = min(gens, key=lambda g: g.seconds)
            raw = min(raws, key=lambda r: r.seconds)
            row = Row(
                f"code_generate {_n(n)} codes, length {plan.length}, 1 worker [{kind}]",
                seconds_and_rate(gen.seconds, n),
                seconds_and_rate(raw.seconds, n),
                raw.seconds / gen.seconds,
            )
            row.details.append(
                f"promojobs worker CPU {gen.worker_cpu:.1f} s, PostgreSQL CPU {gen.server_cpu:.1f} s, "
                f"worker peak RSS {mib(gen.worker_rss_kib)}; raw: client CPU {raw.client_cpu:.1f} s, "
                f"PostgreSQL CPU {raw.server_cpu:.1f} s"
                if kind == "postgresql"
                else f"promojobs worker CPU {gen.worker_cpu:.1f} s (SQLite runs inside it), worker peak RSS "
                f"{mib(gen.worker_rss_kib)}; raw: CPU {raw.client_cpu:.1f} s"
            )
            row.details.append(
                "runs in order: "
                + ", ".join(
                    f"raw {r.seconds:.2f} s" + (f", promojobs {g.seconds:.2f} s" if g else "")
                    for r, g in zip(raws, [*gens, None], strict=False)
                )
                + "; the fastest of each counts"
            )
            self.add(at_least(row, 0.7))

            self.say(f"[{kind}] promojobs: code_export {n:,} codes, then the tool's CSV dump")
            runs = self.exports(service, promotion, n, plan.export_runs)
            exp, tool = runs.fastest, runs.fastest_tool
            what = f"code_export {_n(n)} codes, POST→completed + download [{kind}]"
            row = _export_row(what, kind, runs, n)
            row.details.insert(
                0,
                f"job {exp.job_seconds:.2f} s + download {exp.total_seconds - exp.job_seconds:.2f} s, "
                f"{exp.size / 1e6:.0f} MB; worker CPU {exp.worker_cpu:.1f} s; tool output "
                f"{tool.size_bytes / 1e6:.0f} MB",
            )
            self.add(at_least(row, 0.5))
            # The 10M export (one run) is held to the least of these, so more runs here cannot ease it.
            self.export_rss[(kind, n)] = runs.least_rss_kib
            self.add(
                Row(
                    f"export worker peak RSS, {_n(n)} codes [{kind}]",
                    mib(runs.peak_rss_kib),
                    f"{_tool_name(kind)}: {mib(runs.tool_peak_rss_kib)}",
                    None,
                )
            )

            api_promotion = service.client.create_promotion("api")
            self.say(f"[{kind}] preparing the API promotion's jobs")
            for _ in range(plan.api_generate_jobs):
                service.client.run_job(
                    api_promotion, "code_generate", {"number_of_codes": 100, "code_prefix": "API-"}
                )
            for _ in range(plan.api_export_jobs):
                service.client.run_job(api_promotion, "code_export")
            self.say(f"[{kind}] POST /codes with {plan.post_codes:,} codes x{plan.post_repeats}")
            posted, inserted = [], []
            for i in range(plan.post_repeats):
                batch = raw_path.random_codes(plan.post_codes, plan.length, prefix=f"P{i}-")
                posted.append(service.client.add_codes(api_promotion, batch))
                mine = raw_path.random_codes(plan.post_codes, plan.length, prefix=f"P{i}-")
                inserted.append(raw_path.insert(raw_db, mine, batch_rows=plan.post_codes).seconds)
            post, base = statistics.median(posted), statistics.median(inserted)
            row = Row(
                f"POST /codes, {plan.post_codes:,} codes in one request [{kind}]",
                seconds_and_rate(post, plan.post_codes),
                ("executemany" if kind == "sqlite" else "COPY")
                + ": "
                + seconds_and_rate(base, plan.post_codes),
                base / post,
            )
            row.details.append(
                f"median of {plan.post_repeats} requests into a store already holding {n:,} codes: "
                + ", ".join(f"{s * 1000:.0f} ms" for s in posted)
            )
            self.add(row)

            jobs_path = f"/v2/promotions/{api_promotion}/jobs?{JOBS_FILTER}"
            codes_path = f"/v2/promotions/{api_promotion}/codes"
            jobs_file = self.work_dir / "out" / f"jobs-{kind}.json"
            codes_file = self.work_dir / "out" / f"codes-{kind}.json"
            jobs_file.write_bytes(service.client.get_bytes(jobs_path))
            codes_file.write_bytes(service.client.get_bytes(codes_path))
            token = service.client.token
        finally:
            if service is not None:
                self._stop(service)
            if raw_db is not None:
                self.dbs.drop(raw_db)
        self.http(kind, db, token, [("jobs", jobs_path, jobs_file), ("codes", codes_path, codes_file)])
        self.dbs.drop(db)

    def http_only(self, kind: Kind) -> None:
        """Only the HTTP rows (``--only-http``): the API promotion's jobs made afresh, then ``http``."""
        plan = self.plan
        service = self.services.start(self.dbs.create(kind, "http"), workers=1)
        try:
            promotion = service.client.create_promotion("api")
            self.say(f"[{kind}] preparing the API promotion's jobs")
            for _ in range(plan.api_generate_jobs):
                service.client.run_job(
                    promotion, "code_generate", {"number_of_codes": 100, "code_prefix": "API-"}
                )
            for _ in range(plan.api_export_jobs):
                service.client.run_job(promotion, "code_export")
            routes = []
            for name, path in (
                ("jobs", f"/v2/promotions/{promotion}/jobs?{JOBS_FILTER}"),
                ("codes", f"/v2/promotions/{promotion}/codes"),
            ):
                answer = self.work_dir / "out" / f"{name}-{kind}.json"
                answer.write_bytes(service.client.get_bytes(path))
                routes.append((name, path, answer))
            token = service.client.token
        finally:
            self._stop(service)
        self.http(kind, service.db, token, routes)
        self.dbs.drop(service.db)

    def http(self, kind: Kind, db: ScratchDb, token: str, routes: list[tuple[str, str, Path]]) -> None:
        """wrk against promojobs and the bare app, both served by the uvicorn command line the same way.

        ``routes`` are (bare path name, promojobs path, file with promojobs' answer for the bare app)."""
        plan = self.plan
        data_dir = self.work_dir / f"data-http-{kind}"
        env = self.services.env(db, data_dir, PROMOJOBS_EMBEDDED_WORKER="false")
        bare_env = {k: v for k, v in env.items() if not k.startswith("PROMOJOBS_")}
        for name, _path, body in routes:
            bare_env[f"BENCH_BARE_{name.upper()}"] = str(body)
        workers = plan.http_workers
        pj_proc, pj_url = self.services.start_uvicorn(
            "uvicorn-promojobs", "bench.apps:promojobs_app", env, workers, factory=True
        )
        bare_proc, bare_url = self.services.start_uvicorn(
            "uvicorn-bare", "bench.bare:app", bare_env, workers, factory=False
        )
        auth = {"Authorization": f"Bearer {token}"}
        local: dict[str, load.LoadResult] = {}
        try:
            measured = [(name, path, auth, body.stat().st_size) for name, path, body in routes]
            if not self.healthz_measured:
                # The route alone: a sync route (threadpool) with no database and no auth, vs async.
                measured.append(("healthz", "/healthz", {}, len(b'{"status":"ok"}')))
                self.healthz_measured = True
            for name, path, headers, size in measured:
                self.say(f"[{kind}] wrk GET {name}: bare route, then promojobs ({plan.http_seconds} s each)")
                bare = load.measure(f"{bare_url}/{name}", plan.http_seconds, warmup=plan.http_warmup)
                _wait_idle(bare_proc)
                sessions0 = _pg_sessions(db)
                mine = load.measure(f"{pj_url}{path}", plan.http_seconds, headers, warmup=plan.http_warmup)
                # Requests still queued when wrk stops keep the server busy: wait, or they would slow the
                # next measurement down.
                _wait_idle(pj_proc)
                local[name] = mine
                sessions = _pg_sessions(db) - sessions0
                what = {
                    "jobs": "GET /jobs?filter=eq(job_type,code_export):eq(status,completed), page of 25",
                    "codes": "GET /codes, first page of 25",
                    "healthz": "GET /healthz (no database, no auth)",
                }[name]
                row = Row(
                    f"{what}, 32 conn. [{kind if name != 'healthz' else 'no database'}]",
                    mine.short(),
                    "bare: " + bare.short(),
                    mine.rps / bare.rps,
                )
                row.details.append(
                    f"{size:,}-byte JSON answer; promojobs p90 {mine.p90_ms:.2f} ms, "
                    f"max {mine.max_ms:.1f} ms; uvicorn --workers {workers}, wrk -t2 -c32 on the same 2 cores"
                    + (
                        f"; PostgreSQL sessions opened meanwhile: {sessions:,}"
                        if db.kind == "postgresql"
                        else ""
                    )
                )
                if name == "jobs":
                    row.target = "≥ 0.5, p99 ≤ 25 ms"
                    row.passed = row.ratio is not None and row.ratio >= 0.5 and mine.p99_ms <= 25
                self.add(row)
        finally:
            pj_proc.stop()
            bare_proc.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
        if kind == "postgresql" and self.distant_ms and "jobs" in local:
            self.distant(db, env, auth, routes[0][1])

    def distant(self, db: ScratchDb, env: dict[str, str], auth: dict[str, str], path: str) -> None:
        """The job listing with PostgreSQL ``distant_ms`` away (a latency proxy, ``bench.latency``, in its
        own process) against the same listing with PostgreSQL local, and /healthz under that load.

        Both servers run at once and are measured in turn, ``plan.distant_rounds`` times each, and the
        fastest run of each side counts: the machine's pace drifts over a minute (the local side alone
        ranged 4.5k-7.4k req/s over four runs), and a ratio of two runs minutes apart measured the drift."""
        plan, delay = self.plan, self.distant_ms
        assert delay is not None
        upstream = urlsplit(db.url)
        proxy_port = free_port()
        proxy = self.procs.start(
            "latency",
            [
                *(sys.executable, "-m", "bench.latency", "--port", str(proxy_port)),
                *("--upstream-port", str(upstream.port or 5432), "--delay-ms", f"{delay:g}"),
            ],
        )
        proxy.wait_for_log("listening")
        far_url = upstream._replace(
            netloc=upstream.netloc.replace(f":{upstream.port or 5432}", f":{proxy_port}")
        )
        data_dir = self.work_dir / "data-http-distant"
        near_dir = self.work_dir / "data-http-near"
        far_env = {**env, "PROMOJOBS_DATABASE_URL": urlunsplit(far_url), "PROMOJOBS_DATA_DIR": str(data_dir)}
        near_env = {**env, "PROMOJOBS_DATA_DIR": str(near_dir)}
        near_proc, near_url = self.services.start_uvicorn(
            "uvicorn-promojobs-near", "bench.apps:promojobs_app", near_env, plan.http_workers, factory=True
        )
        proc, url = self.services.start_uvicorn(
            "uvicorn-promojobs-distant", "bench.apps:promojobs_app", far_env, plan.http_workers, factory=True
        )
        try:
            fars: list[load.LoadResult] = []
            nears: list[load.LoadResult] = []
            for run in range(plan.distant_rounds):
                self.say(
                    f"[postgresql] wrk GET jobs, run {run + 1} of {plan.distant_rounds}: the database "
                    f"{delay:g} ms away and local, in turn ({plan.http_seconds} s each)"
                )
                sides = [(proc, url, fars), (near_proc, near_url, nears)]
                for server, url_, results in sides if run % 2 == 0 else sides[::-1]:  # ABBA: drift evens out
                    results.append(
                        load.measure(f"{url_}{path}", plan.http_seconds, auth, warmup=plan.http_warmup)
                    )
                    _wait_idle(server)
            far = max(fars, key=lambda result: result.rps)
            near = max(nears, key=lambda result: result.rps)
            row = Row(
                f"GET /jobs?filter=…, page of 25, 32 conn., database {delay:g} ms away [postgresql]",
                far.short(),
                "database local: " + near.short(),
                far.rps / near.rps,
            )
            row.details.append(
                f"one-way delay {delay:g} ms each direction (a round trip {2 * delay:g} ms) through a TCP "
                "proxy in its own process on the same 2 cores; a kept answer costs one round trip (the "
                f"store's version); fastest of {plan.distant_rounds} alternating runs each: distant "
                + ", ".join(f"{result.rps:,.0f}" for result in fars)
                + "; local "
                + ", ".join(f"{result.rps:,.0f}" for result in nears)
                + " req/s"
            )
            self.add(at_least(row, 0.5))
            self.say("[postgresql] wrk GET /healthz (2 conn.) while 32 connections read the job list")
            loaded: list[load.LoadResult] = []
            reader = threading.Thread(
                target=lambda: loaded.append(
                    load.measure(f"{url}{path}", plan.http_seconds + 2, auth, warmup=0)
                )
            )
            reader.start()
            health = load.measure(f"{url}/healthz", plan.http_seconds, warmup=0, connections=2)
            reader.join()
            row = Row(
                f"GET /healthz p99 while 32 conn. read the job list, database {delay:g} ms away [postgresql]",
                health.short(),
                "listing meanwhile: " + (loaded[0].short() if loaded else "-"),
                None,
                target="p99 ≤ 50 ms",
                passed=health.p99_ms <= 50,
            )
            self.add(row)
        finally:
            proc.stop()
            near_proc.stop()
            proxy.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
            shutil.rmtree(near_dir, ignore_errors=True)

    # --- PostgreSQL, big: 1 vs 2 workers, export, RSS ------------------------------------------------

    # --- rule promotions: the same engine, checked against standard promotions in the same run ---------

    def rule(self, kind: Kind) -> None:
        """code_generate and code_export on a rule promotion, against a standard promotion's generate and
        the raw insert, each on a fresh database; runs alternate and the fastest of each counts."""
        plan, n = self.plan, self.plan.codes
        raws: list[raw_path.InsertResult] = []
        gens: dict[str, list[Generated]] = {"standard": [], "rule": []}
        alive: list[Service] = []
        kept: tuple[Service, str] | None = None  # the last rule promotion, for the export; its worker stopped
        try:
            for run in range(plan.generate_runs):
                raw_db, result = self.raw_insert(kind, f"rawrule{run + 1}")
                raws.append(result)
                self.dbs.drop(raw_db)
                # ABBA: the machine's pace drifts through a run, and the second of each pair would pay for it.
                for which in ("standard", "rule") if run % 2 == 0 else ("rule", "standard"):
                    service = self.services.start(self.dbs.create(kind, f"{which}{run + 1}"), workers=1)
                    alive.append(service)
                    self.say(f"[{kind}] promojobs: code_generate {n:,} codes on a {which} promotion")
                    client = service.client
                    promotion = (
                        client.create_rule_promotion("rule")
                        if which == "rule"
                        else client.create_promotion("standard")
                    )
                    gens[which].append(self.generate(service, promotion, n, plan.length))
                    if which == "rule":
                        if kept is not None:
                            self._drop(kept[0], alive)
                        self.services.stop_workers(service)
                        kept = (service, promotion)
                    else:
                        self._drop(service, alive)
            assert kept is not None
            service, promotion = kept
            rule = min(gens["rule"], key=lambda g: g.seconds)
            standard = min(gens["standard"], key=lambda g: g.seconds)
            raw = min(raws, key=lambda r: r.seconds)
            row = Row(
                f"rule promotion code_generate {_n(n)} codes vs standard [{kind}]",
                seconds_and_rate(rule.seconds, n),
                "standard: " + seconds_and_rate(standard.seconds, n),
                standard.seconds / rule.seconds,
            )
            row.details.append(
                f"raw insert into the codes table (its unique key and listing index): "
                f"{seconds_and_rate(raw.seconds, n)}, ratio raw/rule {raw.seconds / rule.seconds:.2f}; "
                f"rule worker CPU {rule.worker_cpu:.1f} s, peak RSS {mib(rule.worker_rss_kib)}; runs: "
                + ", ".join(f"rule {g.seconds:.2f} s" for g in gens["rule"])
                + "; "
                + ", ".join(f"standard {g.seconds:.2f} s" for g in gens["standard"])
            )
            self.add(at_least(row, 0.9))  # within 10 % of the standard promotion's generate
            self.say(f"[{kind}] promojobs: code_export {n:,} codes of the rule promotion")
            runs = self.exports(service, promotion, n, plan.export_runs)
            exp = runs.fastest
            what = f"rule promotion code_export {_n(n)} codes + download [{kind}]"
            row = _export_row(what, kind, runs, n)
            row.details.insert(
                0,
                f"job {exp.job_seconds:.2f} s + download {exp.total_seconds - exp.job_seconds:.2f} s; "
                f"worker peak RSS {mib(runs.peak_rss_kib)}",
            )
            self.add(at_least(row, 0.5))
        finally:
            for service in list(alive):
                self._drop(service, alive)

    def _drop(self, service: Service, alive: list[Service]) -> None:
        """Stop the service and drop its database."""
        alive.remove(service)
        self._stop(service)
        self.dbs.drop(service.db)

    def big(self) -> None:
        plan = self.plan
        n = plan.big_codes
        assert n is not None
        generated: dict[int, Generated] = {}
        for workers in (1, 2):
            db = self.dbs.create("postgresql", f"big{workers}w")
            service = self.services.start(db, workers=workers)
            try:
                self.say(
                    f"[postgresql] promojobs: code_generate {n:,} codes (length {plan.big_length}), "
                    f"{workers} worker(s)"
                )
                promotion = service.client.create_promotion("big")
                generated[workers] = self.generate(service, promotion, n, plan.big_length)
                if workers == 2:
                    self.say(f"[postgresql] promojobs: code_export {n:,} codes, then psql \\copy")
                    # One run each: 10M codes take ten seconds a side, and a run that long evens out.
                    runs = self.exports(service, promotion, n, 1)
                    exp = runs.fastest
            finally:
                self._stop(service)
            self.dbs.drop(db)
        one, two = generated[1], generated[2]
        row = Row(
            f"code_generate {_n(n)} codes, length {plan.big_length}, 1 worker [postgresql]",
            seconds_and_rate(one.seconds, n),
            "",
            None,
        )
        row.details.append(
            f"worker CPU {one.worker_cpu:.1f} s, PostgreSQL CPU {one.server_cpu:.1f} s, "
            f"worker peak RSS {mib(one.worker_rss_kib)}"
        )
        self.add(row)
        row = Row(
            f"code_generate {_n(n)} codes, length {plan.big_length}, 2 workers vs 1 [postgresql]",
            seconds_and_rate(two.seconds, n),
            "1 worker: " + seconds_and_rate(one.seconds, n),
            one.seconds / two.seconds,
            target="> 1",
            passed=two.seconds < one.seconds,
        )
        row.details.append(
            f"2 workers: CPU {two.worker_cpu:.1f} s (both), PostgreSQL CPU {two.server_cpu:.1f} s; "
            "ratio = speedup"
        )
        self.add(row)
        row = _export_row(
            f"code_export {_n(n)} codes, POST→completed + download [postgresql]", "postgresql", runs, n
        )
        row.details.append(
            f"job {exp.job_seconds:.2f} s + download {exp.total_seconds - exp.job_seconds:.2f} s, "
            f"{exp.size / 1e6:.0f} MB; worker CPU {exp.worker_cpu:.1f} s"
        )
        self.add(at_least(row, 0.5))
        small = self.export_rss.get(("postgresql", plan.codes))
        row = Row(
            f"export worker peak RSS, {_n(n)} vs {_n(plan.codes)} codes [postgresql]",
            mib(exp.worker_rss_kib),
            f"{_n(plan.codes)}: {mib(small)}" if small else "",
            exp.worker_rss_kib / small if small else None,
        )
        self.add(at_most(row, 1.2))


def _tool_name(kind: Kind) -> str:
    return "sqlite3 -csv" if kind == "sqlite" else "psql \\copy"


def _export_row(what: str, kind: Kind, runs: ExportRuns, n: int) -> Row:
    """promojobs' export (POST to completed, plus the download) against the database's own CSV dump."""
    exp, tool = runs.fastest, runs.fastest_tool
    row = Row(
        what,
        seconds_and_rate(exp.total_seconds, n),
        f"{_tool_name(kind)}: " + seconds_and_rate(tool.seconds, n),
        tool.seconds / exp.total_seconds,
    )
    if order := runs.runs(_tool_name(kind)):
        row.details.append(order)
    return row


def _pg_sessions(db: ScratchDb) -> int:
    """Sessions PostgreSQL has seen on the database so far (connections opened; 0 on SQLite)."""
    if db.kind != "postgresql":
        return 0
    value = db.scalar("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
    return int(value) if isinstance(value, int) else 0


def _wait_idle(proc: Proc, timeout: float = 60.0) -> None:
    """Wait until the process uses (almost) no CPU for half a second."""
    deadline = time.monotonic() + timeout
    before = proc.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = proc.cpu_seconds()
        if now - before < 0.03:
            return
        before = now


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def environment_ok() -> list[str]:
    problems = []
    if not load.wrk_available():
        problems.append("wrk is not installed (make bench installs it: apt-get install -y wrk)")
    if shutil.which("curl") is None:
        problems.append("curl is not installed (make bench installs it: apt-get install -y curl)")
    if shutil.which("sqlite3") is None:
        problems.append("the sqlite3 command-line tool is not installed (apt-get install -y sqlite3)")
    if not Path("/usr/bin/time").exists():
        problems.append("GNU time is not installed (apt-get install -y time)")
    if shutil.which("psql") is None:
        problems.append("psql is not installed")
    if os.cpu_count() is None:
        problems.append("cannot tell the number of cores")
    return problems


def _count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines
