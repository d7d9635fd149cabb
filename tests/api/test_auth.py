"""POST /oauth/access_token and the bearer check on every promotion route.

client_credentials tokens have full access; implicit tokens are storefront tokens with no access to
promotions (403); a missing, unknown, expired or revoked token is 401 "Unable to validate access token".
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx

from promojobs.services.auth import NewClient
from tests.api.test_errors import assert_client_error, assert_ep_error
from tests.support import LiveServer, client_credentials_grant, wait_past

TOKEN_FIELDS = {"access_token", "token_type", "expires_in", "expires", "identifier"}
BEARER = "Bearer"
WRONG_SECRET = "not-the-secret"  # noqa: S105 (a deliberately wrong secret)


def request_token(server: LiveServer, **form: str) -> httpx.Response:
    return httpx.post(f"{server.base_url}/oauth/access_token", data=form, timeout=60)


def new_client(server: LiveServer, store: str = "store-a") -> NewClient:
    return server.container.auth.create_client(store)


def client_credentials(server: LiveServer, client: NewClient) -> httpx.Response:
    return client_credentials_grant(server.base_url, client.client_id, client.client_secret)


def bearer(server: LiveServer, token: str) -> httpx.Client:
    return server.http(token)


def promotion_routes(promotion: str, job: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every route behind the promotion bearer check, each with a body it would accept."""
    codes = {"type": "promotion_codes", "codes": [{"code": "AUTHCODE"}]}
    return [
        ("GET", "/v2/promotions", None),
        ("POST", "/v2/promotions", {"type": "promotion", "name": "x", "promotion_type": "fixed_discount"}),
        ("GET", f"/v2/promotions/{promotion}", None),
        ("PUT", f"/v2/promotions/{promotion}", {"type": "promotion", "id": promotion, "name": "y"}),
        ("DELETE", f"/v2/promotions/{promotion}", None),
        ("GET", f"/v2/promotions/{promotion}/codes", None),
        ("POST", f"/v2/promotions/{promotion}/codes", codes),
        ("DELETE", f"/v2/promotions/{promotion}/codes", codes),
        ("DELETE", f"/v2/promotions/{promotion}/codes/AUTHCODE", None),
        ("GET", f"/v2/promotions/{promotion}/jobs", None),
        ("POST", f"/v2/promotions/{promotion}/jobs", {"type": "promotion_job", "job_type": "code_export"}),
        ("GET", f"/v2/promotions/{promotion}/jobs/{job}", None),
        ("POST", f"/v2/promotions/{promotion}/jobs/{job}/cancel", None),
        ("GET", f"/v2/promotions/{promotion}/jobs/{job}/file", None),
    ]


def call(client: httpx.Client, method: str, path: str, data: dict[str, Any] | None) -> httpx.Response:
    return client.request(method, path, json=None if data is None else {"data": data})


def seeded_promotion(server: LiveServer) -> tuple[str, str]:
    """A promotion with a code and a completed export job, owned by store-a."""
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "AUTHCODE").status_code == 201
    job = api.create_job(promotion, "code_export").json()["data"]["id"]
    api.wait_for(promotion, job, "completed")
    return promotion, str(job)


def assert_unchanged(server: LiveServer, promotion: str) -> None:
    api = server.api()
    assert api.http.get(f"/v2/promotions/{promotion}").json()["data"]["name"] == "Summer"
    assert [c["code"] for c in api.all_codes(promotion)] == ["AUTHCODE"]
    jobs = api.http.get(f"/v2/promotions/{promotion}/jobs").json()
    assert jobs["meta"]["results"]["total"] == 1


# ---- issuing tokens -------------------------------------------------------------------------------


def test_client_credentials__returns_all_five_fields_at_the_top_level(server: LiveServer) -> None:
    before = time.time()
    response = client_credentials(server, new_client(server))
    after = time.time()
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == TOKEN_FIELDS
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 32
    assert body["token_type"] == BEARER
    assert body["identifier"] == "client_credentials"
    assert body["expires_in"] == 3600
    assert isinstance(body["expires"], int)
    # Epoch seconds, not milliseconds.
    assert int(before) + 3600 - 1 <= body["expires"] <= int(after) + 3600 + 1


def test_client_credentials__token_opens_the_promotion_routes(server: LiveServer) -> None:
    token = client_credentials(server, new_client(server)).json()["access_token"]
    response = bearer(server, token).get("/v2/promotions")
    assert response.status_code == 200, response.text


def test_each_token_request__gives_a_new_token_and_old_ones_keep_working(server: LiveServer) -> None:
    client = new_client(server)
    first = client_credentials(server, client).json()["access_token"]
    second = client_credentials(server, client).json()["access_token"]
    assert first != second
    for token in (first, second):
        assert bearer(server, token).get("/v2/promotions").status_code == 200


def test_token_lifetime__follows_the_token_seconds_setting(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(token_seconds=120)
    body = client_credentials(server, new_client(server)).json()
    assert body["expires_in"] == 120
    assert abs(body["expires"] - (time.time() + 120)) <= 5


def test_implicit_grant__needs_only_the_client_id_and_says_implicit(server: LiveServer) -> None:
    client = new_client(server)
    response = request_token(server, grant_type="implicit", client_id=client.client_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == TOKEN_FIELDS
    assert body["identifier"] == "implicit"
    assert body["token_type"] == BEARER
    assert abs(body["expires"] - (time.time() + body["expires_in"])) <= 5


def test_implicit_grant__with_an_unknown_client_id_is_401(server: LiveServer) -> None:
    response = request_token(server, grant_type="implicit", client_id="nobody")
    assert_ep_error(response, 401, "Unauthorized")


def test_wrong_secret__is_401_unauthorized_with_the_ep_body(server: LiveServer) -> None:
    client = new_client(server)
    response = request_token(
        server, grant_type="client_credentials", client_id=client.client_id, client_secret=WRONG_SECRET
    )
    assert_ep_error(response, 401, "Unauthorized")
    assert response.headers.get("www-authenticate", "").startswith("Bearer")


def test_unknown_client__is_401_exactly_like_a_wrong_secret(server: LiveServer) -> None:
    client = new_client(server)
    wrong_secret = request_token(
        server, grant_type="client_credentials", client_id=client.client_id, client_secret=WRONG_SECRET
    )
    unknown = request_token(
        server, grant_type="client_credentials", client_id="no-such-client", client_secret=WRONG_SECRET
    )
    assert_ep_error(unknown, 401, "Unauthorized")
    assert unknown.json() == wrong_secret.json()


def test_another_clients_secret__is_401(server: LiveServer) -> None:
    mine, theirs = new_client(server), new_client(server, "store-b")
    response = request_token(
        server, grant_type="client_credentials", client_id=mine.client_id, client_secret=theirs.client_secret
    )
    assert_ep_error(response, 401, "Unauthorized")


INCOMPLETE_FORMS: list[tuple[str, dict[str, str]]] = [
    ("no fields", {}),
    ("no grant_type", {"client_id": "CLIENT", "client_secret": "SECRET"}),
    ("no client_id", {"grant_type": "client_credentials", "client_secret": "SECRET"}),
    ("empty client_id", {"grant_type": "client_credentials", "client_id": "", "client_secret": "SECRET"}),
    ("no client_secret", {"grant_type": "client_credentials", "client_id": "CLIENT"}),
    (
        "empty client_secret",
        {"grant_type": "client_credentials", "client_id": "CLIENT", "client_secret": ""},
    ),
]


def test_token_form_with_missing_fields__is_a_4xx_with_the_ep_body(server: LiveServer) -> None:
    client = new_client(server)
    for label, form in INCOMPLETE_FORMS:
        real = {key: value.replace("CLIENT", client.client_id) for key, value in form.items()}
        response = request_token(server, **real)
        assert response.status_code in (400, 401), (label, response.text)
        assert_client_error(response)


def test_token_request_sent_as_json__is_400_saying_to_send_a_form(server: LiveServer) -> None:
    client = new_client(server)
    fields = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    url = f"{server.base_url}/oauth/access_token"
    for sent, media_type in (
        (httpx.post(url, json=fields, timeout=60), "application/json"),
        (httpx.post(url, json={"data": fields}, timeout=60), "application/json"),
        (httpx.post(url, content=b"{}", headers={"Content-Type": "text/plain; charset=utf-8"}), "text/plain"),
    ):
        assert sent.json() == {
            "errors": [
                {
                    "status": "400",
                    "title": "Bad Request",
                    "detail": "The token request must be sent as application/x-www-form-urlencoded "
                    f"(grant_type=client_credentials&client_id=...&client_secret=...), not {media_type}",
                }
            ]
        }
    # The same fields as a form, and as multipart form data, get a token.
    assert httpx.post(url, data=fields, timeout=60).status_code == 200
    multipart = {name: (None, value) for name, value in fields.items()}
    assert httpx.post(url, files=multipart, timeout=60).status_code == 200


def test_unsupported_grant_type__is_400(server: LiveServer) -> None:
    client = new_client(server)
    for grant_type in ("password", "authorization_code", "refresh_token", "CLIENT_CREDENTIALS", ""):
        response = request_token(
            server, grant_type=grant_type, client_id=client.client_id, client_secret=client.client_secret
        )
        assert_ep_error(response, 400)


def test_token_form_field_given_twice__is_400_and_no_token(server: LiveServer) -> None:
    client = new_client(server)
    fields = [
        ("grant_type", "client_credentials"),
        ("client_id", client.client_id),
        ("client_secret", client.client_secret),
    ]
    for twice in ("client_id", "client_secret", "grant_type"):
        value = "other" if twice != "client_id" else client.client_id
        body = urlencode([*fields, (twice, value)])
        response = httpx.post(
            f"{server.base_url}/oauth/access_token",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=60,
        )
        assert_ep_error(response, 400)
        assert twice in response.json()["errors"][0]["detail"]
    assert request_token(server, **dict(fields)).status_code == 200


def test_token_request_as_json__is_refused_the_form_is_required(server: LiveServer) -> None:
    client = new_client(server)
    form = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    response = httpx.post(f"{server.base_url}/oauth/access_token", json=form, timeout=60)
    assert_ep_error(response, 400)


# ---- the bearer check -----------------------------------------------------------------------------


BAD_AUTHORIZATIONS: list[tuple[str, dict[str, str]]] = [
    ("no Authorization header", {}),
    ("garbage token", {"Authorization": "Bearer not-a-real-token"}),
    ("two tokens", {"Authorization": "Bearer abc def"}),
    ("scheme only", {"Authorization": "Bearer"}),
    ("basic scheme", {"Authorization": "Basic dXNlcjpwYXNz"}),
    ("very long token", {"Authorization": "Bearer " + "a" * 5000}),
    ("token without scheme", {"Authorization": "0123456789abcdef0123456789abcdef01234567"}),
]


def test_missing_or_garbage_bearer__is_401_unable_to_validate_on_every_route(server: LiveServer) -> None:
    promotion, job = seeded_promotion(server)
    for label, headers in BAD_AUTHORIZATIONS:
        anonymous = httpx.Client(base_url=server.base_url, headers=headers, timeout=60)
        server.clients.append(anonymous)
        for method, path, data in promotion_routes(promotion, job):
            response = call(anonymous, method, path, data)
            assert response.status_code == 401, (label, method, path, response.text)
            assert_ep_error(response, 401, "Unable to validate access token")
            assert response.headers.get("www-authenticate", "").startswith("Bearer"), (label, path)
    assert_unchanged(server, promotion)


def test_implicit_token__is_403_forbidden_on_every_promotion_route(server: LiveServer) -> None:
    promotion, job = seeded_promotion(server)
    implicit = bearer(server, server.token("store-a", "implicit"))
    for method, path, data in promotion_routes(promotion, job):
        response = call(implicit, method, path, data)
        assert_ep_error(response, 403, "Forbidden")
    # Also for ids that do not exist: the grant is checked before anything is looked up.
    missing = str(uuid.uuid4())
    for method, path, data in promotion_routes(missing, missing):
        assert_ep_error(call(implicit, method, path, data), 403, "Forbidden")
    assert_unchanged(server, promotion)


def test_expired_token__is_401_unable_to_validate(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(token_seconds=1)
    body = client_credentials(server, new_client(server)).json()
    assert body["expires_in"] == 1
    http = bearer(server, body["access_token"])
    assert http.get("/v2/promotions").status_code == 200
    wait_past(body["expires"] + 1)  # "expires" is whole seconds, rounded down
    assert_ep_error(http.get("/v2/promotions"), 401, "Unable to validate access token")
    # A fresh token works again.
    fresh = client_credentials(server, new_client(server)).json()["access_token"]
    assert bearer(server, fresh).get("/v2/promotions").status_code == 200


def test_revoked_client__its_tokens_stop_working_and_it_gets_no_new_ones(server: LiveServer) -> None:
    client = new_client(server)
    other = new_client(server)
    token = client_credentials(server, client).json()["access_token"]
    other_token = client_credentials(server, other).json()["access_token"]
    http = bearer(server, token)
    assert http.get("/v2/promotions").status_code == 200

    assert server.container.auth.revoke_client(client.client_id) is True

    assert_ep_error(http.get("/v2/promotions"), 401, "Unable to validate access token")
    assert_ep_error(client_credentials(server, client), 401, "Unauthorized")
    implicit = request_token(server, grant_type="implicit", client_id=client.client_id)
    assert_ep_error(implicit, 401, "Unauthorized")
    # Another client of the same store is not affected.
    assert bearer(server, other_token).get("/v2/promotions").status_code == 200


def test_revoking_an_unknown_client__reports_false(server: LiveServer) -> None:
    assert server.container.auth.revoke_client("no-such-client") is False


def test_bearer_scheme__is_case_insensitive(server: LiveServer) -> None:
    token = client_credentials(server, new_client(server)).json()["access_token"]
    for scheme in ("Bearer", "bearer", "BEARER"):
        response = httpx.get(
            f"{server.base_url}/v2/promotions", headers={"Authorization": f"{scheme} {token}"}, timeout=60
        )
        assert response.status_code == 200, scheme


def test_token_endpoint_and_docs__need_no_bearer(server: LiveServer) -> None:
    # A garbage bearer on the token endpoint itself is irrelevant: it authenticates with the form.
    client = new_client(server)
    response = client_credentials_grant(
        server.base_url, client.client_id, client.client_secret, headers={"Authorization": "Bearer garbage"}
    )
    assert response.status_code == 200, response.text
