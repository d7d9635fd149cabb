"""Rule-code ids: a keyed permutation of the row number, written as a UUID."""

from __future__ import annotations

from promojobs.domain.ids import is_uuid
from promojobs.services.code_ids import CodeIds


def test_ids_are_uuids_that_decode_back_and_differ_by_key() -> None:
    ids, other = CodeIds(b"key one"), CodeIds(b"key two")
    for pk in (1, 2, 3, 10**6, 2**63 - 1):
        code_id = ids.encode(pk)
        assert is_uuid(code_id)
        assert ids.decode(code_id) == pk
        assert other.decode(code_id) is None  # another key never hands out that id
    assert len({ids.encode(pk) for pk in range(1, 1000)}) == 999


def test_ids_never_handed_out_decode_to_none() -> None:
    ids = CodeIds(b"key")
    for text in ("00000000-0000-0000-0000-000000000000", "not-a-uuid", "", "zz" * 18, ids.encode(5)[:-1]):
        assert ids.decode(text) is None
    assert ids.decode(ids.encode(5).upper()) == 5
