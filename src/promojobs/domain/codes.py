"""Promotion codes: the alphabet, random generation, the display format, validation and keyspace maths.

Generated codes (a format Elastic Path leaves undocumented; docs/jobs.md): ``code_length`` random symbols
(8 to 16, default 8) with a dash after every four, the optional prefix prepended exactly as given
(``"Summer-"`` + ``"ABCD-EFGH"``). Codes compare case-insensitively (``normalize_code``).

Randomness comes from one ``os.urandom`` call per batch, mapped onto the alphabet with ``bytes.translate``
(measured: about 100x faster than ``secrets.choice`` per character). The source is read from the
module attribute ``_urandom`` at call time so a test can swap it without slowing the real path.
"""

from __future__ import annotations

import operator
import os
import string
from collections.abc import Callable
from fractions import Fraction
from itertools import islice

from promojobs.domain.errors import CodeSpaceTooSmall, ValidationFailed

__all__ = [
    "ALLOWED_CODE_CHARACTERS",
    "ALPHABET",
    "DEFAULT_CODE_LENGTH",
    "MAX_CODE_CHARS",
    "MAX_CODE_LENGTH",
    "MAX_PREFIX_CHARS",
    "MIN_CODE_LENGTH",
    "check_keyspace",
    "format_code",
    "generate_codes",
    "keyspace_size",
    "max_live_codes",
    "normalize_code",
    "validate_code",
    "validate_code_length",
    "validate_prefix",
]

# No 0/1/I/O look-alikes. L stays: 1 is gone and codes are shown upper-case.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
MIN_CODE_LENGTH = 8
MAX_CODE_LENGTH = 16
DEFAULT_CODE_LENGTH = 8
MAX_CODE_CHARS = 64
MAX_PREFIX_CHARS = 32
_GROUP_CHARS = 4

# Only characters that survive, unencoded, in a URL path (DELETE …/codes/:code) and in an Elastic Path
# filter operand as the official SDK sends it (it does not encode "+", and "#", "!", "%" break the path or
# the filter), so every code can be found and deleted with every client.
_PUNCTUATION = "-_.$@"
ALLOWED_CODE_CHARACTERS = frozenset(string.ascii_letters + string.digits + _PUNCTUATION)
_ALLOWED_TEXT = "ASCII letters, digits and " + " ".join(_PUNCTUATION)


# 256 % 32 == 0, so every symbol owns exactly 8 byte values: the mapping is unbiased.
_BYTE_TO_SYMBOL = bytes(ord(ALPHABET[b % len(ALPHABET)]) for b in range(256))

_urandom: Callable[[int], bytes] = os.urandom


# --- generation -------------------------------------------------------------------------------------


def format_code(prefix: str, body: str) -> str:
    """``prefix`` as given, then ``body`` with a dash after every four characters: ``ABCD-EFGH-JK``."""
    groups = (body[i : i + _GROUP_CHARS] for i in range(0, len(body), _GROUP_CHARS))
    return prefix + "-".join(groups)


def generate_codes(count: int, length: int, prefix: str) -> list[str]:
    """``count`` formatted codes, distinct case-insensitively, sorted by ``normalize_code``.

    The prefix must already be valid (``validate_prefix``). Duplicates are dropped and topped up in bulk.
    Sorting is needed anyway (sorted batches insert about twice as fast into a B-tree), and it puts
    duplicates next to each other, so one C-speed pass over neighbours finds them without a set.
    Every code shares the prefix and has an upper-case body with dashes in the same places, so plain
    string order is ``normalize_code`` order and exact duplicates are the only case-insensitive ones.
    """
    _require(count >= 0, f"count must be >= 0, got {count}")
    _require(
        MIN_CODE_LENGTH <= length <= MAX_CODE_LENGTH,
        f"length must be {MIN_CODE_LENGTH}..{MAX_CODE_LENGTH}, got {length}",
    )
    codes: list[str] = []
    while len(codes) < count:
        codes.extend(_random_codes(count - len(codes), length, prefix))
        codes.sort()  # after a top-up, timsort merges the new run in close to linear time
        if any(map(operator.eq, codes, islice(codes, 1, None))):
            codes = list(dict.fromkeys(codes))  # keeps the sorted order
    return codes


def _random_codes(count: int, length: int, prefix: str) -> list[str]:
    """``count`` formatted random codes, built as one byte blob so no code is formatted on its own.

    The blob starts as ``count`` copies of the template ``prefix + "????-????"``; each body position is
    then filled for all codes at once by one strided slice assignment from the translated random bytes.
    """
    if count == 0:
        return []
    prefix_bytes = prefix.encode("utf-8")
    template = prefix_bytes + format_code("", "?" * length).encode("ascii")
    width = len(template)
    blob = bytearray(template * count)
    symbols = _urandom(count * length).translate(_BYTE_TO_SYMBOL)
    for j in range(length):
        blob[len(prefix_bytes) + j + j // _GROUP_CHARS :: width] = symbols[j::length]
    text = blob.decode("utf-8")
    chars = len(text) // count  # characters, not bytes: a non-ASCII prefix still slices right
    return [text[i : i + chars] for i in range(0, len(text), chars)]


# --- case, validation -------------------------------------------------------------------------------


def normalize_code(code: str) -> str:
    """The case-insensitive key of a code."""
    return code.upper()


def validate_code(code: object, source: str) -> str:
    """A stored code: 1 to ``MAX_CODE_CHARS`` characters from ``ALLOWED_CODE_CHARACTERS``."""
    return _validate_text(code, "code", source, min_chars=1, max_chars=MAX_CODE_CHARS)


def validate_prefix(prefix: object, source: str) -> str:
    """A ``code_prefix``: like a code, but may be empty and has at most ``MAX_PREFIX_CHARS``."""
    return _validate_text(prefix, "code_prefix", source, min_chars=0, max_chars=MAX_PREFIX_CHARS)


def validate_code_length(value: object, source: str) -> int:
    """A ``code_length``: an integer (not a bool) from ``MIN_CODE_LENGTH`` to ``MAX_CODE_LENGTH``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(
            f"code_length must be an integer from {MIN_CODE_LENGTH} to {MAX_CODE_LENGTH}", source=source
        )
    if not MIN_CODE_LENGTH <= value <= MAX_CODE_LENGTH:
        raise ValidationFailed(
            f"code_length must be from {MIN_CODE_LENGTH} to {MAX_CODE_LENGTH}, got {value}", source=source
        )
    return value


def _validate_text(value: object, name: str, source: str, *, min_chars: int, max_chars: int) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be a string", source=source)
    if len(value) < min_chars:
        raise ValidationFailed(f"{name} must not be empty", source=source)
    if len(value) > max_chars:
        raise ValidationFailed(f"{name} must be at most {max_chars} characters", source=source)
    if not ALLOWED_CODE_CHARACTERS.issuperset(value):
        bad = next(c for c in value if c not in ALLOWED_CODE_CHARACTERS)
        raise ValidationFailed(
            f"{name} may only contain {_ALLOWED_TEXT} (found {bad!r} at position {value.index(bad)})",
            source=source,
        )
    return value


# --- keyspace ---------------------------------------------------------------------------------------


def keyspace_size(length: int) -> int:
    """How many distinct bodies of ``length`` symbols exist."""
    size: int = len(ALPHABET) ** length  # int ** int is typed Any: a negative exponent gives a float
    return size


def max_live_codes(length: int, max_fill_ratio: float) -> int:
    """The most live codes one prefix may hold at ``length`` and still be hard to guess."""
    _require(0 < max_fill_ratio <= 1, f"max_fill_ratio must be in (0, 1], got {max_fill_ratio}")
    # repr gives the decimal the setting was written as; Fraction keeps 32**16 * ratio exact.
    ratio = Fraction(repr(max_fill_ratio))
    return keyspace_size(length) * ratio.numerator // ratio.denominator


def check_keyspace(
    requested: int,
    already_live: int,
    length: int,
    max_fill_ratio: float,
    source: str = "data.parameters.code_length",
) -> None:
    """Refuse a job that would leave more live codes of this prefix and length than the ratio allows.

    Guessing a code succeeds with probability live / keyspace per try; capping that at ``max_fill_ratio``
    (default one per million) keeps codes unguessable however many are generated.
    """
    _require(requested >= 0 and already_live >= 0, "requested and already_live must be >= 0")
    total = requested + already_live
    limit = max_live_codes(length, max_fill_ratio)
    if total <= limit:
        return
    fits = (
        f"at most {limit:,} live codes of code_length {length} fit with one prefix "
        f"(max fill ratio {max_fill_ratio:g} of a {keyspace_size(length):,}-code keyspace)"
    )
    detail = (
        f"This job would leave {total:,} live codes of code_length {length} with this prefix "
        f"({already_live:,} existing + {requested:,} requested), but {fits}; "
        f"{max(limit - already_live, 0):,} more can be generated. {_length_advice(total, max_fill_ratio)}"
    )
    raise CodeSpaceTooSmall(detail, source=source)


def _length_advice(total: int, max_fill_ratio: float) -> str:
    # Conservative: counts the existing codes of the refused length as if they shared the new keyspace.
    for length in range(MIN_CODE_LENGTH, MAX_CODE_LENGTH + 1):
        if max_live_codes(length, max_fill_ratio) >= total:
            return f"Use code_length {length} or more."
    return (
        f"No code_length up to {MAX_CODE_LENGTH} can hold {total:,} codes; "
        "generate fewer codes or use another prefix."
    )


def _require(condition: bool, message: str) -> None:
    # Programming errors, not user input: the validate_* functions handle the wire.
    if not condition:
        raise ValueError(message)
