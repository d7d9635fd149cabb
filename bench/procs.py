"""Processes the benchmark starts (promojobs serve and workers, uvicorn, py-spy) and what it reads of them:
peak RSS (VmHWM) and CPU time from /proc. Every process is stopped by its own pid, never by name."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TIME = "/usr/bin/time"  # GNU time (Debian package "time")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_kib(pid: int) -> int:
    """VmHWM: the most resident memory the process ever had, in KiB."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for pid {pid}")


def cpu_seconds(pid: int, with_children: bool = False) -> float:
    """User + system CPU time of a process (plus its waited-for children), in seconds."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime, stime, cutime, cstime are fields 14..17.
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


PG_BACKGROUND = ("checkpointer", "walwriter", "background writer")


def postgres_cpu_seconds(cluster: str, database: str) -> float:
    """CPU time of the PostgreSQL processes working for ``database``: its backends, and the cluster's
    checkpointer, WAL writer and background writer. ``cluster`` is the process-title prefix of the cluster
    (e.g. ``postgres: 15/main: ``). Other databases' backends (other users of the machine) are left out;
    a backend that exits during the measurement is lost, so only deltas over long-lived connections mean
    anything."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                title = handle.read().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith(cluster):
                continue
            rest = title[len(cluster) :]
            if rest.startswith(PG_BACKGROUND) or f" {database} " in f" {rest} ":
                total += cpu_seconds(int(entry))
        except (OSError, ValueError):
            continue
    return total


def load_average() -> float:
    with open("/proc/loadavg") as handle:
        return float(handle.read().split()[0])


@dataclass
class Proc:
    """A child process with its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def peak_rss_kib(self) -> int:
        return peak_rss_kib(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 60.0, sig: int = signal.SIGTERM) -> None:
        if not self.alive():
            return
        self.popen.send_signal(sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)

    def wait_for_log(self, needle: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            if needle in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.02)
        raise RuntimeError(f"{self.name}: {needle!r} not seen in {timeout} s:\n{self.log_tail()}")

    def wait_for_http(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: {url} did not answer in {timeout} s:\n{self.log_tail()}")


class Processes:
    """Starts processes and remembers them, so a failed run still stops everything it started."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Proc] = []
        self._count = 0

    def start(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> Proc:
        self._count += 1
        log_path = self.log_dir / f"{self._count:02d}-{name}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                cwd=REPO,
            )
        proc = Proc(name, popen, log_path)
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            proc.stop(timeout=20)
        self.started.clear()


def run_measured(argv: list[str], stdout_path: Path | None = None) -> tuple[float, int]:
    """Run a command to completion; return its wall seconds and peak RSS in KiB.

    The peak RSS comes from GNU time (``/usr/bin/time -f %M``): a child forked from this
    (large) Python process would report the parent's memory, since Linux keeps the pre-exec high-water mark.
    """
    rss_file = Path(tempfile.mkstemp(prefix="bench-rss-")[1])
    out = stdout_path.open("wb") if stdout_path is not None else None
    try:
        started = time.perf_counter()
        result = subprocess.run(
            [TIME, "-f", "%M", "-o", str(rss_file), *argv],
            stdout=out if out is not None else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(
                f"{argv[0]} failed ({result.returncode}): {result.stderr.decode(errors='replace')}"
            )
        rss = int(rss_file.read_text().split()[-1])
    finally:
        if out is not None:
            out.close()
        rss_file.unlink(missing_ok=True)
    return seconds, rss
