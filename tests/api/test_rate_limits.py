"""429 with Retry-After and an Elastic Path body: a per-store rate limit and a brake on failed logins."""

from __future__ import annotations

import httpx

from tests.support import LiveServer


def _token_request(server: LiveServer, client_id: str, secret: str) -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return httpx.post(f"{server.base_url}/oauth/access_token", data=form, timeout=60)


def test_store_rate_limit__answers_429_past_the_burst_and_leaves_other_stores_alone(
    make_server: object,
) -> None:
    server: LiveServer = make_server(rate_limit_per_second=0.5, rate_limit_burst=5)  # type: ignore[operator]
    noisy, quiet = server.api("noisy"), server.api("quiet")
    answers = [noisy.http.get("/v2/promotions").status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]
    limited = noisy.http.get("/v2/promotions")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    error = limited.json()["errors"][0]
    assert error["status"] == "429" and error["title"] == "Too Many Requests"
    assert quiet.http.get("/v2/promotions").status_code == 200


def test_failed_logins__are_throttled_per_client_even_with_the_right_secret_afterwards(
    server: LiveServer,
) -> None:
    victim = server.container.auth.create_client("store-a")
    bystander = server.container.auth.create_client("store-b")
    for _ in range(10):
        assert _token_request(server, victim.client_id, "wrong").status_code == 401
    throttled = _token_request(server, victim.client_id, victim.client_secret)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.json()["errors"][0]["status"] == "429"
    # Per address too: this test's address made 10 failures, so everyone from it waits; a real brute force
    # from one machine cannot spread its guesses over many client ids.
    assert _token_request(server, bystander.client_id, bystander.client_secret).status_code == 429
