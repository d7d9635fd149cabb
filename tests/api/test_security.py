"""The claims of docs/security.md that no other test checks: how secrets are stored, where the signing key
comes from, what a 500 logs, and that a wrong client id costs the same work as a wrong secret."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import stat
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from sqlalchemy import text

from promojobs.services import auth as auth_service
from tests.support import LiveServer

ARGON2ID = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


def _stored_secret_hash(server: LiveServer, client_id: str) -> str:
    with server.container.database.read() as conn:
        row = conn.execute(
            text("SELECT secret_hash FROM clients WHERE client_id = :id"), {"id": client_id}
        ).scalar_one()
    return str(row)


def test_client_secret__is_stored_only_as_an_argon2id_hash(server: LiveServer) -> None:
    client = server.container.auth.create_client("store-a")
    stored = _stored_secret_hash(server, client.client_id)
    assert ARGON2ID.match(stored), stored
    assert client.client_secret not in stored
    # The argon2 library itself, not promojobs, confirms the hash is of this secret and no other.
    assert PasswordHasher().verify(stored, client.client_secret)
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(stored, client.client_secret + "x")
    with server.container.database.read() as conn:
        for table in ("clients", "stores", "tokens"):
            for row in conn.execute(text(f"SELECT * FROM {table}")).all():  # noqa: S608 (constant names)
                assert all(client.client_secret not in str(value) for value in row), table


class CountingHasher:
    """The real argon2 hasher, counting verifications (the slow step) and the hashes they were made with."""

    def __init__(self, real: PasswordHasher) -> None:
        self.real = real
        self.verified: list[str] = []

    def verify(self, hash: str, password: str) -> bool:
        self.verified.append(hash)
        return self.real.verify(hash, password)

    def hash(self, password: str) -> str:
        return self.real.hash(password)


def _argon2_cost(encoded: str) -> tuple[str, ...]:
    match = ARGON2ID.match(encoded)
    assert match, encoded
    return match.groups()


def test_wrong_client_id__costs_the_same_argon2_verification_as_a_wrong_secret(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No user enumeration by timing, checked without a clock: each failure runs exactly one argon2
    verification, against a hash of the same algorithm and cost parameters."""
    client = server.container.auth.create_client("store-a")
    counting = CountingHasher(auth_service._hasher)
    monkeypatch.setattr(auth_service, "_hasher", counting)

    def attempt(client_id: str, secret: str) -> list[str]:
        counting.verified.clear()
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        response = httpx.post(f"{server.base_url}/oauth/access_token", data=form, timeout=60)
        assert response.status_code == 401, response.text
        return list(counting.verified)

    wrong_secret = attempt(client.client_id, "wrong")
    unknown_client = attempt("no-such-client", "wrong")
    assert wrong_secret == [_stored_secret_hash(server, client.client_id)]
    assert len(unknown_client) == 1
    assert _argon2_cost(unknown_client[0]) == _argon2_cost(wrong_secret[0])


def test_signing_key__is_random_per_installation_in_data_signing_key_mode_0600_when_not_set(
    make_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMOJOBS_SIGNING_KEY", raising=False)
    server: LiveServer = make_server()
    key_file = server.container.settings.data_dir / "signing.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = key_file.read_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", key), key  # 256 random bits

    api = server.api()
    promotion = api.create_promotion()
    job = api.create_job(promotion, "code_export").json()["data"]
    api.wait_for(promotion, job["id"], "completed")
    href = api.file(promotion, job["id"]).json()["href"]
    query = {name: values[0] for name, values in parse_qs(urlsplit(href).query).items()}
    # The link is signed with that file's key: HMAC-SHA256 over the job id and the expiry.
    message = f"{job['id']}\n{query['expires']}".encode()
    assert query["signature"] == hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
    assert httpx.get(href, timeout=60).status_code == 200

    # Another installation makes its own key, which does not accept this link.
    other: LiveServer = make_server()
    assert (other.container.settings.data_dir / "signing.key").read_text().strip() != key
    assert httpx.get(other.base_url + urlsplit(href).path + "?" + urlsplit(href).query).status_code == 403


def test_signing_key__from_the_setting_writes_no_key_file(make_server: Any) -> None:
    server: LiveServer = make_server(signing_key="operator-chosen-key")
    assert server.container.settings.data_dir.is_dir()
    assert not (server.container.settings.data_dir / "signing.key").exists()


def test_a_500__logs_the_exception_with_the_request_id_the_response_carries(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A real internal error: a promotion row damaged behind the service's back (its schema is not JSON)
    cannot be rendered. The client gets the request id and nothing of the cause; the log has both."""
    api = server.api()
    promotion = api.create_promotion()
    with server.container.database.write() as conn:
        conn.execute(
            text("UPDATE promotions SET schema_json = :broken WHERE uuid = :uuid"),
            {"broken": "{not json", "uuid": promotion},
        )
    with caplog.at_level(logging.ERROR, logger="promojobs"):
        response = api.http.get(f"/v2/promotions/{promotion}")
    assert response.status_code == 500
    (error,) = response.json()["errors"]
    assert error["status"] == "500" and error["title"] == "Internal Server Error"
    request_id = error["request_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
    assert "not json" not in response.text and "Traceback" not in response.text
    logged = [record for record in caplog.records if request_id in record.getMessage()]
    assert len(logged) == 1, [record.getMessage() for record in caplog.records]
    assert logged[0].levelno == logging.ERROR and logged[0].exc_info is not None
    assert promotion in logged[0].getMessage()  # the path, to find the request
