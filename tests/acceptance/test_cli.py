"""The promojobs command as an operator uses it: first start, bootstrap client, clients create / revoke."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import httpx

from tests.processes import PROMOJOBS, process_env
from tests.support import access_token, client_credentials_grant, free_port

SECRET = "bootstrap-value-for-tests"  # noqa: S105 (a test fixture, not a credential)


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMOJOBS, *args], env=env, capture_output=True, text=True, timeout=120)


def _serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen([PROMOJOBS, "serve", "--port", str(port)], env=env, stdout=out, stderr=out)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(log.read_text())


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=60)


def test_first_start__writes_a_private_credentials_file_and_prints_only_its_path(
    database_url: str, tmp_path: Path
) -> None:
    env = process_env(database_url, tmp_path / "data")
    process, base_url = _serve(env, tmp_path / "serve.log")
    try:
        credentials_file = tmp_path / "data" / "bootstrap-client.json"
        credentials = json.loads(credentials_file.read_text())
        assert stat.S_IMODE(os.stat(credentials_file).st_mode) == 0o600
        granted = client_credentials_grant(base_url, credentials["client_id"], credentials["client_secret"])
        assert granted.status_code == 200, granted.text
    finally:
        _stop(process)
    log = (tmp_path / "serve.log").read_text()
    assert str(credentials_file) in log
    assert credentials["client_secret"] not in log


def test_bootstrap_client__from_the_environment_exists_after_start(database_url: str, tmp_path: Path) -> None:
    env = process_env(
        database_url,
        tmp_path / "data",
        bootstrap_client_id="ops-client",
        bootstrap_client_secret=SECRET,
    )
    process, base_url = _serve(env, tmp_path / "serve.log")
    try:
        assert client_credentials_grant(base_url, "ops-client", SECRET).status_code == 200
        assert not (tmp_path / "data" / "bootstrap-client.json").exists()
    finally:
        _stop(process)
    assert SECRET not in (tmp_path / "serve.log").read_text()


def test_clients_create_and_revoke(database_url: str, tmp_path: Path) -> None:
    env = process_env(
        database_url, tmp_path / "data", bootstrap_client_id="ops", bootstrap_client_secret="x" * 20
    )
    created = _run(["clients", "create", "--store", "acme"], env)
    assert created.returncode == 0, created.stderr
    fields = dict(line.split(":", 1) for line in created.stdout.splitlines() if ":" in line)
    client_id, secret = fields["client_id"].strip(), fields["client_secret"].strip()
    assert fields["store"].strip() == "acme"

    process, base_url = _serve(env, tmp_path / "serve.log")
    try:
        token = access_token(base_url, client_id, secret)
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base_url}/v2/promotions", headers=headers).status_code == 200
        revoked = _run(["clients", "revoke", client_id], env)
        assert revoked.returncode == 0, revoked.stderr
        # Other processes may remember a validated token for a few seconds; then it is refused for good.
        deadline = time.monotonic() + 60
        while (status := httpx.get(f"{base_url}/v2/promotions", headers=headers).status_code) == 200:
            assert time.monotonic() < deadline, "the revoked client's token kept working"
            time.sleep(0.1)
        assert status == 401
        assert client_credentials_grant(base_url, client_id, secret).status_code == 401
    finally:
        _stop(process)
    assert _run(["clients", "revoke", "no-such-client"], env).returncode != 0


def test_serve__reports_each_promojobs_variable_that_is_not_a_setting(
    database_url: str, tmp_path: Path
) -> None:
    env = process_env(database_url, tmp_path / "data", export_dirr=tmp_path / "x", rate_limit_bursts=1)
    process, _ = _serve(env, tmp_path / "serve.log")
    _stop(process)
    log = (tmp_path / "serve.log").read_text()
    assert (
        "WARNING promojobs: PROMOJOBS_EXPORT_DIRR is not a promojobs setting and is ignored; "
        "did you mean PROMOJOBS_EXPORT_DIR?"
    ) in log
    assert "PROMOJOBS_RATE_LIMIT_BURSTS is not a promojobs setting and is ignored; did you mean " in log
    assert "PROMOJOBS_DATA_DIR is not" not in log and "PROMOJOBS_DATABASE_URL is not" not in log
