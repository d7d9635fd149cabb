"""Run the schemathesis CLI against a live promojobs server, read its JSON report, print its counts.

The CLI (not the pytest plugin) is used because it runs every phase (examples, coverage, fuzzing and the
stateful phase that follows OpenAPI links) in one bounded run and writes a machine-readable report. Each
run is bounded twice: ``--max-time`` (fuzzing and stateful testing repeat until it is spent) and a
subprocess timeout a minute later, in case the server stops answering.

The counts go to the real stderr, past pytest's capture, so that CI output shows them even under xdist.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Set PROMOJOBS_FUZZ_SEED to replay a run (the seed of every run is printed with its counts).
SEED_VARIABLE = "PROMOJOBS_FUZZ_SEED"


@dataclass(frozen=True)
class FuzzRun:
    label: str
    report: dict[str, Any]
    output: str
    exit_code: int

    @property
    def seed(self) -> object:
        return self.report.get("seed")

    @property
    def operations(self) -> dict[str, Any]:
        operations: dict[str, Any] = self.report.get("operations") or {}
        return operations

    @property
    def cases(self) -> dict[str, Any]:
        cases: dict[str, Any] = self.report.get("test_cases") or {}
        return cases

    @property
    def phases(self) -> dict[str, str]:
        phases: dict[str, Any] = self.report.get("phases") or {}
        return {name: str(phase["status"]) for name, phase in phases.items()}

    @property
    def failures(self) -> list[dict[str, Any]]:
        failures: list[dict[str, Any]] = self.report.get("failures") or []
        return failures

    @property
    def errors(self) -> list[dict[str, Any]]:
        errors: list[dict[str, Any]] = self.report.get("errors") or []
        return errors

    @property
    def links_followed(self) -> int:
        """How many OpenAPI links (explicit or inferred) the stateful phase followed (from the CLI output)."""
        links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", self.output)
        return int(links[1]) if links else 0

    def summary(self) -> str:
        operations = self.operations
        cases = self.cases
        phases = " ".join(f"{name}={status}" for name, status in self.phases.items())
        line = (
            f"[fuzz] schemathesis {self.label}: {operations.get('tested')}/{operations.get('selected')} "
            f"operations tested, {cases.get('generated')} cases, "
            f"{sum(int(failure['count']) for failure in self.failures)} failures "
            f"({cases.get('unique_failures')} unique), {len(self.errors)} errors; {phases}; "
            f"{float(self.report.get('running_time') or 0):.0f} s; seed {self.seed}"
        )
        links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", self.output)
        if links:
            line += f"; stateful links followed {links[1]} of {links[2]}"
        baseline = self.report.get("baseline")
        if baseline:
            line += (
                f"; known divergences seen {baseline.get('known')} of {len(_known_ids(baseline))}"
                f" listed, new {baseline.get('new')}"
            )
        return line

    def details(self) -> str:
        """The CLI's own account of the failures (with curl reproductions), for an assertion message."""
        start = self.output.find("FAILURES")
        text = self.output[start:] if start >= 0 else self.output
        return f"{self.summary()}\n{text[-20_000:]}"


def _known_ids(baseline: dict[str, Any]) -> list[str]:
    return list(baseline.get("known_ids") or []) + list(baseline.get("unobserved_ids") or [])


def run_schemathesis(
    location: str,
    *,
    label: str,
    token: str,
    checks: Sequence[str],
    max_examples: int,
    max_time: int,
    work_dir: Path,
    base_url: str | None = None,
    baseline: Path | None = None,
) -> FuzzRun:
    work_dir.mkdir(parents=True, exist_ok=True)
    report_path = work_dir / "report.json"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        location,
        "--checks",
        ",".join(checks),
        "--max-examples",
        str(max_examples),
        "--max-time",
        str(max_time),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--header",
        f"Authorization: Bearer {token}",
        "--report",
        "json",
        "--report-json-path",
        str(report_path),
        "--no-color",
    ]
    if base_url is not None:
        command += ["--url", base_url]
    if baseline is not None:
        command += ["--baseline", str(baseline), "--continue-on-failure"]
    if os.environ.get(SEED_VARIABLE):
        command += ["--seed", os.environ[SEED_VARIABLE]]
    # Run in work_dir so that no configuration file of the checkout is read and nothing is written there.
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=work_dir,
        timeout=max_time + 60,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"},
    )
    output = completed.stdout + completed.stderr
    if not report_path.is_file():
        raise AssertionError(
            f"schemathesis wrote no report (exit {completed.returncode}):\n{output[-20_000:]}"
        )
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return FuzzRun(label, report, output, completed.returncode)


def show(capsys: pytest.CaptureFixture[str], *lines: str) -> None:
    """Write ``lines`` to the real stderr, past pytest's capture (also from an xdist worker)."""
    with capsys.disabled():
        sys.stderr.write("\n" + "\n".join(lines) + "\n")
        sys.stderr.flush()
