"""Credentials across restarts and processes: a revoked bootstrap client stays revoked when ``serve``
starts again with the same environment, and a revocation reaches every API process within 1 s.

Real ``promojobs serve`` processes; revocations through the real ``promojobs clients revoke`` command or
the call it makes.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from promojobs import bootstrap
from promojobs.config import Settings
from tests.processes import PROMOJOBS, BootstrapClient, Fleet, process_env
from tests.served import start_serve

CLIENT_ID = "ops-bootstrap"
SECRET = "bootstrap-secret-for-tests-0123"  # noqa: S105 (a test fixture, not a credential)
BOOTSTRAP = BootstrapClient(CLIENT_ID, SECRET)
REVOCATION_BOUND_SECONDS = 1.0  # PROMOJOBS_TOKEN_CACHE_SECONDS: its default, which is also its maximum


def _revoke(database_url: str, data_dir: Path, client_id: str) -> None:
    result = subprocess.run(
        [PROMOJOBS, "clients", "revoke", client_id],
        env=process_env(database_url, data_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_revoked_bootstrap_client__stays_revoked_when_serve_restarts_with_the_same_environment(
    database_url: str, tmp_path: Path
) -> None:
    first = start_serve(database_url, tmp_path / "data", BOOTSTRAP.settings, worker=False, name="first")
    try:
        assert BOOTSTRAP.grant(first.base_url).status_code == 200
    finally:
        first.stop()
    _revoke(database_url, tmp_path / "data", CLIENT_ID)
    again = start_serve(database_url, tmp_path / "data", BOOTSTRAP.settings, worker=False, name="again")
    try:
        refused = BOOTSTRAP.grant(again.base_url)
    finally:
        again.stop()
    assert refused.status_code == 401, refused.text
    assert f"bootstrap client {CLIENT_ID} created" in first.log()
    assert f"bootstrap client {CLIENT_ID} is revoked and stays revoked" in again.log()
    assert SECRET not in first.log() + again.log()


def test_bootstrap_secret_changed_in_the_environment__does_not_replace_the_stored_secret(
    database_url: str, tmp_path: Path
) -> None:
    first = start_serve(database_url, tmp_path / "data", BOOTSTRAP.settings, worker=False, name="first")
    first.stop()
    changed = BootstrapClient(CLIENT_ID, SECRET + "-other")
    again = start_serve(database_url, tmp_path / "data", changed.settings, worker=False, name="again")
    try:
        assert changed.grant(again.base_url).status_code == 401
        assert BOOTSTRAP.grant(again.base_url).status_code == 200
    finally:
        again.stop()
    assert f"bootstrap client {CLIENT_ID} already exists with another secret" in again.log()


def test_revocation_from_the_command_line__is_effective_in_every_api_process_within_1_s(
    pg_database_url: str, tmp_path: Path
) -> None:
    fleet = Fleet(pg_database_url, tmp_path, BOOTSTRAP.settings)
    try:
        apis = [fleet.api(), fleet.api()]
        response = BOOTSTRAP.grant(apis[0])
        assert response.status_code == 200, response.text
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        for base_url in apis:  # each process has now validated the token and remembers it
            assert httpx.get(f"{base_url}/v2/promotions", headers=headers, timeout=30).status_code == 200
        # Revoked as `promojobs clients revoke` does (the same call), but from here: starting the command
        # takes longer than the bound under test.
        admin = bootstrap.build(Settings(database_url=pg_database_url, data_dir=tmp_path / "admin"))
        try:
            assert admin.auth.revoke_client(CLIENT_ID)
        finally:
            admin.database.dispose()
        revoked_at = time.monotonic()
        # Not a synchronisation: the bound itself. Every process validated the token before the revocation
        # committed, so by now no process may still trust it, however slow this machine is.
        time.sleep(max(0.0, revoked_at + REVOCATION_BOUND_SECONDS - time.monotonic()))
        for base_url in apis:
            answer = httpx.get(f"{base_url}/v2/promotions", headers=headers, timeout=30)
            assert answer.status_code == 401, (base_url, answer.text)
    finally:
        fleet.close()
