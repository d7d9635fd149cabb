"""A worker killed (SIGKILL) in the middle of an export: the export restarts from scratch in another worker,
and the partial file is never served (docs/jobs.md, docs/reliability.md).

The API server and the workers are real ``promojobs`` processes sharing one database and one data
directory, so the file the API serves is the one a worker wrote.
"""

from __future__ import annotations

import csv
import io
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.processes import BootstrapClient, Fleet
from tests.support import Api

pytestmark = pytest.mark.slow

CODES = 200_000
CLIENT = BootstrapClient("export-crash-client", "export-crash-secret-0123")


@pytest.fixture
def fleet(database_url: str, tmp_path: Path) -> Iterator[Fleet]:
    settings = {**CLIENT.settings, "lease_seconds": 2, "poll_seconds": 0.2, "worker_batch_size": 10_000}
    fleet = Fleet(database_url, tmp_path, settings)
    yield fleet
    fleet.close()


@contextmanager
def _api(base_url: str) -> Iterator[Api]:
    with CLIENT.http(base_url) as http:
        yield Api(http)


def _wait_for_partial_file(path: Path, fleet: Fleet) -> None:
    deadline = time.monotonic() + 120
    while not (path.exists() and path.stat().st_size > 0):
        assert time.monotonic() < deadline, f"the export never started writing {path.name}: {fleet.logs}"
        time.sleep(0.005)


def test_worker_killed_mid_export__the_export_restarts_from_scratch_and_no_partial_file_is_served(
    fleet: Fleet, tmp_path: Path
) -> None:
    with _api(fleet.api()) as api:
        _kill_mid_export_then_resume(api, fleet, tmp_path)


def _kill_mid_export_then_resume(api: Api, fleet: Fleet, tmp_path: Path) -> None:
    first = fleet.worker()
    promotion = api.create_promotion()
    assert api.wait_for(promotion, api.generate(promotion, CODES)["id"], timeout=300)["status"] == "completed"

    job = api.create_job(promotion, "code_export").json()["data"]
    partial = tmp_path / "files" / f".{job['id']}.1.tmp"  # the first attempt's temporary file
    _wait_for_partial_file(partial, fleet)
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=30) == -signal.SIGKILL

    stranded = api.job(promotion, job["id"])
    assert stranded["status"] == "processing", stranded
    refused = api.file(promotion, job["id"])
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["detail"] == "Job has no file to download. Job status: processing"
    partial_size = partial.stat().st_size

    fleet.worker()  # takes the task over once the dead worker's lease expires, and starts again
    done = api.wait_for(promotion, job["id"], timeout=300)
    assert done["status"] == "completed", done
    served = httpx.get(api.file(promotion, job["id"]).json()["href"], timeout=120)
    assert served.status_code == 200
    # What is served is the second attempt's file; the first attempt never got a file of its own.
    files = tmp_path / "files"
    assert served.content == (files / f"{job['id']}_2_codes.csv").read_bytes()
    assert not (files / f"{job['id']}_1_codes.csv").exists()
    rows = list(csv.reader(io.StringIO(served.text)))
    assert rows[0] == ["code", "uses", "max_uses", "consume_unit", "user", "created_at"]
    codes = [row[0] for row in rows[1:]]
    assert len(codes) == CODES and len(set(codes)) == CODES  # whole: every code once
    assert len(served.content) > partial_size
    # The partial file is still where the killed worker left it, under its hidden name, untouched.
    assert partial.exists() and partial.stat().st_size == partial_size
