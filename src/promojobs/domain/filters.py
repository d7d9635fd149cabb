"""Elastic Path's ``filter`` query-parameter language.

A filter is one or more clauses ``op(field,value[,value...])`` joined by ``:`` (logical AND), for example
``eq(job_type,code_export):eq(status,completed)``. The grammar accepted here (Elastic Path's "beta"
filtering syntax, https://elasticpath.dev/guides/Getting-Started/filtering)::

    filter   := clause (":" clause)*
    clause   := SP* op "(" SP* field SP* "," operand ("," operand)* ")" SP*
    op       := "eq" | "like" | "ilike" | "in" | "gt" | "ge" | "lt" | "le"
    field    := [A-Za-z_][A-Za-z0-9_.]*
    operand  := SP* (quoted | bare) SP*
    quoted   := '"' ... '"' | "'" ... "'"        (backslash escapes the quote character or a backslash)
    bare     := [A-Za-z0-9$\\-_*.@+/{}| ]+        (inner spaces kept, outer spaces dropped)

Only ``in`` takes more than one operand. Every failure raises ``InvalidFilter`` with Elastic Path's title
and detail ("Could not parse the supplied filter"); an attribute the endpoint does not know, and a value an
enumerated attribute cannot have (``require_one_of``), add what was wrong and what is allowed to the detail.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from promojobs.domain.errors import InvalidFilter

__all__ = [
    "KNOWN_OPS",
    "MAX_FILTER_BYTES",
    "MAX_FILTER_CLAUSES",
    "Clause",
    "parse_filter",
    "require_one_of",
]

MAX_FILTER_CLAUSES = 10
MAX_FILTER_BYTES = 8 * 1024
MAX_ECHOED_CHARS = 40  # of a name or value the client chose, in an error detail

KNOWN_OPS: frozenset[str] = frozenset({"eq", "like", "ilike", "in", "gt", "ge", "lt", "le"})
_MULTI_VALUE_OPS: frozenset[str] = frozenset({"in"})

_SPACE = " "
_QUOTES = frozenset({'"', "'"})
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ASCII_DIGITS = frozenset("0123456789")
_OP_CHARS = _ASCII_LETTERS | {"_"}
_FIELD_START = _ASCII_LETTERS | {"_"}
_FIELD_REST = _FIELD_START | _ASCII_DIGITS | {"."}
_OPERAND_END = frozenset({",", ")"})
_BARE_CHARS = _ASCII_LETTERS | _ASCII_DIGITS | frozenset("$-_*.@+/{}| ")


@dataclass(frozen=True)
class Clause:
    """One ``op(field,value...)`` term of a filter."""

    op: str
    field: str
    values: tuple[str, ...]


def _is_control(ch: str) -> bool:
    """C0 controls, DEL, C1 controls and lone surrogates are never allowed, quoted or not."""
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


class _Parser:
    """A single-pass recursive-descent parser over the decoded filter string."""

    def __init__(self, text: str, allowed: Mapping[str, frozenset[str]]) -> None:
        self._text = text
        self._pos = 0
        self._allowed = allowed

    # -- low-level cursor helpers ---------------------------------------------------------------------

    def _peek(self) -> str:
        """The current character, or "" at the end of input (never a member of the char sets)."""
        return self._text[self._pos] if self._pos < len(self._text) else ""

    def _at_end(self) -> bool:
        return self._pos >= len(self._text)

    def _skip_spaces(self) -> None:
        while self._peek() == _SPACE:
            self._pos += 1

    def _expect(self, ch: str) -> None:
        if self._peek() != ch:
            raise InvalidFilter()
        self._pos += 1

    # -- grammar --------------------------------------------------------------------------------------

    def parse(self) -> tuple[Clause, ...]:
        clauses: list[Clause] = []
        while True:
            if len(clauses) == MAX_FILTER_CLAUSES:
                raise InvalidFilter()
            clauses.append(self._clause())
            if self._at_end():
                return self._allowed_only(tuple(clauses))
            self._expect(":")

    def _allowed_only(self, clauses: tuple[Clause, ...]) -> tuple[Clause, ...]:
        """A well-formed filter may still name an attribute or operator this list does not filter on."""
        for clause in clauses:
            if clause.field not in self._allowed:
                raise InvalidFilter(_unknown_attribute(clause.field, sorted(self._allowed)))
            if clause.op not in self._allowed[clause.field]:
                raise InvalidFilter()
        return clauses

    def _clause(self) -> Clause:
        self._skip_spaces()
        op = self._op()
        self._expect("(")
        self._skip_spaces()
        field = self._field()
        self._skip_spaces()
        self._expect(",")
        values = [self._operand()]
        while self._peek() == ",":
            self._pos += 1
            values.append(self._operand())
        self._expect(")")
        self._skip_spaces()
        if len(values) > 1 and op not in _MULTI_VALUE_OPS:
            raise InvalidFilter()
        return Clause(op=op, field=field, values=tuple(values))

    def _op(self) -> str:
        start = self._pos
        while self._peek() in _OP_CHARS:
            self._pos += 1
        op = self._text[start : self._pos]
        if op not in KNOWN_OPS:
            raise InvalidFilter()
        return op

    def _field(self) -> str:
        start = self._pos
        if self._peek() not in _FIELD_START:
            raise InvalidFilter()
        self._pos += 1
        while self._peek() in _FIELD_REST:
            self._pos += 1
        return self._text[start : self._pos]

    def _operand(self) -> str:
        """One value; leaves the cursor on the following ``,`` or ``)``."""
        self._skip_spaces()
        value = self._quoted() if self._peek() in _QUOTES else self._bare()
        self._skip_spaces()
        if self._peek() not in _OPERAND_END:
            raise InvalidFilter()
        if value == "":
            raise InvalidFilter()
        return value

    def _quoted(self) -> str:
        quote = self._peek()
        self._pos += 1
        out: list[str] = []
        while True:
            if self._at_end():
                raise InvalidFilter()  # unterminated quote
            ch = self._text[self._pos]
            self._pos += 1
            if _is_control(ch):
                raise InvalidFilter()
            if ch == quote:
                return "".join(out)
            if ch == "\\":
                escaped = self._peek()
                if escaped not in {quote, "\\"}:
                    raise InvalidFilter()
                self._pos += 1
                out.append(escaped)
            else:
                out.append(ch)

    def _bare(self) -> str:
        start = self._pos
        while not self._at_end() and self._peek() not in _OPERAND_END:
            if self._peek() not in _BARE_CHARS:
                raise InvalidFilter()
            self._pos += 1
        # Leading spaces were skipped by the caller; trailing ones are not part of the value.
        return self._text[start : self._pos].rstrip(_SPACE)


def parse_filter(raw: str | None, allowed: Mapping[str, frozenset[str]]) -> tuple[Clause, ...]:
    """Parse a decoded ``filter`` query value into clauses, checked against the endpoint's ``allowed`` map.

    ``allowed`` maps each filterable attribute to the operators the endpoint accepts for it. ``None``, ``""``
    or only spaces mean "no filter" and give ``()``. Anything malformed, over the limits (10 clauses,
    8 KiB of UTF-8) or not allowed raises ``InvalidFilter``.
    """
    if raw is None:
        return ()
    try:
        size = len(raw.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates cannot come from a real request
        raise InvalidFilter() from None
    if size > MAX_FILTER_BYTES:
        raise InvalidFilter()
    if raw.strip(_SPACE) == "":
        return ()
    return _Parser(raw, allowed).parse()


def require_one_of(clause: Clause, allowed: Sequence[str], value: str) -> None:
    """Refuse ``value`` of an enumerated attribute (a job's ``status``, say) that is none of ``allowed``:
    such a filter could only ever match nothing, which hides the mistake."""
    if value not in allowed:
        raise InvalidFilter(
            f"{InvalidFilter.__doc__}: {clause.field} cannot be {_shown(value)}; "
            f"it is one of {', '.join(allowed)}"
        )


def _unknown_attribute(field: str, known: Sequence[str]) -> str:
    by_lower = {name.lower(): name for name in known}
    closest = difflib.get_close_matches(field.lower(), list(by_lower), n=1)
    hint = f" (did you mean {by_lower[closest[0]]}?)" if closest else ""
    filters = f"this list filters on {', '.join(known)}" if known else "this list has no filters"
    return f"{InvalidFilter.__doc__}: unknown attribute {_shown(field)}{hint}; {filters}"


def _shown(text: str) -> str:
    return text if len(text) <= MAX_ECHOED_CHARS else text[:MAX_ECHOED_CHARS] + "..."
