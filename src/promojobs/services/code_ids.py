"""The ``id`` (a UUID) of a rule-promotion code, without storing one per code.

A stored random UUID per code would add a column and a second, randomly ordered, index to every one of
the millions of rows a job writes. Instead the id is the code's row number through a keyed permutation of
128 bits (a four-round Feistel network over the row number and 64 zero bits, keyed with the server's
signing key), written as a UUID: ids look random, say nothing about how many codes the database holds,
and decode back to the row number; an id that does not decode to 64 zero bits was never handed out.
"""

from __future__ import annotations

import hashlib

_ROUNDS = 4
_HALF = 8


class CodeIds:
    def __init__(self, signing_key: bytes) -> None:
        key = hashlib.sha256(b"promojobs rule code ids\x00" + signing_key).digest()
        self._rounds = [
            hashlib.blake2b(bytes([number]), key=key, digest_size=_HALF) for number in range(_ROUNDS)
        ]

    def encode(self, pk: int) -> str:
        left, right = pk, 0
        for round_number in range(_ROUNDS):
            left, right = right, left ^ self._f(round_number, right)
        text = f"{left:016x}{right:016x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def decode(self, code_id: str) -> int | None:
        """The row number behind ``code_id``, or None if no code ever had that id."""
        try:
            raw = bytes.fromhex(code_id.replace("-", ""))
        except ValueError:
            return None
        if len(raw) != 2 * _HALF or len(code_id) != 36:
            return None
        left, right = int.from_bytes(raw[:_HALF], "big"), int.from_bytes(raw[_HALF:], "big")
        for round_number in reversed(range(_ROUNDS)):
            left, right = right ^ self._f(round_number, left), left
        # A row number is a positive BIGINT: anything else was never handed out.
        return left if right == 0 and 0 < left < 2**63 else None

    def _f(self, round_number: int, half: int) -> int:
        state = self._rounds[round_number].copy()  # the keyed state, set up once per round
        state.update(half.to_bytes(_HALF, "big"))
        return int.from_bytes(state.digest(), "big")
