"""Read-your-writes across API processes: a write acknowledged by one process is seen by the next read
through another, on both backends (PostgreSQL a network hop away), while other reads keep both processes'
read caches busy. Each process keeps answers in memory; what makes them current is the store's data
version read from the database in every request (services/read_cache.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.processes import BootstrapClient, Fleet
from tests.support import PROMOTION, DistantDatabase, bearer_http

# Each round writes five times through one process and reads six times: four of the writes are read
# next through the other process (code added, code deleted, job created, job cancelled), so 150 rounds
# are 600 write-then-read rounds across processes and 900 reads checked.
ROUNDS = 150
CLIENT = BootstrapClient("ryw-client", "ryw-secret-0123456789")


@pytest.fixture
def distant_url(backend: str, database_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """The test database; on PostgreSQL through a 1 ms latency proxy."""
    if backend == "sqlite":
        yield database_url
        return
    distant = DistantDatabase.start(database_url, 0.001)
    yield distant.url
    distant.proxy.close()


@pytest.fixture
def two_apis(distant_url: str, tmp_path: Path) -> Iterator[list[httpx.Client]]:
    fleet = Fleet(distant_url, tmp_path, CLIENT.settings)
    clients: list[httpx.Client] = []
    try:
        urls = [fleet.api(), fleet.api()]
        token = CLIENT.token(urls[0])
        clients = [bearer_http(url, token) for url in urls]
        yield clients
    finally:
        for client in clients:
            client.close()
        fleet.close()


class Checks:
    """The reads checked after a write, and those that did not show it."""

    def __init__(self) -> None:
        self.made = 0
        self.stale: list[str] = []

    def expect(self, seen: bool, what: str) -> None:
        self.made += 1
        if not seen:
            self.stale.append(what)


class Background:
    """Reads in flight on both processes during the rounds (their answers are kept and reused)."""

    def __init__(self, clients: list[httpx.Client], paths: list[str]) -> None:
        self.stop = threading.Event()
        self.failures: list[str] = []
        self.count = 0
        self.threads = [
            threading.Thread(target=self._run, args=(client, paths), daemon=True) for client in clients
        ]

    def __enter__(self) -> Background:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _run(self, client: httpx.Client, paths: list[str]) -> None:
        while not self.stop.is_set():
            for path in paths:
                response = client.get(path)
                self.count += 1
                if response.status_code != 200:
                    self.failures.append(f"{path}: {response.status_code} {response.text}")


def test_write_through_one_process__next_read_through_the_other_sees_it(
    two_apis: list[httpx.Client],
) -> None:
    first = two_apis[0]
    promotion = first.post("/v2/promotions", json={"data": PROMOTION}).json()["data"]["id"]
    codes_url = f"/v2/promotions/{promotion}/codes"
    jobs_url = f"/v2/promotions/{promotion}/jobs"
    checks = Checks()
    with Background(two_apis, [codes_url, jobs_url, f"/v2/promotions/{promotion}"]) as background:
        for index in range(ROUNDS):
            writer, reader = two_apis[index % 2], two_apis[(index + 1) % 2]
            code = f"RYW-{index:04d}"
            body = {"data": {"type": "promotion_codes", "codes": [{"code": code}]}}
            assert writer.post(codes_url, json=body).status_code == 201
            listed = reader.get(codes_url, params={"filter": f"eq(code,{code})"}).json()["data"]
            checks.expect([c["code"] for c in listed] == [code], f"added {code}: {listed}")
            total = reader.get(codes_url).json()["meta"]["results"]["total"]
            checks.expect(total == index + 1, f"total after adding {code}: {total}")

            assert reader.delete(f"{codes_url}/{code}").status_code == 204
            listed = writer.get(codes_url, params={"filter": f"eq(code,{code})"}).json()["data"]
            checks.expect(not listed, f"deleted {code}: {listed}")
            assert writer.post(codes_url, json=body).status_code == 201  # back, for the totals

            job = writer.post(
                jobs_url, json={"data": {"type": "promotion_job", "job_type": "code_export", "name": code}}
            )
            assert job.status_code == 201, job.text
            job_id = job.json()["data"]["id"]
            newest = reader.get(jobs_url, params={"page[limit]": 1}).json()["data"]
            checks.expect([j["id"] for j in newest] == [job_id], f"job {code}: {newest}")
            found = reader.get(f"{jobs_url}/{job_id}").status_code
            checks.expect(found == 200, f"job {code}: {found}")
            cancelled = reader.post(f"{jobs_url}/{job_id}/cancel")  # free the promotion for the next job
            assert cancelled.status_code == 200, cancelled.text
            status = writer.get(f"{jobs_url}/{job_id}").json()["data"]["status"]
            checks.expect(status == "cancelled", f"job {code} {status} after its cancel")
    assert not background.failures, background.failures[:5]
    assert background.count > 0
    assert checks.made == ROUNDS * 6
    assert checks.stale == [], f"{len(checks.stale)} stale reads of {checks.made}: {checks.stale[:5]}"
