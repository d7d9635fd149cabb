"""``python -m bench [--quick] [--profile]``: promojobs against the raw database baseline, same run, same
machine. Prints one table row per measurement and writes the table into docs/performance.md."""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import machine, report
from bench.dbs import PG_ADMIN_URL, Databases, Kind, postgres_reachable
from bench.report import Row
from bench.suite import FULL, QUICK, Suite, environment_ok, remove_tree

_STARTED = time.monotonic()


def _say(message: str) -> None:
    print(f"  … {time.monotonic() - _STARTED:5.0f} s  {message}", file=sys.stderr, flush=True)


def _emit(row: Row) -> None:
    print(report.console_line(row), flush=True)
    for detail in row.details:
        print(f"      {detail}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller counts, under 2 minutes")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated (default: both)")
    parser.add_argument("--no-big", action="store_true", help="skip the PostgreSQL 1-vs-2-worker run")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    parser.add_argument("--profile", action="store_true", help="profile the worker with py-spy instead")
    parser.add_argument(
        "--distant-ms",
        type=float,
        default=None,
        metavar="MS",
        help="also measure the job listing with PostgreSQL MS ms away, each way (e.g. 1)",
    )
    parser.add_argument(
        "--only-http", action="store_true", help="only the HTTP rows (listing, /healthz), no jobs or exports"
    )
    parser.add_argument(
        "--only-rule", action="store_true", help="only the rule-promotion rows (generate and export)"
    )
    args = parser.parse_args(argv)

    problems = environment_ok()
    if problems:
        for problem in problems:
            print(f"cannot run the benchmark: {problem}", file=sys.stderr)
        return 2
    backends: list[Kind] = []
    for name in args.backends.split(","):
        if name not in ("sqlite", "postgresql"):
            parser.error(f"unknown backend {name}")
        backends.append("sqlite" if name == "sqlite" else "postgresql")
    pg_ok = postgres_reachable()
    if "postgresql" in backends and not pg_ok:
        print(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: its measurements are SKIPPED", file=sys.stderr)
        backends.remove("postgresql")

    plan = QUICK if args.quick else FULL
    work_dir = Path(tempfile.mkdtemp(prefix="promojobs-bench-"))
    if pg_ok:
        Databases(work_dir).drop_stale()
    if args.profile:
        from bench import profile

        try:
            return profile.run(plan, backends, work_dir, write_doc=not args.no_doc)
        finally:
            if not args.keep:
                remove_tree(work_dir)

    suite = Suite(plan, work_dir, _emit, _say)
    suite.distant_ms = args.distant_ms
    started = time.monotonic()
    failures: list[str] = []
    print(f"promojobs benchmark, {plan.mode} mode; work directory {work_dir}", flush=True)
    print(report.console_header(), flush=True)
    try:
        for kind in backends:
            try:
                if args.only_http:
                    suite.http_only(kind)
                    continue
                if not args.only_rule:
                    suite.backend(kind)
                suite.rule(kind)
            except Exception as exc:
                traceback.print_exc()
                failures.append(f"{kind}: {exc}")
                suite.close()
        skip_big = args.no_big or args.only_rule or args.only_http
        if "postgresql" in backends and plan.big_codes and not skip_big:
            try:
                suite.big()
            except Exception as exc:
                traceback.print_exc()
                failures.append(f"big: {exc}")
    finally:
        suite.close()
        if not args.keep:
            remove_tree(work_dir)
    elapsed = time.monotonic() - started

    print(f"\n{plan.mode} run took {elapsed / 60:.1f} min", flush=True)
    print(report.markdown_table(suite.rows))
    failed = [row.what for row in suite.rows if row.passed is False]
    print(f"\ntargets: {sum(1 for r in suite.rows if r.passed)} PASS, {len(failed)} FAIL")
    for what in failed:
        print(f"  FAIL: {what}")
    for failure in failures:
        print(f"  ERROR: {failure}")
    load_note = _load_note(suite.loads)
    print(load_note)
    if not args.no_doc and suite.rows:
        errors = [f"Error in this run: {failure}" for failure in failures]
        section = f"{plan.mode}-rule" if args.only_rule else plan.mode  # its own section of the doc
        _write_doc(section, suite.rows, elapsed, backends, [*errors, load_note], pg_ok)
        print(f"wrote {report.DOC}")
    return 1 if failures else 0


def _load_note(loads: list[float]) -> str:
    if not loads:
        return ""
    cores = os.cpu_count() or 1
    note = (
        f"Load average (1 min) sampled during the run: {min(loads):.1f} to {max(loads):.1f} on {cores} cores."
    )
    if max(loads) > cores + 1:
        note += " Other work was running on the machine, so the figures are noisier than usual."
    return note


_FLAGS = {"quick": " --quick", "full-rule": " --only-rule", "quick-rule": " --quick --only-rule"}


def _write_doc(
    mode: str, rows: list[Row], elapsed: float, backends: list[Kind], notes: list[str], pg_ok: bool
) -> None:
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Run of `python -m bench{_FLAGS.get(mode, '')}` on {when}: "
        f"{elapsed / 60:.1f} minutes, backends {', '.join(backends)}.",
        "",
        "| machine | |",
        "|---|---|",
    ]
    lines += [f"| {key} | {value} |" for key, value in machine.describe(PG_ADMIN_URL if pg_ok else None)]
    lines.append(f"| promojobs | {machine.revision()} |")
    lines += ["", report.markdown_table(rows), "", "Details:", "", report.details_list(rows)]
    lines += ["", *[note for note in notes if note]]
    report.replace_section(mode, "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
