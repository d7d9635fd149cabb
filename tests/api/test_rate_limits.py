"""429 with Retry-After and an Elastic Path body: a per-store rate limit and a brake on failed logins."""

from __future__ import annotations

import httpx

from tests.support import LiveServer


def _token_request(
    server: LiveServer, client_id: str, secret: str, address: str = "127.0.0.1"
) -> httpx.Response:
    """A token request from ``address``: any of 127.0.0.0/8 is this machine, so each test "client machine"
    is its own loopback address, and the server sees it as the peer address."""
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(transport=transport, timeout=60) as client:
        return client.post(f"{server.base_url}/oauth/access_token", data=form)


def test_store_rate_limit__answers_429_past_the_burst_and_leaves_other_stores_alone(
    make_server: object,
) -> None:
    # Refilling one request per 1000 s: the burst is all there is for the whole test, however slow it runs.
    server: LiveServer = make_server(rate_limit_per_second=0.001, rate_limit_burst=5)  # type: ignore[operator]
    noisy, quiet = server.api("noisy"), server.api("quiet")
    answers = [noisy.http.get("/v2/promotions").status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]
    limited = noisy.http.get("/v2/promotions")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    error = limited.json()["errors"][0]
    assert error["status"] == "429" and error["title"] == "Too Many Requests"
    assert quiet.http.get("/v2/promotions").status_code == 200


def test_failed_logins__are_throttled_per_client_id_even_from_fresh_addresses_and_with_the_right_secret(
    server: LiveServer,
) -> None:
    """The per-client rule on its own: ten failures for one client id, each from a different address, so
    no address reaches the limit; the client id is refused everywhere, other clients are not."""
    victim = server.container.auth.create_client("store-a")
    bystander = server.container.auth.create_client("store-b")
    failing_addresses = [f"127.0.0.{10 + index}" for index in range(10)]
    for address in failing_addresses:
        assert _token_request(server, victim.client_id, "wrong", address).status_code == 401
    fresh = "127.0.0.30"
    throttled = _token_request(server, victim.client_id, victim.client_secret, fresh)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.json()["errors"][0]["status"] == "429"
    # No address is throttled: each made one failure.
    for address in (fresh, failing_addresses[0], failing_addresses[-1]):
        assert (
            _token_request(server, bystander.client_id, bystander.client_secret, address).status_code == 200
        )


def test_failed_logins__are_throttled_per_address_across_client_ids_even_with_the_right_secret(
    server: LiveServer,
) -> None:
    """The per-address rule on its own: ten failures from one address, each for a different client id, so
    no client id reaches the limit; everyone from that address waits (a brute force from one machine cannot
    spread its guesses over many client ids), the same clients from another address do not."""
    guessed = server.container.auth.create_client("store-a")
    bystander = server.container.auth.create_client("store-b")
    attacker, neighbour = "127.0.0.2", "127.0.0.3"
    guesses = [guessed.client_id] + [f"unknown-client-{index}" for index in range(9)]
    for client_id in guesses:
        assert _token_request(server, client_id, "wrong", attacker).status_code == 401
    throttled = _token_request(server, bystander.client_id, bystander.client_secret, attacker)
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.json()["errors"][0]["status"] == "429"
    for client in (guessed, bystander):
        assert _token_request(server, client.client_id, client.client_secret, neighbour).status_code == 200
