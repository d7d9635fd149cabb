"""The SQL that builds an export's CSV lines in the database, and the Python that finishes them.

Light on imports on purpose: the SQLite export's helper processes (``export_part``) import this module
and nothing heavier, so that they start in a few tens of milliseconds.

Columns: ``code,uses,max_uses,consume_unit,user,created_at``. A cell that starts with ``= + - @``, a tab
or a carriage return gets a leading quote, the OWASP defence against CSV injection (codes may start with
``-`` or ``@``, users with anything). Only ``user`` can hold a comma or a quote (codes cannot, and no
field can hold a control character), so only it is ever quoted; the code's guard runs in Python on a
whole range at once (``guard_codes``), the user's in SQL.

Each range of ids comes back as a few long texts, one line per code, each line ending in a newline.
``created_at`` is rendered in Python, once per distinct value in the range (a generation batch shares
one), never once per line:

- PostgreSQL groups the range by ``created_at`` (hashed: cheap) and leaves the time out of the lines;
  ``stamp_groups`` appends it to each group's lines with one replace.
- SQLite groups by sorting, which costs more than the time cell itself (docs/performance.md), so its
  lines end in ``created_at`` as an integer and ``stamp_times`` replaces each distinct integer: the
  range's oldest and newest, and only if a line is left unstamped (three times or more in one range), the
  others, found by a second, cheap query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from promojobs.domain.timefmt import to_rfc3339

FORMULA_CHARACTERS = "=+-@\t\r"
_FORMULA_STARTS = ", ".join(str(ord(c)) for c in FORMULA_CHARACTERS)
_CODE_STARTING_A_FORMULA = re.compile("\n(?=[" + re.escape(FORMULA_CHARACTERS) + "])")

_TIME_AT_LINE_END = re.compile(r",(\d+)\n")
_TIMES_REPLACED_ONE_BY_ONE = 4

Execute = Callable[[str, tuple[int, ...]], Any]


@dataclass(frozen=True)
class Queries:
    """Parameters: (promotion_id) for the span, (promotion_id, first id, last id) for the others."""

    span: str  # → min(id), max(id)
    lines: str  # PostgreSQL → (created_at, lines) per created_at; SQLite → (min, max created_at, lines)
    times: str  # → each distinct created_at (SQLite only)


def _queries(first_char: str, position: str, placeholder: str, postgres: bool) -> Queries:
    def guarded(column: str) -> str:
        return (
            f"CASE WHEN {first_char}({column}) IN ({_FORMULA_STARTS}) THEN '''' || {column} ELSE {column} END"
        )

    user = '"user"'
    user_cell = (
        f"CASE WHEN {user} IS NULL THEN NULL "
        f"""WHEN {position}({user}, ',') > 0 OR {position}({user}, '"') > 0 """
        f"""THEN '"' || replace({guarded(user)}, '"', '""') || '"' """
        f"ELSE {guarded(user)} END"
    )
    # (expression, may be NULL, is text)
    cells = [
        ("code", False, True),  # guarded in Python: see guard_codes
        ("uses", True, False),
        ("max_uses", True, False),
        ("consume_unit", False, True),
        (user_cell, True, True),
    ]
    p = placeholder
    where = f"FROM codes WHERE promotion_id = {p} AND id BETWEEN {p} AND {p}"
    if postgres:  # on PostgreSQL a chain of || is the cheaper way to build a line
        line = " || ',' || ".join(_as_text(*cell) for cell in cells) + " || '\n'"
        lines = f"SELECT created_at, string_agg({line}, '') {where} GROUP BY created_at"
    else:  # SQLite's format() is the cheaper there, and renders NULL as nothing
        arguments = ", ".join([cell for cell, _, _ in cells] + ["created_at"])
        line = f"format('{','.join(['%s'] * (len(cells) + 1))}\n', {arguments})"
        lines = f"SELECT min(created_at), max(created_at), group_concat({line}, '') {where}"
    # SQLite reads min() or max() alone from the index's end, but scans every entry for both in one
    # SELECT (0.1 s for a million codes); a subquery each is two index lookups. PostgreSQL does both.
    span = (
        f"SELECT min(id), max(id) FROM codes WHERE promotion_id = {p}"
        if postgres
        else "SELECT (SELECT min(id) FROM codes WHERE promotion_id = ?1),"
        " (SELECT max(id) FROM codes WHERE promotion_id = ?1)"
    )
    return Queries(
        span=span,
        lines=lines,
        times=f"SELECT DISTINCT created_at {where}",
    )


def _as_text(expression: str, nullable: bool, is_text: bool) -> str:
    text = expression if is_text else f"CAST({expression} AS TEXT)"
    return f"coalesce({text}, '')" if nullable else text


SQLITE = _queries("unicode", "instr", "?", postgres=False)
POSTGRES = _queries("ascii", "strpos", "%s", postgres=True)


def stamp_groups(groups: list[tuple[int, str]]) -> bytes:
    """A PostgreSQL range: each group's timestamp appended to its lines. Only a line's end is a newline (no
    cell holds one), so one replace per group is exact."""
    return "".join(
        guard_codes(lines).replace("\n", f",{to_rfc3339(micros)}\n") for micros, lines in sorted(groups)
    ).encode()


def sqlite_ranges(
    execute: Execute, promotion_id: int, first: int, last: int, range_ids: int, read: Sequence[Any] = ()
) -> Iterator[bytes]:
    """The lines of the promotion's codes with ids ``first`` to ``last``, one range of ids at a time;
    ``read``: the first range's row of ``SQLITE.lines``, if already read."""
    for start in range(first, last + 1, range_ids):
        params = (promotion_id, start, min(start + range_ids - 1, last))
        row = read[0] if read and start == first else execute(SQLITE.lines, params).fetchone()
        oldest, newest, lines = row
        if lines is None:
            continue
        lines = _stamp_times(guard_codes(lines), {oldest, newest})
        # A range across one batch boundary holds just these two times. A line whose time is still its
        # integer ends in a digit, a stamped one in "Z": two counts (fast scans) tell whether a third
        # time is left, and only then is it worth a second query.
        if oldest != newest and lines.count("Z\n") != lines.count("\n"):
            lines = _stamp_times(lines, {t for (t,) in execute(SQLITE.times, params).fetchall()})
        yield lines.encode()


def _stamp_times(lines: str, times: set[int]) -> str:
    """Only the last cell is followed by a newline, and no cell holds one: ",<digits>\n" is always a time.
    A replace per time for the usual one or two; one pass for many (codes added one request at a time
    each have their own, and a replace each would make a range quadratic)."""
    if len(times) > _TIMES_REPLACED_ONE_BY_ONE:
        stamped = {micros: f",{to_rfc3339(micros)}\n" for micros in times}
        return _TIME_AT_LINE_END.sub(lambda match: stamped[int(match[1])], lines)
    for micros in times:
        lines = lines.replace(f",{micros}\n", f",{to_rfc3339(micros)}\n")
    return lines


def guard_codes(lines: str) -> str:
    """The formula guard for the first cell, the code, on the whole text at once: a code starts each line
    and holds no newline, so a newline followed by a formula character is always a code's first character.
    (The user cell is guarded in SQL: a quoted user may hold ",=", so its start cannot be told apart.)
    One regular expression pass, not a replace per character: the export's hot loop."""
    guarded = _CODE_STARTING_A_FORMULA.sub("\n'", lines)
    return "'" + guarded if lines[0] in FORMULA_CHARACTERS else guarded
