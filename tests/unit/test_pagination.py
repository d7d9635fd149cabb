"""Unit tests for Elastic Path offset pagination."""

from __future__ import annotations

import pytest

from promojobs.domain.errors import ValidationFailed
from promojobs.domain.pagination import (
    DEFAULT_PAGE_LIMIT,
    MAX_PAGE_LIMIT,
    MAX_PAGE_OFFSET,
    KeySeek,
    PageCursors,
    PageKeys,
    PageRequest,
    page_links,
    page_meta,
    parse_page,
)

BASE = "https://promo.example/v2/promotions/P1/jobs"


def link(offset: int, limit: int, suffix: str = "") -> str:
    return f"{BASE}?page[offset]={offset}&page[limit]={limit}{suffix}"


def bad_page(limit_raw: str | None, offset_raw: str | None) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        parse_page(limit_raw, offset_raw)
    assert caught.value.title == "Bad Request"
    return caught.value


# -- parse_page: defaults and valid values ---------------------------------------------------------------


def test_parse_page__absent_parameters_give_default_limit_and_offset_zero() -> None:
    assert DEFAULT_PAGE_LIMIT == 25
    assert parse_page(None, None) == PageRequest(limit=25, offset=0)


def test_parse_page__project_default_limit_is_used_when_limit_absent() -> None:
    assert parse_page(None, None, default_limit=50) == PageRequest(limit=50, offset=0)
    assert parse_page("10", None, default_limit=50).limit == 10


@pytest.mark.parametrize("default_limit", [0, -1, 101])
def test_parse_page__out_of_range_default_limit_is_a_programming_error(default_limit: int) -> None:
    with pytest.raises(ValueError, match="default_limit"):
        parse_page(None, None, default_limit=default_limit)


def test_parse_page__plain_integers_are_parsed() -> None:
    assert parse_page("10", "20") == PageRequest(limit=10, offset=20)


@pytest.mark.parametrize(("raw", "limit"), [("1", 1), ("100", 100), ("007", 7), (" 42 ", 42), ("+5", 5)])
def test_parse_page__limit_bounds_padding_and_sign_are_accepted(raw: str, limit: int) -> None:
    assert parse_page(raw, None).limit == limit


@pytest.mark.parametrize(("raw", "offset"), [("0", 0), ("10000", 10_000), ("-0", 0), ("  3", 3)])
def test_parse_page__offset_bounds_and_padding_are_accepted(raw: str, offset: int) -> None:
    assert parse_page(None, raw).offset == offset


def test_parse_page__offset_need_not_be_a_multiple_of_limit() -> None:
    assert parse_page("10", "15") == PageRequest(limit=10, offset=15)


# -- parse_page: out of range ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["0", "101", "-1", "1000000"])
def test_parse_page__limit_outside_1_to_100_is_rejected(raw: str) -> None:
    error = bad_page(raw, None)
    assert error.source == "page[limit]"
    assert error.detail == "page[limit] must be between 1 and 100"


@pytest.mark.parametrize("raw", ["-1", "10001", "99999"])
def test_parse_page__offset_outside_0_to_10000_is_rejected(raw: str) -> None:
    error = bad_page(None, raw)
    assert error.source == "page[offset]"
    assert error.detail == "page[offset] must be between 0 and 10000"


def test_parse_page__limits_match_the_documented_maxima() -> None:
    assert (MAX_PAGE_LIMIT, MAX_PAGE_OFFSET) == (100, 10_000)


# -- parse_page: not integers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " ",
        "abc",
        "1.5",
        "1e3",
        "+-",
        "-",
        "+",
        "--1",
        "1_000",
        "0x10",
        "1 0",
        "\u0663",
        "\uff11",
        "²",
        "10abc",
        "\t5",
    ],
)
def test_parse_page__non_integer_limit_is_rejected(raw: str) -> None:
    error = bad_page(raw, None)
    assert error.source == "page[limit]"
    assert error.detail == "page[limit] must be an integer"


@pytest.mark.parametrize("raw", ["", "abc", "1.5", "1e3", "+-", "NaN"])
def test_parse_page__non_integer_offset_is_rejected(raw: str) -> None:
    error = bad_page(None, raw)
    assert error.source == "page[offset]"
    assert error.detail == "page[offset] must be an integer"


def test_parse_page__limit_is_checked_before_offset() -> None:
    assert bad_page("0", "abc").source == "page[limit]"


def test_parse_page__absurdly_long_digit_string_is_rejected_cleanly() -> None:
    # 5000 digits would exceed Python's int-string conversion limit; it must still be a ValidationFailed.
    error = bad_page("9" * 5000, None)
    assert error.detail == "page[limit] must be between 1 and 100"
    assert bad_page(None, "1" * 21).source == "page[offset]"


def test_parse_page__absurdly_long_garbage_is_rejected_cleanly() -> None:
    assert bad_page("x" * 100_000, None).detail == "page[limit] must be an integer"


def test_parse_page__twenty_character_value_is_still_range_checked_not_length_checked() -> None:
    assert parse_page(None, "0" * 19 + "5").offset == 5


# -- page_meta -------------------------------------------------------------------------------------------


def test_page_meta__matches_the_documented_shape() -> None:
    assert page_meta(PageRequest(limit=25, offset=0), 2) == {
        "page": {"limit": 25, "offset": 0, "current": 1, "total": 1},
        "results": {"total": 2},
    }


def test_page_meta__zero_results_still_has_every_field() -> None:
    assert page_meta(PageRequest(limit=25, offset=0), 0) == {
        "page": {"limit": 25, "offset": 0, "current": 1, "total": 0},
        "results": {"total": 0},
    }


@pytest.mark.parametrize(
    ("limit", "offset", "total", "current", "pages"),
    [
        (10, 0, 10, 1, 1),  # exactly one full page
        (10, 0, 11, 1, 2),  # one record spills onto a second page
        (10, 10, 25, 2, 3),  # middle page
        (10, 20, 25, 3, 3),  # last, partial page
        (10, 15, 25, 2, 3),  # offset not on a page boundary
        (10, 9, 25, 1, 3),
        (25, 100, 30, 5, 2),  # offset past the end
        (1, 0, 1, 1, 1),
        (100, 10_000, 10_050, 101, 101),
    ],
)
def test_page_meta__current_page_and_page_count(
    limit: int, offset: int, total: int, current: int, pages: int
) -> None:
    page = page_meta(PageRequest(limit=limit, offset=offset), total)["page"]
    assert (page["current"], page["total"]) == (current, pages)


# -- page_links ------------------------------------------------------------------------------------------


def test_page_links__first_page_has_no_prev() -> None:
    assert page_links(BASE, PageRequest(limit=10, offset=0), 25) == {
        "current": link(0, 10),
        "first": link(0, 10),
        "last": link(20, 10),
        "prev": None,
        "next": link(10, 10),
    }


def test_page_links__middle_page_has_prev_and_next() -> None:
    assert page_links(BASE, PageRequest(limit=10, offset=10), 25) == {
        "current": link(10, 10),
        "first": link(0, 10),
        "last": link(20, 10),
        "prev": link(0, 10),
        "next": link(20, 10),
    }


def test_page_links__last_partial_page_has_no_next() -> None:
    links = page_links(BASE, PageRequest(limit=10, offset=20), 25)
    assert links["current"] == link(20, 10)
    assert links["prev"] == link(10, 10)
    assert links["next"] is None
    assert links["last"] == link(20, 10)


def test_page_links__last_full_page_has_no_next() -> None:
    links = page_links(BASE, PageRequest(limit=10, offset=20), 30)
    assert links["next"] is None
    assert links["last"] == link(20, 10)


def test_page_links__single_page_has_neither_prev_nor_next() -> None:
    assert page_links(BASE, PageRequest(limit=25, offset=0), 2) == {
        "current": link(0, 25),
        "first": link(0, 25),
        "last": link(0, 25),
        "prev": None,
        "next": None,
    }


def test_page_links__empty_result_points_everything_at_offset_zero() -> None:
    assert page_links(BASE, PageRequest(limit=25, offset=0), 0) == {
        "current": link(0, 25),
        "first": link(0, 25),
        "last": link(0, 25),
        "prev": None,
        "next": None,
    }


def test_page_links__offset_past_the_end() -> None:
    links = page_links(BASE, PageRequest(limit=10, offset=50), 25)
    assert links["current"] == link(50, 10)
    assert links["last"] == link(20, 10)
    assert links["prev"] == link(40, 10)
    assert links["next"] is None


def test_page_links__offset_past_the_end_of_an_empty_result() -> None:
    links = page_links(BASE, PageRequest(limit=10, offset=30), 0)
    assert links["last"] == link(0, 10)
    assert links["prev"] == link(20, 10)
    assert links["next"] is None


def test_page_links__prev_is_clamped_to_zero_for_an_unaligned_offset() -> None:
    links = page_links(BASE, PageRequest(limit=10, offset=5), 25)
    assert links["prev"] == link(0, 10)
    assert links["next"] == link(15, 10)


def test_page_links__next_is_none_exactly_when_the_window_reaches_the_total() -> None:
    assert page_links(BASE, PageRequest(limit=10, offset=14), 25)["next"] == link(24, 10)
    assert page_links(BASE, PageRequest(limit=10, offset=15), 25)["next"] is None


def test_page_links__total_an_exact_multiple_of_limit() -> None:
    assert page_links(BASE, PageRequest(limit=10, offset=0), 30)["last"] == link(20, 10)


def test_page_links__keys_are_the_five_documented_links() -> None:
    assert set(page_links(BASE, PageRequest(limit=25, offset=0), 0)) == {
        "current",
        "first",
        "last",
        "prev",
        "next",
    }


def test_page_links__filter_is_appended_with_its_syntax_left_readable() -> None:
    raw = "eq(job_type,code_export):eq(status,completed)"
    links = page_links(BASE, PageRequest(limit=25, offset=0), 2, [("filter", raw)])
    assert links["current"] == link(0, 25, f"&filter={raw}")
    assert links["last"] == link(0, 25, f"&filter={raw}")


def test_page_links__extra_query_is_appended_to_every_non_null_link() -> None:
    links = page_links(BASE, PageRequest(limit=10, offset=10), 25, [("filter", "eq(code,x)")])
    for url in links.values():
        assert url is not None
        assert url.endswith("&filter=eq(code,x)")


def test_page_links__extra_query_values_are_percent_encoded() -> None:
    links = page_links(BASE, PageRequest(limit=25, offset=0), 1, [("filter", 'eq(name,"Ron Swanson+&=#/é")')])
    assert links["current"] == link(0, 25, "&filter=eq(name,%22Ron%20Swanson%2B%26%3D%23%2F%C3%A9%22)")


def test_page_links__wildcard_and_safe_characters_stay_unencoded() -> None:
    links = page_links(BASE, PageRequest(limit=25, offset=0), 1, [("filter", "like(code,*A-b_c.d$@*)")])
    assert links["current"] == link(0, 25, "&filter=like(code,*A-b_c.d$@*)")


def test_page_links__several_extra_pairs_keep_their_order() -> None:
    links = page_links(
        BASE, PageRequest(limit=25, offset=0), 1, [("filter", "eq(code,x)"), ("sort", "-code")]
    )
    assert links["current"] == link(0, 25, "&filter=eq(code,x)&sort=-code")


def test_page_links__page_brackets_are_not_encoded() -> None:
    url = page_links(BASE, PageRequest(limit=25, offset=0), 0)["first"]
    assert url is not None
    assert "page[offset]=0&page[limit]=25" in url
    assert "%5B" not in url


def test_page_links__meta_and_links_agree_on_the_last_page() -> None:
    page = PageRequest(limit=7, offset=0)
    pages = page_meta(page, 50)["page"]["total"]
    assert page_links(BASE, page, 50)["last"] == link((pages - 1) * 7, 7)


# -- links past page[offset]'s limit, and page[cursor] ----------------------------------------------------


def described(page: PageRequest) -> str:
    """A readable stand-in for the cursor encoder: the links test what is sought, not the token."""
    seek = page.seek
    assert seek is not None
    key = None if seek.key is None else "/".join(map(str, seek.key))
    return f"{page.offset}:{'after' if seek.forward else 'before'}:{key}:{seek.take}"


def cursor_link(token: str, limit: int) -> str:
    return f"{BASE}?page[cursor]={token}&page[limit]={limit}"


def test_page_links__a_list_that_cannot_seek_emits_no_link_past_the_offset_limit() -> None:
    links = page_links(BASE, PageRequest(limit=100, offset=MAX_PAGE_OFFSET), 1_000_000)
    assert links["next"] is None
    assert links["last"] is None
    assert links["prev"] == link(MAX_PAGE_OFFSET - 100, 100)
    assert links["current"] == link(MAX_PAGE_OFFSET, 100)


def test_page_links__links_within_the_offset_limit_stay_offsets_on_a_list_that_seeks() -> None:
    links = page_links(
        BASE, PageRequest(limit=10, offset=10), 25, cursor=described, keys=PageKeys(first=(11,), last=(20,))
    )
    assert links == {
        "current": link(10, 10),
        "first": link(0, 10),
        "last": link(20, 10),
        "prev": link(0, 10),
        "next": link(20, 10),
    }


def test_page_links__next_past_the_limit_seeks_after_the_last_key_of_the_page() -> None:
    page = PageRequest(limit=100, offset=MAX_PAGE_OFFSET)
    links = page_links(BASE, page, 1_000_011, cursor=described, keys=PageKeys(first=(501,), last=(777,)))
    assert links["next"] == cursor_link("10100:after:777:100", 100)
    assert links["prev"] == link(MAX_PAGE_OFFSET - 100, 100)


def test_page_links__last_past_the_limit_takes_the_last_rows_of_the_list() -> None:
    first_page = PageRequest(limit=100, offset=0)
    links = page_links(BASE, first_page, 1_000_011, cursor=described, keys=PageKeys((1,), (100,)))
    assert links["last"] == cursor_link("1000000:before:None:11", 100)


def test_page_links__prev_of_a_deep_page_seeks_before_its_first_key() -> None:
    seek = KeySeek(forward=True, key=(9,), take=100)
    page = PageRequest(limit=100, offset=20_000, seek=seek)
    links = page_links(BASE, page, 30_000, cursor=described, keys=PageKeys(first=(40,), last=(90,)))
    assert links["current"] == cursor_link("20000:after:9:100", 100)
    assert links["prev"] == cursor_link("19900:before:40:100", 100)
    assert links["next"] == cursor_link("20100:after:90:100", 100)


def test_page_links__prev_from_just_past_the_limit_is_an_offset_link() -> None:
    page = PageRequest(limit=100, offset=10_050, seek=KeySeek(True, (5,), 100))
    links = page_links(BASE, page, 30_000, cursor=described, keys=PageKeys((6,), (7,)))
    assert links["prev"] == link(9_950, 100)


def test_page_links__an_empty_deep_page_has_no_neighbour_to_seek_from() -> None:
    page = PageRequest(limit=100, offset=20_000, seek=KeySeek(True, (5,), 100))
    links = page_links(BASE, page, 30_000, cursor=described, keys=None)
    assert links["prev"] is None and links["next"] is None
    assert links["last"] == cursor_link("29900:before:None:100", 100)


CURSORS = PageCursors(b"k" * 32)
DEEP = PageRequest(limit=50, offset=12_345, seek=KeySeek(forward=False, key=(987_654_321,), take=50))


def bad_cursor(raw: str, scope: str = "s", limit_raw: str | None = None) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        CURSORS.decode(scope, raw, limit_raw)
    return caught.value


def test_page_cursors__round_trip_every_kind_of_seek() -> None:
    for seek in (
        KeySeek(True, (1,), 50),
        KeySeek(False, (2**62,), 50),
        KeySeek(True, (1_764_000_000_000_000, 42), 50),
        KeySeek(False, None, 7),
    ):
        page = PageRequest(limit=50, offset=10_001, seek=seek)
        assert CURSORS.decode("s", CURSORS.encode("s", page), None) == page
        assert CURSORS.decode("s", CURSORS.encode("s", page), "50") == page


def test_page_cursors__are_url_safe_and_opaque() -> None:
    token = CURSORS.encode("s", DEEP)
    assert token.replace("-", "").replace("_", "").isalnum()
    assert "12345" not in token


def test_page_cursors__another_scope_or_key_is_rejected() -> None:
    token = CURSORS.encode("store 1 /codes", DEEP)
    assert bad_cursor(token, scope="store 2 /codes").source == "page[cursor]"
    with pytest.raises(ValidationFailed):
        PageCursors(b"other key").decode("store 1 /codes", token, None)


@pytest.mark.parametrize("raw", ["", "x", "====", "é", "A" * 161, "\x00"])
def test_page_cursors__garbage_is_rejected(raw: str) -> None:
    error = bad_cursor(raw)
    assert error.source == "page[cursor]"
    assert error.title == "Bad Request"


def test_page_cursors__any_changed_character_is_rejected() -> None:
    token = CURSORS.encode("s", DEEP)
    for index in range(len(token)):
        changed = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]
        assert bad_cursor(changed).source == "page[cursor]"


def test_page_cursors__a_different_page_limit_is_rejected_naming_it() -> None:
    token = CURSORS.encode("s", DEEP)
    error = bad_cursor(token, limit_raw="25")
    assert error.source == "page[limit]"
    assert error.detail == "page[limit] must be 50, the limit the cursor was issued for"
    assert bad_cursor(token, limit_raw="abc").source == "page[limit]"


def test_page_cursors__only_the_canonical_spelling_is_accepted() -> None:
    # 40 bytes (24 of payload + 16 of MAC): the last base64 character carries 2 bits and 4 unused ones.
    page = PageRequest(limit=50, offset=123_456, seek=KeySeek(forward=False, key=(987_654_321,), take=50))
    token = CURSORS.encode("s", page)
    assert len(token) % 4 == 2
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    value = alphabet.index(token[-1])
    same_bits = alphabet[value ^ 1]  # differs only in an unused bit: decodes to the same bytes
    assert bad_cursor(token[:-1] + same_bits).source == "page[cursor]"
    assert bad_cursor(token + "==").source == "page[cursor]"
    assert CURSORS.decode("s", token, None) == page
