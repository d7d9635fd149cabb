"""An export reads one snapshot, even across its ranges and (on PostgreSQL) its two connections: codes
deleted by another process while the export runs are still in the file."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import text

from promojobs.store import export as export_store
from promojobs.store.database import Database
from tests.support import LiveServer


def test_codes_deleted_mid_export__still_in_the_file(
    server: LiveServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One range at a time and nothing sent ahead: the second range (the second connection on
    # PostgreSQL) is first queried after the delete below has committed.
    monkeypatch.setattr(export_store, "RANGE_IDS", 5)
    monkeypatch.setattr(export_store, "PIPELINE_DEPTH", 0)
    api = server.api()
    promotion = api.create_promotion()
    codes = [f"SNAP-{i:02d}" for i in range(30)]
    assert api.add_codes(promotion, *codes).status_code == 201
    database = server.container.database
    with database.read() as conn:
        pk = conn.execute(text("SELECT id FROM promotions WHERE uuid = :u"), {"u": promotion}).scalar_one()

    pieces = export_store.export_csv(database, pk)
    header, first_range = next(pieces), next(pieces)
    other_process = Database(database_url)
    try:
        with other_process.write() as conn:
            deleted = conn.execute(text("DELETE FROM codes WHERE promotion_id = :pk"), {"pk": pk}).rowcount
        assert deleted == 30
        rest = b"".join(pieces)
    finally:
        other_process.dispose()

    rows = list(csv.reader(io.StringIO((header + first_range + rest).decode())))
    assert sorted(row[0] for row in rows[1:]) == codes
