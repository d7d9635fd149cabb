"""The HTTP client commands (``promojobs promotions|jobs …``) as a user runs them: the real command in a
subprocess against a real ``promojobs serve``, credentials from the bootstrap file the server wrote."""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.processes import PROMOJOBS, process_env
from tests.served import Served, start_serve
from tests.support import PostgresDatabases, access_token, bearer_http, database_url_for

PROMOTION_ARGS = ["--name", "Summer", "--amount", "1000", "--start", "2026-01-01", "--end", "2030-01-01"]


def _client_env(served: Served, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMOJOBS_")}
    env["PROMOJOBS_URL"] = served.base_url
    env["PROMOJOBS_DATA_DIR"] = str(served.data_dir)  # where serve wrote bootstrap-client.json
    env.update(extra)
    return env


def _cli(served: Served, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMOJOBS, *args], env=_client_env(served, **env), capture_output=True, text=True, timeout=300
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def _one_error_line(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _api(served: Served) -> httpx.Client:
    saved = json.loads((served.data_dir / "bootstrap-client.json").read_text())
    token = access_token(served.base_url, saved["client_id"], saved["client_secret"])
    return bearer_http(served.base_url, token)


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    server = start_serve(database_url, tmp_path / "data")
    yield server
    server.stop()


@pytest.fixture
def sqlite_url(tmp_path: Path, pg_databases: PostgresDatabases) -> Iterator[str]:
    yield from database_url_for("sqlite", tmp_path, pg_databases)


@pytest.fixture
def idle(sqlite_url: str, tmp_path: Path) -> Iterator[Served]:
    """A server without a worker: its jobs stay pending until cancelled, so no test races the worker."""
    server = start_serve(sqlite_url, tmp_path / "idle", worker=False)
    yield server
    server.stop()


def test_create_generate_wait_list_export__plain_lines_and_the_whole_file(
    served: Served, tmp_path: Path
) -> None:
    promotion = _ok(_cli(served, "promotions", "create", *PROMOTION_ARGS)).strip()
    generated = _ok(
        _cli(
            served,
            "jobs",
            "generate",
            promotion,
            "--count",
            "30000",
            "--prefix",
            "SUM-",
            "--max-uses",
            "2",
            "--wait",
            "--interval",
            "0.05",
        )
    )
    lines = generated.splitlines()
    assert lines[-1].endswith("code_generate completed: 30,000 of 30,000 codes (100 %)"), generated
    assert len(lines) == len(set(lines))  # one line per change, never the same line twice
    assert all(
        re.fullmatch(r"job \S+ code_generate (pending|processing|completed).*", line) for line in lines
    )

    listed = _ok(_cli(served, "promotions", "list")).splitlines()
    assert listed[0].split("\t") == ["id", "name", "type", "enabled", "codes"]
    assert listed[1].split("\t") == [promotion, "Summer", "fixed_discount", "yes", "30,000"]

    output = tmp_path / "codes.csv"
    exported = _ok(_cli(served, "jobs", "export", promotion, "--output", str(output), "--interval", "0.05"))
    assert exported.splitlines()[-1] == f"wrote {output.stat().st_size:,} bytes to {output}"
    with output.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["code", "uses", "max_uses", "consume_unit", "user", "created_at"]
    assert len(rows) == 30_001 and len({row[0] for row in rows[1:]}) == 30_000
    assert all(row[0].startswith("SUM-") and row[2] == "2" for row in rows[1:])

    completed = json.loads(
        _ok(
            _cli(
                served, "jobs", "list", promotion, "--type", "code_export", "--status", "completed", "--json"
            )
        )
    )
    assert len(completed) == 1 and completed[0]["job_type"] == "code_export"
    again = tmp_path / "again.csv"
    _ok(_cli(served, "jobs", "download", promotion, completed[0]["id"], "-o", str(again)))
    assert again.read_bytes() == output.read_bytes()


def test_json__one_document_per_change_and_machine_readable_lists(idle: Served) -> None:
    promotion = json.loads(_ok(_cli(idle, "promotions", "create", *PROMOTION_ARGS, "--json")))
    assert promotion["type"] == "promotion" and promotion["name"] == "Summer"
    job = json.loads(_ok(_cli(idle, "jobs", "generate", promotion["id"], "--count", "5", "--json")))
    assert job["status"] == "pending" and job["parameters"]["number_of_codes"] == 5
    listed = json.loads(_ok(_cli(idle, "promotions", "list", "--json")))
    assert [(p["id"], p["codes_total"]) for p in listed] == [(promotion["id"], 0)]
    cancelled = json.loads(_ok(_cli(idle, "jobs", "cancel", promotion["id"], job["id"], "--json")))
    assert cancelled["status"] == "cancelled"
    watched = _cli(idle, "jobs", "watch", promotion["id"], job["id"], "--json")
    assert watched.returncode == 1
    assert [json.loads(line)["status"] for line in watched.stdout.splitlines()] == ["cancelled"]


def test_refusals__exit_1_with_the_elastic_path_error_on_one_line(idle: Served) -> None:
    promotion = _ok(_cli(idle, "promotions", "create", *PROMOTION_ARGS)).strip()
    assert _one_error_line(_cli(idle, "jobs", "list", "no-such-promotion")) == (
        "Error: 404 Not Found: promotion not found"
    )
    too_many = _one_error_line(_cli(idle, "jobs", "generate", promotion, "--count", "2000000"))
    assert (
        too_many.startswith("Error: 422 Code space too small: ") and "Use code_length 9 or more." in too_many
    )
    _ok(_cli(idle, "jobs", "generate", promotion, "--count", "10"))
    assert _one_error_line(_cli(idle, "jobs", "generate", promotion, "--count", "10")).startswith(
        "Error: 400 Too many jobs"
    )
    wrong = _cli(idle, "promotions", "list", PROMOJOBS_CLIENT_ID="nobody", PROMOJOBS_CLIENT_SECRET="wrong")  # noqa: S106
    assert _one_error_line(wrong).startswith("Error: 401 ")
    unreachable = _cli(idle, "promotions", "list", PROMOJOBS_URL="http://127.0.0.1:9")
    assert _one_error_line(unreachable).startswith("Error: cannot reach http://127.0.0.1:9")


def test_usage_errors__exit_2(idle: Served) -> None:
    assert _cli(idle, "jobs", "generate", "p").returncode == 2  # --count is required
    assert _cli(idle, "jobs", "generate", "p", "--count", "5", "--length", "7").returncode == 2
    assert _cli(idle, "jobs", "list", "p", "--status", "done").returncode == 2
    remote = _cli(idle, "promotions", "list", PROMOJOBS_URL="https://promos.example.com")
    assert remote.returncode == 2 and "PROMOJOBS_CLIENT_ID" in remote.stderr  # no file fallback off this host
    assert "Traceback" not in remote.stderr


def test_watch__a_cancelled_job_exits_1(idle: Served) -> None:
    promotion = _ok(_cli(idle, "promotions", "create", *PROMOTION_ARGS)).strip()
    job = _ok(_cli(idle, "jobs", "generate", promotion, "--count", "100")).strip()
    watcher = subprocess.Popen(
        [PROMOJOBS, "jobs", "watch", promotion, job, "--interval", "0.05"],
        env=_client_env(idle),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watcher.stdout is not None
    assert watcher.stdout.readline().strip() == f"job {job} code_generate pending: 0 of 100 codes (0 %)"
    _ok(_cli(idle, "jobs", "cancel", promotion, job))
    out, err = watcher.communicate(timeout=120)
    assert watcher.returncode == 1
    assert out.strip() == f"job {job} code_generate cancelled: 0 of 100 codes (0 %)"
    assert err.strip() == f"Error: job {job} code_generate cancelled: 0 of 100 codes (0 %)"


@pytest.mark.parametrize("cancel", [False, True], ids=["stop-watching", "cancel-on-interrupt"])
def test_ctrl_c__stops_watching_and_with_the_flag_cancels(idle: Served, cancel: bool) -> None:
    promotion = _ok(_cli(idle, "promotions", "create", *PROMOTION_ARGS)).strip()
    job = _ok(_cli(idle, "jobs", "generate", promotion, "--count", "100")).strip()
    flags = ["--cancel-on-interrupt"] if cancel else []
    watcher = subprocess.Popen(
        [PROMOJOBS, "jobs", "watch", promotion, job, "--interval", "0.05", *flags],
        env=_client_env(idle),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watcher.stdout is not None
    assert "pending" in watcher.stdout.readline()  # it is watching
    watcher.send_signal(signal.SIGINT)
    _out, err = watcher.communicate(timeout=120)
    assert "Traceback" not in err
    with _api(idle) as api:
        status = api.get(f"/v2/promotions/{promotion}/jobs/{job}").json()["data"]["status"]
    if cancel:
        assert watcher.returncode == 1 and status == "cancelled"
        assert "interrupted: cancel requested" in err
    else:
        assert watcher.returncode == 130 and status == "pending"
        assert f"promojobs jobs watch {promotion} {job}" in err


def test_on_a_terminal__a_progress_bar_with_rate_and_time_left(sqlite_url: str, tmp_path: Path) -> None:
    served = start_serve(sqlite_url, tmp_path / "data")
    try:
        _generate_on_a_terminal(served)
    finally:
        served.stop()


def _generate_on_a_terminal(served: Served) -> None:
    promotion = _ok(_cli(served, "promotions", "create", *PROMOTION_ARGS)).strip()
    text = _on_a_terminal(
        served, "jobs", "generate", promotion, "--count", "20000", "--wait", "--interval", "0.05"
    )
    assert "20,000/20,000" in text and "100%" in text and "ETA 0:00" in text
    assert re.search(r"\d[\d,]* codes/s", text), text
    assert "━" in text  # rich's bar
    output = served.data_dir / "on-a-terminal.csv"
    text = _on_a_terminal(served, "jobs", "export", promotion, "--output", str(output), "--interval", "0.05")
    size_kb = output.stat().st_size / 1000
    assert f"{size_kb:.1f}/{size_kb:.1f} kB" in text, text  # bytes downloaded of the size
    assert f"wrote {output.stat().st_size:,} bytes" in text


def _on_a_terminal(served: Served, *args: str) -> str:
    """Run the command with a pseudo-terminal as stdin, stdout and stderr; everything it wrote."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [PROMOJOBS, *args],
        env=_client_env(served, COLUMNS="120"),
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the command exited and closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    assert process.wait(timeout=120) == 0, screen.decode(errors="replace")
    return screen.decode(errors="replace")


def test_version_and_clients_list(idle: Served) -> None:
    version = subprocess.run([PROMOJOBS, "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and re.fullmatch(r"promojobs, version \d+\.\d+\.\d+\S*\n", version.stdout)
    saved = json.loads((idle.data_dir / "bootstrap-client.json").read_text())
    env = process_env(idle.database_url, idle.data_dir / "admin")
    listed = subprocess.run(
        [PROMOJOBS, "clients", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    fields = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [(f[0], f[1], f[3]) for f in fields] == [(saved["client_id"], "default", "-")]
    assert saved["client_secret"] not in listed.stdout
