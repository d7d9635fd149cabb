"""One real ``promojobs serve`` process (with its embedded worker unless told otherwise), clients and
tokens for it, and its resident memory: for the fault tests and the soak test.

``tests.processes.Fleet`` runs API processes without a worker; this one is the single-machine deployment
(``make run``) as a user starts it.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from promojobs import bootstrap
from promojobs.config import Settings
from tests.processes import PROMOJOBS, process_env
from tests.support import access_token, free_port


@dataclass
class Process:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM, then SIGKILL if it does not exit in ``timeout`` seconds; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        return self.process.returncode


@dataclass
class Served(Process):
    base_url: str
    database_url: str
    data_dir: Path

    def rss_kib(self) -> int:
        """Resident memory of the server process (VmRSS), in KiB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def tokens(self, stores: list[str]) -> dict[str, str]:
        """A new client and a token per store (clients are created straight in the database, as
        ``promojobs clients create`` does; the token comes over HTTP)."""
        container = bootstrap.build(
            Settings(database_url=self.database_url, data_dir=self.data_dir / "admin")
        )
        try:
            clients = {store: container.auth.create_client(store) for store in stores}
        finally:
            container.database.dispose()
        return {
            store: access_token(self.base_url, client.client_id, client.client_secret)
            for store, client in clients.items()
        }


def wait_ready(served: Served, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise RuntimeError(f"promojobs serve exited with {served.process.returncode}:\n{served.log()}")
        try:
            if httpx.get(f"{served.base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"promojobs serve did not become ready:\n{served.log()}")


def start_serve(
    database_url: str,
    data_dir: Path,
    settings: Mapping[str, object] | None = None,
    *,
    worker: bool = True,
    name: str = "serve",
    wait: bool = True,
) -> Served:
    """Start ``promojobs serve`` on a free port and wait until it is ready; with ``wait=False`` return at
    once, for a server that cannot be ready yet (then see ``wait_ready``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = data_dir / f"{name}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [PROMOJOBS, "serve", "--port", str(port), *([] if worker else ["--no-worker"])],
            env=process_env(database_url, data_dir, **(settings or {})),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(process, log_path, f"http://127.0.0.1:{port}", database_url, data_dir)
    if wait:
        try:
            wait_ready(served)
        except BaseException:
            served.stop()
            raise
    return served


def wait_for_log(process: Process, text: str, timeout: float = 30, count: int = 1) -> None:
    deadline = time.monotonic() + timeout
    while process.log().count(text) < count:
        if time.monotonic() > deadline or process.process.poll() is not None:
            raise AssertionError(f"{text!r} never appeared in the log:\n{process.log()}")
        time.sleep(0.05)


def spawn_worker(
    database_url: str, data_dir: Path, settings: Mapping[str, object] | None = None, name: str = "worker"
) -> Process:
    """Start ``promojobs worker``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / f"{name}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [PROMOJOBS, "worker"],
            env=process_env(database_url, data_dir, **(settings or {})),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Process(process, log_path)
