"""HTTP load with wrk: a short warm-up, then a bounded run at a fixed number of connections."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent / "wrk_report.lua"
CONNECTIONS = 32
THREADS = 2
WARMUP_SECONDS = 2


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    response_bytes: int
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def short(self) -> str:
        if self.requests == 0:
            return f"no answer within {self.seconds:.0f} s"
        return f"{self.rps:,.0f} req/s, p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms"


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _wrk(url: str, seconds: int, headers: dict[str, str], connections: int = CONNECTIONS) -> LoadResult:
    argv = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(LUA)]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(url)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    return LoadResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        response_bytes=int(data["bytes"]),
        errors=int(data["status_errors"]) + int(data["socket_errors"]),
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


def measure(
    url: str,
    seconds: int,
    headers: dict[str, str] | None = None,
    warmup: int = WARMUP_SECONDS,
    connections: int = CONNECTIONS,
) -> LoadResult:
    """Warm up for a moment (connections, caches, lazy imports), then measure for ``seconds``."""
    if warmup:
        _wrk(url, warmup, headers or {}, connections)
    result = _wrk(url, seconds, headers or {}, connections)
    if result.errors:
        raise RuntimeError(f"{url}: {result.errors} non-2xx responses or socket errors under load")
    return result
