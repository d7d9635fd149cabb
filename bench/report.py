"""Table rows, their formatting, and writing the table into docs/performance.md between markers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
HEADER = ("measurement", "promojobs", "raw baseline (same run)", "ratio", "target", "result")


@dataclass
class Row:
    """One measurement: the promojobs figure, the raw baseline measured in the same run, their ratio."""

    what: str
    promojobs: str
    baseline: str
    ratio: float | None
    target: str = ""
    passed: bool | None = None
    details: list[str] = field(default_factory=list)

    @property
    def result(self) -> str:
        if self.passed is None:
            return ""
        return "PASS" if self.passed else "FAIL"

    def cells(self) -> tuple[str, ...]:
        ratio = "" if self.ratio is None else f"{self.ratio:.2f}"
        return (self.what, self.promojobs, self.baseline, ratio, self.target, self.result)


def at_least(row: Row, minimum: float) -> Row:
    row.target = f"≥ {minimum:g}"
    row.passed = row.ratio is not None and row.ratio >= minimum
    return row


def at_most(row: Row, maximum: float) -> Row:
    row.target = f"≤ {maximum:g}"
    row.passed = row.ratio is not None and row.ratio <= maximum
    return row


def seconds_and_rate(seconds: float, count: int, unit: str = "codes") -> str:
    return f"{seconds:.2f} s ({count / seconds:,.0f} {unit}/s)"


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row.cells()) + " |")
    return "\n".join(lines)


def console_line(row: Row) -> str:
    what, pj, base, ratio, target, result = row.cells()
    return f"{what:<58} {pj:>30} {base:>30} {ratio:>6} {target:>7} {result:>4}"


def console_header() -> str:
    what, pj, base, ratio, target, result = HEADER
    return f"{what:<58} {pj:>30} {base[:30]:>30} {ratio:>6} {target:>7} {result:>4}"


def details_list(rows: list[Row]) -> str:
    out: list[str] = []
    for row in rows:
        for detail in row.details:
            out.append(f"- {row.what}: {detail}")
    return "\n".join(out)


def replace_section(name: str, body: str, doc: Path = DOC) -> None:
    """Put ``body`` between ``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->`` in the doc,
    appending the section (with its markers) if the doc does not have it yet."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = doc.read_text() if doc.exists() else "# Performance\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.write_text(text)
