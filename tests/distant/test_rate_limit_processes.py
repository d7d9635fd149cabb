"""The per-store rate limit holds for the service, not per process: three API processes on one (distant)
PostgreSQL, each enforcing its share from the registry of live processes, let through the configured rate
within 25 %, with requests spread round-robin as a load balancer does."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.processes import BootstrapClient, Fleet
from tests.support import DistantDatabase, bearer_http

RATE = 40.0  # per second, for the store, all processes together
BURST = 15  # 5 a process: a bucket of 1 would waste what accrues between its requests
SECONDS = 4.0
SENDERS = 6
CLIENT = BootstrapClient("rate-client", "rate-secret-0123456789")


@pytest.fixture
def three_apis(distant_pg: DistantDatabase, tmp_path: Path) -> Iterator[list[str]]:
    settings = {
        **CLIENT.settings,
        "rate_limit_per_second": RATE,
        "rate_limit_burst": BURST,
        "process_heartbeat_seconds": 0.2,
        "metrics": "open",
    }
    fleet = Fleet(distant_pg.url, tmp_path, settings)
    try:
        yield [fleet.api() for _ in range(3)]
    finally:
        fleet.close()


def _sharing(base_url: str) -> float:
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    found = re.search(r"^promojobs_rate_limit_processes (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_three_processes__the_store_gets_its_rate_not_three_times_it(three_apis: list[str]) -> None:
    deadline = time.monotonic() + 30
    while not all(_sharing(url) == 3 for url in three_apis):  # every process has seen the other two
        assert time.monotonic() < deadline, [_sharing(url) for url in three_apis]
        time.sleep(0.05)
    token = CLIENT.token(three_apis[0])
    clients = [bearer_http(url, token) for url in three_apis]
    for client in clients:  # the token known to each process (its bucket is then one short at most)
        client.get("/v2/promotions")
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    turn = iter(range(10**9))
    stop_at = time.monotonic() + SECONDS

    def send() -> None:
        while time.monotonic() < stop_at:
            with lock:
                client = clients[next(turn) % len(clients)]  # round-robin, as a load balancer
            status = client.get("/v2/promotions").status_code
            with lock:
                statuses[status] += 1

    started = time.monotonic()
    senders = [threading.Thread(target=send) for _ in range(SENDERS)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    elapsed = time.monotonic() - started
    for client in clients:
        client.close()
    assert set(statuses) <= {200, 429}, statuses
    assert statuses[429] > 0, f"never limited: {statuses}"
    allowed = BURST + RATE * elapsed
    ratio = statuses[200] / allowed
    print(f"rate limit, 3 processes: {statuses[200]} of {sum(statuses.values())} let through, {ratio:.2f}x")
    assert 0.75 <= ratio <= 1.25, f"{statuses[200]} let through in {elapsed:.2f} s, {ratio:.2f}x the rate"
