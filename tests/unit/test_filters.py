"""Unit tests for the Elastic Path filter-language parser."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from promojobs.domain.errors import InvalidFilter, PromojobsError
from promojobs.domain.filters import (
    KNOWN_OPS,
    MAX_FILTER_BYTES,
    MAX_FILTER_CLAUSES,
    Clause,
    parse_filter,
    require_one_of,
)

JOBS: Mapping[str, frozenset[str]] = {"job_type": frozenset({"eq"}), "status": frozenset({"eq"})}
WIDE: Mapping[str, frozenset[str]] = {
    "code": frozenset(KNOWN_OPS),
    "name": frozenset({"eq", "like"}),
    "status": frozenset({"eq", "in"}),
    "promo.start_date": frozenset({"gt", "ge", "lt", "le"}),
    "_private": frozenset({"eq"}),
}


def one(raw: str, allowed: Mapping[str, frozenset[str]] = WIDE) -> Clause:
    clauses = parse_filter(raw, allowed)
    assert len(clauses) == 1
    return clauses[0]


def assert_invalid(raw: str, allowed: Mapping[str, frozenset[str]] = WIDE) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(raw, allowed)
    assert caught.value.detail == "Could not parse the supplied filter"
    assert caught.value.source is None
    assert caught.value.title == "Bad Request"


# -- no filter -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, "", " ", "     "])
def test_parse_filter__missing_empty_or_blank_means_no_clauses(raw: str | None) -> None:
    assert parse_filter(raw, JOBS) == ()


def test_parse_filter__blank_is_fine_even_with_nothing_allowed() -> None:
    assert parse_filter("  ", {}) == ()


# -- the documented shapes -------------------------------------------------------------------------------


def test_parse_filter__documented_jobs_example_gives_two_and_clauses() -> None:
    assert parse_filter("eq(job_type,code_export):eq(status,completed)", JOBS) == (
        Clause(op="eq", field="job_type", values=("code_export",)),
        Clause(op="eq", field="status", values=("completed",)),
    )


def test_parse_filter__space_after_comma_is_ignored() -> None:
    assert parse_filter("eq(job_type, code_export)", JOBS) == parse_filter("eq(job_type,code_export)", JOBS)


def test_parse_filter__documented_status_example_with_space_parses() -> None:
    assert one("eq(status, complete)", JOBS) == Clause("eq", "status", ("complete",))


def test_parse_filter__spaces_around_field_and_operand_are_ignored() -> None:
    assert one("eq(  code  ,   abc   )") == Clause("eq", "code", ("abc",))


def test_parse_filter__spaces_around_clauses_and_colons_are_ignored() -> None:
    assert parse_filter("  eq(code,a) : eq(name,b)  ", WIDE) == (
        Clause("eq", "code", ("a",)),
        Clause("eq", "name", ("b",)),
    )


def test_parse_filter__space_inside_unquoted_operand_is_kept() -> None:
    assert one("eq(name,Ron Swanson)") == Clause("eq", "name", ("Ron Swanson",))


def test_parse_filter__inner_spaces_kept_but_outer_spaces_dropped() -> None:
    assert one("eq(name,  Ron  Swanson  )").values == ("Ron  Swanson",)


@pytest.mark.parametrize("op", sorted(KNOWN_OPS))
def test_parse_filter__every_known_op_parses_when_allowed(op: str) -> None:
    assert one(f"{op}(code,X1)") == Clause(op, "code", ("X1",))


@pytest.mark.parametrize("value", ["2024-01-31", "1706659200000"])
def test_parse_filter__dates_and_epoch_millis_are_plain_operands(value: str) -> None:
    assert one(f"ge(promo.start_date,{value})").values == (value,)


def test_parse_filter__every_unquoted_special_character_is_accepted() -> None:
    value = "AZaz09$-_*.@+/{}|"
    assert one(f"eq(code,{value})").values == (value,)


def test_parse_filter__like_operand_keeps_its_wildcards() -> None:
    assert one("like(name,*summer*)") == Clause("like", "name", ("*summer*",))


def test_parse_filter__field_with_dots_and_digits() -> None:
    allowed = {"a1.b_2.c": frozenset({"eq"})}
    assert one("eq(a1.b_2.c,x)", allowed).field == "a1.b_2.c"


def test_parse_filter__field_may_start_with_underscore() -> None:
    assert one("eq(_private,x)").field == "_private"


def test_parse_filter__repeated_clauses_on_one_field_are_all_kept() -> None:
    assert parse_filter("eq(code,a):eq(code,b)", WIDE) == (
        Clause("eq", "code", ("a",)),
        Clause("eq", "code", ("b",)),
    )


# -- in --------------------------------------------------------------------------------------------------


def test_parse_filter__in_takes_several_values_in_order() -> None:
    assert one("in(status,pending,processing,cancelling)") == Clause(
        "in", "status", ("pending", "processing", "cancelling")
    )


def test_parse_filter__in_with_one_value_is_fine() -> None:
    assert one("in(status,pending)").values == ("pending",)


def test_parse_filter__in_ignores_spaces_between_values() -> None:
    assert one("in(status, a ,  b,c )").values == ("a", "b", "c")


def test_parse_filter__in_with_an_empty_value_is_rejected() -> None:
    assert_invalid("in(status,a,,b)")
    assert_invalid("in(status,a,)")
    assert_invalid("in(status,,a)")


@pytest.mark.parametrize("op", sorted(KNOWN_OPS - {"in"}))
def test_parse_filter__single_value_ops_reject_a_second_value(op: str) -> None:
    assert_invalid(f"{op}(code,a,b)")


# -- quoted operands -------------------------------------------------------------------------------------


def test_parse_filter__double_quoted_operand() -> None:
    assert one('eq(name,"Ron Swanson")').values == ("Ron Swanson",)


def test_parse_filter__single_quoted_operand() -> None:
    assert one("eq(name,'Ron Swanson')").values == ("Ron Swanson",)


def test_parse_filter__quoted_operand_may_hold_separators_and_any_printable() -> None:
    assert one('eq(name,"a,b:(c)%!#\'é")').values == ("a,b:(c)%!#'é",)


def test_parse_filter__quoted_operand_keeps_its_own_leading_and_trailing_spaces() -> None:
    assert one('eq(name,  " padded "  )').values == (" padded ",)


def test_parse_filter__backslash_escapes_the_quote_character() -> None:
    assert one(r'eq(name,"say \"hi\"")').values == ('say "hi"',)
    assert one(r"eq(name,'it\'s')").values == ("it's",)


def test_parse_filter__backslash_escapes_a_backslash() -> None:
    assert one(r'eq(name,"a\\b")').values == ("a\\b",)


def test_parse_filter__other_quote_character_needs_no_escape() -> None:
    assert one("""eq(name,"it's")""").values == ("it's",)


def test_parse_filter__in_mixes_quoted_and_bare_values() -> None:
    assert one("""in(status, "a,b" ,c,'d)')""").values == ("a,b", "c", "d)")


def test_parse_filter__quoted_operand_on_like_keeps_wildcards() -> None:
    assert one('like(name,"*a b*")').values == ("*a b*",)


@pytest.mark.parametrize(
    "raw",
    [
        'eq(name,"unterminated)',
        "eq(name,'unterminated)",
        "eq(name,\"mismatched')",
        'eq(name,"x"y)',  # junk after the closing quote
        'eq(name,"x" "y")',
        'eq(name,x"y")',  # a quote inside a bare operand
        r'eq(name,"bad \n escape")',  # only the quote char or a backslash may be escaped
        r"eq(name,'bad \" escape')",  # the *other* quote char is not escapable
        'eq(name,"trailing backslash\\',
        'eq(name,"")',  # an empty operand, quoted or not
        "eq(name,'')",
    ],
)
def test_parse_filter__malformed_quoted_operands_are_rejected(raw: str) -> None:
    assert_invalid(raw)


@pytest.mark.parametrize("ch", ["\x00", "\t", "\n", "\r", "\x1f", "\x7f", "\x85", "\x9f"])
def test_parse_filter__control_characters_are_rejected_even_when_quoted(ch: str) -> None:
    assert_invalid(f'eq(name,"a{ch}b")')
    assert_invalid(f"eq(name,a{ch}b)")


def test_parse_filter__lone_surrogate_is_rejected() -> None:
    assert_invalid('eq(name,"\ud800")')


# -- unquoted characters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ch", ["(", '"', "'", "%", "!", "#", "&", "=", "?", "~", "<", ">", ";", "é", "\\", ":"]
)
def test_parse_filter__character_outside_the_bare_set_is_rejected_unquoted(ch: str) -> None:
    assert_invalid(f"eq(code,a{ch}b)")


def test_parse_filter__colon_inside_an_unquoted_operand_breaks_the_clause() -> None:
    assert_invalid("eq(code,10:30)")


def test_parse_filter__comma_inside_an_unquoted_single_value_is_a_second_value() -> None:
    assert_invalid("eq(name,Swanson, Ron)")


# -- ops and fields --------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["is_null", "ne", "EQ", "Eq", "gr", "or", "", "eq2"])
def test_parse_filter__unknown_op_is_rejected(op: str) -> None:
    assert_invalid(f"{op}(code,x)")


def assert_unknown_attribute(raw: str, allowed: Mapping[str, frozenset[str]], detail: str) -> None:
    """Elastic Path's title and detail, then the attribute that is wrong and the ones there are."""
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(raw, allowed)
    assert caught.value.title == "Bad Request"
    assert caught.value.source is None
    assert caught.value.detail == f"Could not parse the supplied filter: {detail}"


def test_parse_filter__unknown_field_is_rejected_naming_it_and_the_known_ones() -> None:
    assert_unknown_attribute(
        "eq(promotion_id,x)", JOBS, "unknown attribute promotion_id; this list filters on job_type, status"
    )
    assert_unknown_attribute(
        "eq(staus,completed)",
        JOBS,
        "unknown attribute staus (did you mean status?); this list filters on job_type, status",
    )


def test_parse_filter__an_unknown_field_is_echoed_at_most_40_characters() -> None:
    assert_unknown_attribute(
        f"eq({'x' * 500},1)", JOBS, f"unknown attribute {'x' * 40}...; this list filters on job_type, status"
    )


def test_parse_filter__field_names_are_case_sensitive() -> None:
    assert_unknown_attribute(
        "eq(Status,x)",
        JOBS,
        "unknown attribute Status (did you mean status?); this list filters on job_type, status",
    )


def test_parse_filter__known_op_not_allowed_for_that_field_is_rejected() -> None:
    assert_invalid("like(job_type,code*)", JOBS)
    assert_invalid("in(job_type,code_export,code_generate)", JOBS)
    assert_invalid("gt(name,a)")


def test_parse_filter__op_allowed_for_one_field_does_not_leak_to_another() -> None:
    assert_invalid("like(status,x)")
    assert one("like(name,x)").op == "like"


def test_parse_filter__nothing_allowed_rejects_every_clause() -> None:
    assert_unknown_attribute(
        "eq(job_type,code_export)", {}, "unknown attribute job_type; this list has no filters"
    )


def test_require_one_of__a_value_outside_the_enumeration_names_the_allowed_values() -> None:
    clause = one("eq(status,done)")
    require_one_of(clause, ["pending", "done"], "done")
    with pytest.raises(InvalidFilter) as caught:
        require_one_of(clause, ["pending", "completed"], "done")
    assert caught.value.title == "Bad Request"
    assert caught.value.detail == (
        "Could not parse the supplied filter: status cannot be done; it is one of pending, completed"
    )


@pytest.mark.parametrize("field", ["1abc", ".abc", "a-b", "a b", "a$b", '"code"'])
def test_parse_filter__malformed_field_name_is_rejected(field: str) -> None:
    allowed = {field: frozenset({"eq"})}
    assert_invalid(f"eq({field},x)", allowed)


# -- malformed structure ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "eq(code,)",  # empty operand
        "eq(code, )",  # operand of spaces only
        "eq(code)",  # no operand at all
        "eq(,x)",  # no field
        "eq()",
        "eq",
        "eq(",
        "eq(code",
        "eq(code,",
        "eq(code,x",  # unbalanced: missing ")"
        "eq(code,x))",  # unbalanced: extra ")"
        "eq((code,x)",
        "(eq(code,x))",  # grouping is not supported
        "eq(code,x)junk",  # trailing junk
        "eq(code,x) junk",
        "eq(code,x)eq(code,y)",  # clauses not joined by ":"
        "eq(code,x),eq(code,y)",
        "eq(code,x)|eq(code,y)",
        "eq(code,x)::eq(code,y)",  # empty clause in the middle
        "eq(code,x): :eq(code,y)",
        "eq(code,x):",  # trailing ":"
        "eq(code,x): ",
        ":eq(code,x)",  # leading ":"
        ":",
        "::",
        "eq (code,x)",  # space between op and "("
        "eq(code x)",  # no comma
        "eq[code,x]",
        "code=x",
        "x",
        "\tq",
    ],
)
def test_parse_filter__malformed_shapes_are_rejected(raw: str) -> None:
    assert_invalid(raw)


# -- limits ----------------------------------------------------------------------------------------------


def test_parse_filter__ten_clauses_are_allowed() -> None:
    raw = ":".join(f"eq(code,c{i})" for i in range(MAX_FILTER_CLAUSES))
    clauses = parse_filter(raw, WIDE)
    assert MAX_FILTER_CLAUSES == 10
    assert [c.values[0] for c in clauses] == [f"c{i}" for i in range(10)]


def test_parse_filter__eleven_clauses_are_rejected() -> None:
    raw = ":".join(f"eq(code,c{i})" for i in range(MAX_FILTER_CLAUSES + 1))
    assert_invalid(raw)


def _in_filter_of_bytes(size: int, *, filler: str = "a") -> str:
    head, tail = "in(code,", ")"
    body_bytes = size - len(head) - len(tail)
    per_char = len(filler.encode("utf-8"))
    assert body_bytes % per_char == 0
    raw = head + filler * (body_bytes // per_char) + tail
    assert len(raw.encode("utf-8")) == size
    return raw


def test_parse_filter__exactly_8_kib_is_allowed() -> None:
    assert MAX_FILTER_BYTES == 8192
    clause = one(_in_filter_of_bytes(MAX_FILTER_BYTES))
    assert len(clause.values[0]) == MAX_FILTER_BYTES - len("in(code,)")


def test_parse_filter__one_byte_over_8_kib_is_rejected() -> None:
    assert_invalid(_in_filter_of_bytes(MAX_FILTER_BYTES + 1))


def test_parse_filter__size_limit_counts_utf8_bytes_not_characters() -> None:
    # "é" is two bytes: 4093 of them in quotes is 8186 + len('in(code,"")') = 8197 bytes, < 8192 characters.
    raw = 'in(code,"' + "é" * 4093 + '")'
    assert len(raw) < MAX_FILTER_BYTES < len(raw.encode("utf-8"))
    assert_invalid(raw)


def test_parse_filter__many_in_values_within_the_size_limit_parse() -> None:
    ids = [f"{i:08d}-0000-0000-0000-000000000000" for i in range(200)]
    assert len(one("in(code," + ",".join(ids) + ")").values) == 200


def test_parse_filter__oversized_blank_filter_is_still_rejected() -> None:
    assert_invalid(" " * (MAX_FILTER_BYTES + 1))


# -- the error -------------------------------------------------------------------------------------------


def test_parse_filter__error_is_a_promojobs_error_with_the_verbatim_detail() -> None:
    with pytest.raises(PromojobsError) as caught:
        parse_filter("nope", JOBS)
    assert isinstance(caught.value, InvalidFilter)
    assert str(caught.value) == "Could not parse the supplied filter"


def test_parse_filter__clause_is_frozen_and_hashable() -> None:
    clause = one("eq(code,x)")
    with pytest.raises(AttributeError):
        clause.op = "like"  # type: ignore[misc]
    assert {clause, Clause("eq", "code", ("x",))} == {clause}
