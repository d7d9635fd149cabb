"""Client ids are typed on command lines and pasted into forms: they must never look like an option."""

from __future__ import annotations

from promojobs.services.auth import new_client_id


def test_client_ids_are_letters_and_digits_so_never_start_with_a_dash() -> None:
    # One urlsafe-base64 id in 64 starts with "-": a thousand draws would catch that with near certainty.
    ids = [new_client_id() for _ in range(1000)]
    assert all(len(client_id) == 32 and client_id.isascii() and client_id.isalnum() for client_id in ids)
    assert len(set(ids)) == len(ids)
