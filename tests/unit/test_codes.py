"""Unit tests for promotion codes: alphabet, generation, format, validation, keyspace, CSV safety."""

from __future__ import annotations

import os
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from promojobs.domain import codes
from promojobs.domain.codes import (
    ALLOWED_CODE_CHARACTERS,
    ALPHABET,
    DEFAULT_CODE_LENGTH,
    MAX_CODE_CHARS,
    MAX_CODE_LENGTH,
    MAX_PREFIX_CHARS,
    MIN_CODE_LENGTH,
    check_keyspace,
    format_code,
    generate_codes,
    keyspace_size,
    max_live_codes,
    normalize_code,
    validate_code,
    validate_code_length,
    validate_prefix,
)
from promojobs.domain.errors import CodeSpaceTooSmall, ValidationFailed
from promojobs.store.export_lines import guard_codes

RATIO = 1e-6
LIVE_AT_8 = 1_099_511  # floor(32**8 / 1e6)
LIVE_AT_9 = 35_184_372  # floor(32**9 / 1e6)
LIVE_AT_10 = 1_125_899_906  # floor(32**10 / 1e6)


class RecordingSource:
    """A stand-in for ``os.urandom`` that records each request and serves scripted bytes, then seeded."""

    def __init__(self, *scripted: bytes, seed: int = 7) -> None:
        self.calls: list[int] = []
        self._scripted: Iterator[bytes] = iter(scripted)
        self._rng = random.Random(seed)

    def __call__(self, n: int) -> bytes:
        self.calls.append(n)
        chunk = next(self._scripted, None)
        if chunk is None:
            return self._rng.randbytes(n)
        assert len(chunk) == n, f"scripted {len(chunk)} bytes, asked for {n}"
        return chunk


@pytest.fixture
def use_source(monkeypatch: pytest.MonkeyPatch) -> Callable[..., RecordingSource]:
    def install(*scripted: bytes, seed: int = 7) -> RecordingSource:
        source = RecordingSource(*scripted, seed=seed)
        monkeypatch.setattr(codes, "_urandom", source)
        return source

    return install


def body_bytes(body: str) -> bytes:
    """The random bytes that translate to ``body`` (byte value = symbol index)."""
    return bytes(ALPHABET.index(c) for c in body)


def strip_format(code: str, prefix: str) -> str:
    assert code.startswith(prefix)
    return code[len(prefix) :].replace("-", "")


def bad(call: Callable[[], object]) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        call()
    assert caught.value.title == "Bad Request"
    return caught.value


# --- alphabet and randomness ------------------------------------------------------------------------


def test_alphabet__32_distinct_symbols_without_look_alikes() -> None:
    assert len(ALPHABET) == 32
    assert len(set(ALPHABET)) == 32
    assert not set("01IO") & set(ALPHABET)
    assert set(ALPHABET) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ23456789")


def test_byte_mapping__every_symbol_owns_exactly_eight_byte_values_so_it_is_unbiased() -> None:
    counts = Counter(bytes(range(256)).translate(codes._BYTE_TO_SYMBOL).decode("ascii"))
    assert set(counts) == set(ALPHABET)
    assert set(counts.values()) == {8}


def _bodies(generated: list[str]) -> list[str]:
    return [code.replace("-", "") for code in generated]


def test_random_bodies__right_count_length_and_only_alphabet_symbols() -> None:
    for length in (MIN_CODE_LENGTH, 9, 12, MAX_CODE_LENGTH):
        bodies = _bodies(generate_codes(500, length, ""))
        assert len(bodies) == 500
        assert all(len(body) == length for body in bodies)
        assert set("".join(bodies)) <= set(ALPHABET)


def test_random_bodies__zero_count_is_empty() -> None:
    assert generate_codes(0, 8, "") == []


def test_random_bodies__symbols_are_roughly_uniform_over_200k_characters() -> None:
    counts = Counter("".join(_bodies(generate_codes(25_000, 8, ""))))
    expected = 200_000 / 32  # 6250, standard deviation about 78: a 20% band is 16 sigma wide
    assert set(counts) == set(ALPHABET)
    assert all(0.8 * expected < n < 1.2 * expected for n in counts.values()), counts


def test_random_bodies__one_urandom_call_for_a_big_batch(use_source: Callable[..., RecordingSource]) -> None:
    source = use_source()  # seeded: these 100,000 codes of 12 have no duplicate to top up
    bodies = generate_codes(100_000, 12, "")
    assert source.calls == [1_200_000]
    assert len(bodies) == 100_000


def test_random_bodies__maps_bytes_through_the_alphabet(use_source: Callable[..., RecordingSource]) -> None:
    use_source(bytes([0, 1, 2, 31, 32, 33, 255, 224]))
    assert generate_codes(1, 8, "") == ["234Z-23Z2"]


def test_random_source__is_os_urandom_by_default() -> None:
    assert codes._urandom is os.urandom


def test_random_bodies__rejects_negative_count_and_empty_length() -> None:
    with pytest.raises(ValueError):
        generate_codes(-1, 8, "")
    with pytest.raises(ValueError):
        generate_codes(1, 0, "")


# --- format -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "body", "expected"),
    [
        ("", "ABCDEFGH", "ABCD-EFGH"),
        ("", "ABCDEFGHJ", "ABCD-EFGH-J"),
        ("", "ABCDEFGHJK", "ABCD-EFGH-JK"),
        ("", "ABCDEFGHJKLM", "ABCD-EFGH-JKLM"),
        ("", "ABCDEFGHJKLMN", "ABCD-EFGH-JKLM-N"),
        ("", "ABCDEFGHJKLMNPQR", "ABCD-EFGH-JKLM-NPQR"),
        ("Summer-", "ABCDEFGH", "Summer-ABCD-EFGH"),
        ("summer", "AA2B3C4D", "summerAA2B-3C4D"),
    ],
)
def test_format_code__dash_every_four_and_prefix_as_given(prefix: str, body: str, expected: str) -> None:
    assert format_code(prefix, body) == expected


# --- generate ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [8, 9, 12, 16])
@pytest.mark.parametrize("prefix", ["", "Summer-", "promo_"])
def test_generate_codes__exact_count_distinct_sorted_and_formatted(length: int, prefix: str) -> None:
    generated = generate_codes(20_000, length, prefix)

    assert len(generated) == 20_000
    assert len({normalize_code(code) for code in generated}) == 20_000
    assert generated == sorted(generated, key=normalize_code)
    group = f"[{ALPHABET}]"
    shape = re.compile(re.escape(prefix) + rf"{group}{{4}}(-{group}{{1,4}})*")
    for code in generated:
        assert shape.fullmatch(code), code
        body = strip_format(code, prefix)
        assert len(body) == length
        assert code == format_code(prefix, body)


def test_generate_codes__zero_count_is_empty() -> None:
    assert generate_codes(0, 8, "X") == []


def test_generate_codes__longest_prefix_and_length_still_make_a_valid_code() -> None:
    prefix = "P" * MAX_PREFIX_CHARS
    for code in generate_codes(10, MAX_CODE_LENGTH, prefix):
        assert len(code) <= MAX_CODE_CHARS
        assert validate_code(code, "data.codes[0].code") == code


def test_generate_codes__one_urandom_call_when_the_first_draw_is_distinct(
    use_source: Callable[..., RecordingSource],
) -> None:
    source = use_source()
    generated = generate_codes(100_000, 8, "")
    assert source.calls == [800_000]
    assert len(set(generated)) == 100_000


def test_generate_codes__a_repeating_first_draw_is_topped_up_in_bulk(
    use_source: Callable[..., RecordingSource],
) -> None:
    source = use_source(bytes(8 * 1_000))  # every code of the first draw is 2222-2222

    generated = generate_codes(1_000, 8, "")

    assert source.calls == [8 * 1_000, 8 * 999]  # one bulk top-up for everything missing
    assert len(set(generated)) == 1_000
    assert "2222-2222" in generated
    assert generated == sorted(generated, key=normalize_code)


def test_generate_codes__top_up_drops_codes_that_collide_with_the_batch(
    use_source: Callable[..., RecordingSource],
) -> None:
    source = use_source(
        body_bytes("AAAAAAAA" * 2 + "BBBBBBBB" + "CCCCCCCC" * 2),  # 3 distinct of 5
        body_bytes("BBBBBBBB" + "DDDDDDDD"),  # the top-up repeats B
        body_bytes("EEEEEEEE"),
    )

    generated = generate_codes(5, 8, "x-")

    assert source.calls == [40, 16, 8]
    assert generated == ["x-AAAA-AAAA", "x-BBBB-BBBB", "x-CCCC-CCCC", "x-DDDD-DDDD", "x-EEEE-EEEE"]


def test_generate_codes__rejects_lengths_outside_8_to_16() -> None:
    for length in (MIN_CODE_LENGTH - 1, MAX_CODE_LENGTH + 1):
        with pytest.raises(ValueError):
            generate_codes(1, length, "")


# --- case -------------------------------------------------------------------------------------------


def test_normalize_code__ignores_case() -> None:
    assert normalize_code("summer-aa2b-3c4d") == normalize_code("SUMMER-AA2B-3C4D") == "SUMMER-AA2B-3C4D"


# --- validation -------------------------------------------------------------------------------------


def test_allowed_characters__letters_digits_and_the_documented_punctuation() -> None:
    assert set("aZ09-_.$@") <= ALLOWED_CODE_CHARACTERS
    assert not set("+#!%/ ") & ALLOWED_CODE_CHARACTERS
    assert set(ALPHABET) <= ALLOWED_CODE_CHARACTERS
    assert len(ALLOWED_CODE_CHARACTERS) == 26 + 26 + 10 + 5
    assert all(c.isascii() and c.isprintable() and not c.isspace() for c in ALLOWED_CODE_CHARACTERS)


@pytest.mark.parametrize("code", ["ABCXYZ", "5uses", "ABC_XYZ", "summer2024", "a.b$c@d_e-f", "X" * 64])
def test_validate_code__accepts_manual_codes(code: str) -> None:
    assert validate_code(code, "data.codes[0].code") == code


@pytest.mark.parametrize("code", [None, 12345, b"ABC", ["ABC"]])
def test_validate_code__non_string_names_the_source(code: object) -> None:
    error = bad(lambda: validate_code(code, "data.codes[2].code"))
    assert error.source == "data.codes[2].code"
    assert "string" in error.detail


def test_validate_code__empty_and_too_long_are_refused() -> None:
    assert "empty" in bad(lambda: validate_code("", "data.codes[0].code")).detail
    too_long = bad(lambda: validate_code("X" * (MAX_CODE_CHARS + 1), "data.codes[1].code"))
    assert too_long.source == "data.codes[1].code"
    assert str(MAX_CODE_CHARS) in too_long.detail


@pytest.mark.parametrize(
    "code", ["AB CD", "AB\tCD", "ABCD\n", "AB\x00CD", "CAFÉ", "A=1", "A/B", "A,B", 'A"B']
)
def test_validate_code__a_character_outside_the_set_is_refused_and_the_set_is_named(code: str) -> None:
    error = bad(lambda: validate_code(code, "data.codes[0].code"))
    assert error.source == "data.codes[0].code"
    assert "ASCII letters, digits and - _ . $ @" in error.detail


@pytest.mark.parametrize("prefix", ["", "Summer-", "promo-", "P" * MAX_PREFIX_CHARS])
def test_validate_prefix__accepts_empty_and_up_to_32_characters(prefix: str) -> None:
    assert validate_prefix(prefix, "data.parameters.code_prefix") == prefix


@pytest.mark.parametrize("prefix", [None, 7, "P" * (MAX_PREFIX_CHARS + 1), "sum mer", "été-"])
def test_validate_prefix__refusals_name_the_source(prefix: object) -> None:
    error = bad(lambda: validate_prefix(prefix, "data.parameters.code_prefix"))
    assert error.source == "data.parameters.code_prefix"
    assert error.detail.startswith("code_prefix")


@pytest.mark.parametrize("value", [MIN_CODE_LENGTH, DEFAULT_CODE_LENGTH, 12, MAX_CODE_LENGTH])
def test_validate_code_length__accepts_8_to_16(value: int) -> None:
    assert validate_code_length(value, "data.parameters.code_length") == value


@pytest.mark.parametrize("value", [7, 17, 0, -8, True, False, 8.0, "8", None])
def test_validate_code_length__refusals_name_the_source(value: object) -> None:
    error = bad(lambda: validate_code_length(value, "data.parameters.code_length"))
    assert error.source == "data.parameters.code_length"
    assert "8" in error.detail and "16" in error.detail


# --- keyspace ---------------------------------------------------------------------------------------


def test_keyspace_size__32_to_the_length() -> None:
    assert keyspace_size(8) == 2**40
    assert keyspace_size(16) == 2**80


def test_max_live_codes__one_per_million_of_the_keyspace_rounded_down() -> None:
    assert max_live_codes(8, RATIO) == LIVE_AT_8
    assert max_live_codes(9, RATIO) == LIVE_AT_9
    assert max_live_codes(10, RATIO) == LIVE_AT_10
    assert max_live_codes(16, RATIO) == 2**80 // 10**6  # exact, no float rounding at 80 bits
    assert max_live_codes(8, 1.0) == 2**40


@pytest.mark.parametrize("ratio", [0.0, -1e-6, 1.5, float("nan"), float("inf")])
def test_max_live_codes__rejects_a_ratio_outside_0_to_1(ratio: float) -> None:
    with pytest.raises(ValueError):
        max_live_codes(8, ratio)


def test_check_keyspace__exactly_the_maximum_passes() -> None:
    check_keyspace(LIVE_AT_8, 0, 8, RATIO)
    check_keyspace(LIVE_AT_8 - 100_000, 100_000, 8, RATIO)


def test_check_keyspace__one_more_fails_and_suggests_length_9() -> None:
    with pytest.raises(CodeSpaceTooSmall) as caught:
        check_keyspace(LIVE_AT_8 - 100_000 + 1, 100_000, 8, RATIO)
    error = caught.value
    assert error.title == "Code space too small"
    assert error.source == "data.parameters.code_length"
    assert "at most 1,099,511" in error.detail
    assert "999,511 more can be generated" in error.detail
    assert "use code_length 9 or more" in error.detail.lower()


def test_check_keyspace__suggests_the_smallest_length_that_fits() -> None:
    with pytest.raises(CodeSpaceTooSmall) as caught:
        check_keyspace(LIVE_AT_9 + 1, 0, 8, RATIO)
    assert "use code_length 10 or more" in caught.value.detail.lower()

    with pytest.raises(CodeSpaceTooSmall) as caught:
        check_keyspace(LIVE_AT_10 - 5, 10, 9, RATIO, source="data.parameters.number_of_codes")
    assert caught.value.source == "data.parameters.number_of_codes"
    assert "use code_length 11 or more" in caught.value.detail.lower()


def test_check_keyspace__says_when_no_length_up_to_16_can_hold_the_codes() -> None:
    with pytest.raises(CodeSpaceTooSmall) as caught:
        check_keyspace(max_live_codes(16, RATIO) + 1, 0, 16, RATIO)
    assert "no code_length up to 16" in caught.value.detail.lower()


def test_check_keyspace__an_already_full_keyspace_reports_zero_remaining() -> None:
    with pytest.raises(CodeSpaceTooSmall) as caught:
        check_keyspace(1, LIVE_AT_8 + 10, 8, RATIO)
    assert " 0 more can be generated" in caught.value.detail


# --- export -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+SUMMER", "'+SUMMER"),
        ("-ABCD-EFGH", "'-ABCD-EFGH"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tABC", "'\tABC"),
        ("\rABC", "'\rABC"),
        ("ABCD-EFGH", "ABCD-EFGH"),
        ("A=B", "A=B"),
        ("", ""),
    ],
)
def test_csv_safe__formula_starts_get_a_leading_quote(value: str, expected: str) -> None:
    # The export's guard for the code cell (its first): the one place the formula characters stand.
    assert guard_codes(f"{value},1\n") == f"{expected},1\n"
