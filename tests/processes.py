"""promojobs as real processes: API servers (`promojobs serve`) and workers (`promojobs worker`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import access_token, bearer_http, client_credentials_grant, free_port

PROMOJOBS = str(Path(sys.executable).parent / "promojobs")


def process_env(database_url: str, data_dir: Path, **settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMOJOBS_")}
    env["PROMOJOBS_DATABASE_URL"] = database_url
    env["PROMOJOBS_DATA_DIR"] = str(data_dir)
    env["PROMOJOBS_SIGNING_KEY"] = "test-signing-key"
    for name, value in settings.items():
        env[f"PROMOJOBS_{name.upper()}"] = str(value)
    return env


@dataclass(frozen=True)
class BootstrapClient:
    """The API client a process creates at start from its settings (``PROMOJOBS_BOOTSTRAP_CLIENT_ID`` and
    ``_SECRET``): pass ``settings`` to the process, then ask any of them for a token."""

    client_id: str
    client_secret: str

    @property
    def settings(self) -> dict[str, object]:
        return {"bootstrap_client_id": self.client_id, "bootstrap_client_secret": self.client_secret}

    def grant(self, base_url: str) -> httpx.Response:
        """The token endpoint's answer to this client, whatever it is."""
        return client_credentials_grant(base_url, self.client_id, self.client_secret)

    def token(self, base_url: str) -> str:
        """A token over HTTP; the test fails unless it is granted (200)."""
        return access_token(base_url, self.client_id, self.client_secret)

    def http(self, base_url: str) -> httpx.Client:
        """An HTTP client of ``base_url`` with a new token of its own."""
        return bearer_http(base_url, self.token(base_url))


@dataclass
class Fleet:
    """API servers and workers sharing one database; everything started is stopped by ``close``."""

    database_url: str
    data_dir: Path
    settings: dict[str, object] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        log = self.data_dir / f"{name}-{len(self.processes)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            process = subprocess.Popen(
                [PROMOJOBS, *args],
                env=process_env(self.database_url, self.data_dir, **self.settings),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def api(self) -> str:
        port = free_port()
        self._spawn(["serve", "--no-worker", "--port", str(port)], "api")
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                    return base_url
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"API process did not start: {self.logs[-1].read_text()}")

    def worker(self) -> subprocess.Popen[bytes]:
        return self._spawn(["worker"], "worker")

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
