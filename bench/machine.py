"""What machine and software a run measured: cores, memory, CPU, versions."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from importlib import metadata

import psycopg

from bench.procs import REPO

PACKAGES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "pydantic",
    "sqlalchemy",
    "psycopg",
    "orjson",
    "httpx",
)


def _first_line(command: list[str]) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "not installed"
    output = (result.stdout or result.stderr).strip().splitlines()
    return output[0] if output else "unknown"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _postgres(admin_url: str | None) -> str:
    if admin_url is None:
        return "not measured (not reachable)"
    try:
        with psycopg.connect(admin_url, connect_timeout=3) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            settings = conn.execute(
                "SELECT name, current_setting(name), '' FROM pg_settings WHERE name IN "
                "('shared_buffers', 'synchronous_commit', 'max_wal_size', 'work_mem') ORDER BY name"
            ).fetchall()
    except psycopg.Error as exc:
        return f"unknown ({type(exc).__name__})"
    shown = ", ".join(f"{name}={setting}{unit or ''}" for name, setting, unit in settings)
    return f"{version[0] if version else '?'} ({shown}); over TCP 127.0.0.1:5432"


def describe(admin_url: str | None) -> list[tuple[str, str]]:
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return [
        ("cores (nproc)", str(os.cpu_count())),
        ("CPU", _cpu_model()),
        ("memory", _memory()),
        ("kernel", f"{platform.system()} {platform.release()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        (
            "SQLite",
            f"library {sqlite3.sqlite_version}, CLI {_first_line(['sqlite3', '--version']).split(' ')[0]}",
        ),
        ("PostgreSQL", _postgres(admin_url)),
        ("packages", ", ".join(versions)),
        ("load tool", _first_line(["wrk", "--version"]).split(" [")[0]),
    ]


def revision() -> str:
    """The promojobs commit measured, and whether src/ had uncommitted changes."""
    head = _first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"commit {head}" + (" with uncommitted changes in src/" if dirty else "")
