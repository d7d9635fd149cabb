"""promojobs as real processes: ``promojobs serve --no-worker`` plus N ``promojobs worker`` processes on one
scratch database, configured only through ``PROMOJOBS_*`` variables, as an operator would run it."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from bench.client import Client
from bench.dbs import ScratchDb
from bench.procs import BIN, REPO, Proc, Processes, free_port

# Idle workers look for work this often. The default (1 s) is job pickup latency, not throughput; on
# PostgreSQL workers are woken by NOTIFY anyway, on SQLite they poll.
WORKER_POLL_SECONDS = "0.05"
BENCH_RATE_LIMIT = "1000000000"


@dataclass
class Identity:
    client_id: str = field(default_factory=lambda: "bench-" + secrets.token_hex(4))
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    signing_key: str = field(default_factory=lambda: secrets.token_hex(32))


@dataclass
class Service:
    db: ScratchDb
    data_dir: Path
    serve: Proc
    workers: list[Proc]
    base_url: str
    client: Client


class Services:
    def __init__(self, procs: Processes, work_dir: Path, identity: Identity) -> None:
        self.procs = procs
        self.work_dir = work_dir
        self.identity = identity

    def env(self, db: ScratchDb, data_dir: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMOJOBS_")}
        env.update(
            PROMOJOBS_DATABASE_URL=db.url,
            PROMOJOBS_DATA_DIR=str(data_dir),
            PROMOJOBS_BOOTSTRAP_CLIENT_ID=self.identity.client_id,
            PROMOJOBS_BOOTSTRAP_CLIENT_SECRET=self.identity.client_secret,
            PROMOJOBS_SIGNING_KEY=self.identity.signing_key,
            PROMOJOBS_POLL_SECONDS=WORKER_POLL_SECONDS,
            # One store is the whole load here, above the default per-store limit of 5,000 requests/s:
            # the limit stays on (its check is part of every request) but out of reach.
            PROMOJOBS_RATE_LIMIT_PER_SECOND=BENCH_RATE_LIMIT,
            PROMOJOBS_RATE_LIMIT_BURST=BENCH_RATE_LIMIT,
            PYTHONPATH=str(REPO),
        )
        env.update(extra)
        return env

    def start(self, db: ScratchDb, workers: int) -> Service:
        data_dir = self.work_dir / f"data-{db.name or (db.path.stem if db.path else 'x')}"
        port = free_port()
        serve = self.procs.start(
            "serve",
            [str(BIN / "promojobs"), "serve", "--no-worker", "--port", str(port)],
            self.env(db, data_dir),
        )
        base_url = f"http://127.0.0.1:{port}"
        serve.wait_for_http(f"{base_url}/healthz")
        client = Client(base_url, self.identity.client_id, self.identity.client_secret)
        service = Service(db, data_dir, serve, [], base_url, client)
        self.add_workers(service, workers)
        return service

    def add_workers(self, service: Service, count: int) -> list[Proc]:
        new = [
            self.procs.start(
                "worker", [str(BIN / "promojobs"), "worker"], self.env(service.db, service.data_dir)
            )
            for _ in range(count)
        ]
        for worker in new:
            worker.wait_for_log("started")
        service.workers += new
        return new

    def stop_workers(self, service: Service) -> None:
        for worker in service.workers:
            worker.stop()
        service.workers.clear()

    def stop(self, service: Service) -> None:
        self.stop_workers(service)
        service.client.close()
        service.serve.stop()

    def start_uvicorn(
        self, name: str, app: str, env: dict[str, str], workers: int, factory: bool
    ) -> tuple[Proc, str]:
        """Serve an app with the uvicorn command line; promojobs (``factory``, one worker) through its HTTP
        edge as ``promojobs serve`` does (bench/serve_edge.py), so its cost is in the ratio."""
        port = free_port()
        if factory and workers == 1:
            argv = [str(BIN / "python"), str(REPO / "bench" / "serve_edge.py"), app, "--port", str(port)]
            proc = self.procs.start(name, argv, env)
            base_url = f"http://127.0.0.1:{port}"
            proc.wait_for_http(f"{base_url}/healthz")
            return proc, base_url
        argv = [str(BIN / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port)]
        argv += [
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
            "--app-dir",
            str(REPO),
        ]
        if factory:
            argv.append("--factory")
        proc = self.procs.start(name, argv, env)
        base_url = f"http://127.0.0.1:{port}"
        proc.wait_for_http(f"{base_url}/healthz" if factory else f"{base_url}/jobs")
        return proc, base_url
