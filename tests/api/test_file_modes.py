"""The files holding codes are readable by the service's user alone (0600), whatever the umask allows:
the SQLite database (with its -wal and -shm files) and every export file."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.support import LiveServer

MakeServer = Callable[..., LiveServer]


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The common default: without care, new files are 0644 (readable by every local user)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_export_files_and_the_sqlite_database__are_created_0600(
    make_server: MakeServer, backend: str, permissive_umask: None
) -> None:
    server = make_server()
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "PRIVATE-1", "PRIVATE-2").status_code == 201
    job = api.create_job(promotion, "code_export").json()["data"]
    assert api.wait_for(promotion, job["id"])["status"] == "completed"

    exported = list(server.container.settings.files_dir.iterdir())
    assert len(exported) == 1 and exported[0].read_text().count("PRIVATE-") == 2
    assert _mode(exported[0]) == 0o600
    if backend == "sqlite":
        database = Path(str(make_url(server.container.database.url).database))
        files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
        assert {path.name: _mode(path) for path in files} == {path.name: 0o600 for path in files}
