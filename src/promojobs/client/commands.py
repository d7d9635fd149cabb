"""``promojobs promotions …`` and ``promojobs jobs …``: the public API from a terminal or a script.

Exit codes: 0 when the job completed (or the command did what it says), 1 when the job failed or was
cancelled or the API refused (one line on stderr with the Elastic Path error), 2 for usage errors, 130
when Ctrl-C stopped the watching (the job goes on unless ``--cancel-on-interrupt``).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from rich.console import Console
from rich.table import Table

from promojobs.client.api import (
    DEFAULT_URL,
    FINAL_STATUSES,
    Api,
    ApiError,
    MissingCredentials,
    resolve_credentials,
)
from promojobs.client.report import byte_reporter, describe, generated_of, job_reporter, on_terminal, total_of

F = TypeVar("F", bound=Callable[..., Any])
INTERRUPTED = 130
DOWNLOAD_CHUNK_BYTES = 256 * 1024


class JobDidNotComplete(click.ClickException):
    exit_code = 1


def connected(command: F) -> F:
    """Add the connection options and ``--json``; hand the command an ``Api``; turn refusals into one
    line on stderr and exit 1."""

    @click.option(
        "--url",
        envvar="PROMOJOBS_URL",
        default=DEFAULT_URL,
        show_default=True,
        help="The promojobs server (PROMOJOBS_URL).",
    )
    @click.option("--client-id", envvar="PROMOJOBS_CLIENT_ID", help="Client id (PROMOJOBS_CLIENT_ID).")
    @click.option(
        "--client-secret",
        envvar="PROMOJOBS_CLIENT_SECRET",
        help="Client secret (PROMOJOBS_CLIENT_SECRET; prefer the variable: options show in ps).",
    )
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output: JSON on stdout.")
    @functools.wraps(command)
    def wrapper(url: str, client_id: str | None, client_secret: str | None, **kwargs: Any) -> Any:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO line per request is noise here
        try:
            credentials = resolve_credentials(url, client_id, client_secret)
        except MissingCredentials as exc:
            raise click.UsageError(str(exc)) from exc
        api = Api(url, credentials)
        try:
            return command(api, **kwargs)
        except ApiError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            api.close()

    return cast(F, wrapper)


def watch_options(command: F) -> F:
    command = click.option(
        "--cancel-on-interrupt", is_flag=True, help="On Ctrl-C, cancel the job as well as stop watching."
    )(command)
    command = click.option(
        "--interval",
        type=click.FloatRange(min=0.05),
        default=0.5,
        show_default=True,
        help="Seconds between two looks at the job.",
    )(command)
    return command


output_option = click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="File (- for stdout).",
)


@click.group()
def promotions() -> None:
    """List and create standard promotions (/v2/promotions)."""


@promotions.command("list")
@connected
def promotions_list(api: Api, as_json: bool) -> None:
    """The store's promotions with their code counts."""
    found = [{**promotion, "codes_total": api.code_count(promotion["id"])} for promotion in api.promotions()]
    if as_json:
        _print_json(found)
        return
    rows = [
        [
            p["id"],
            p["name"],
            p["promotion_type"],
            "yes" if p.get("enabled") else "no",
            f"{p['codes_total']:,}",
        ]
        for p in found
    ]
    _print_table(["id", "name", "type", "enabled", "codes"], rows)


@promotions.command("create")
@click.option("--name", required=True, help="The promotion's name.")
@click.option("--description", default="", help="Its description.")
@click.option("--type", "promotion_type", default="fixed_discount", show_default=True, help="promotion_type.")
@click.option("--amount", type=int, help="For fixed_discount: the amount off in minor units (1000 = 10.00).")
@click.option("--currency", default="USD", show_default=True, help="The currency of --amount.")
@click.option("--schema", "schema_json", help="The promotion schema as JSON, e.g. '{\"percent\": 10}'.")
@click.option("--start", help="Start date, e.g. 2026-06-01.")
@click.option("--end", help="End date, e.g. 2026-09-01.")
@click.option("--automatic", is_flag=True, help="Applies without a code (then it takes no codes).")
@click.option("--disabled", is_flag=True, help="Create it disabled.")
@connected
def promotions_create(
    api: Api, as_json: bool, schema_json: str | None, amount: int | None, **options: Any
) -> None:
    """Create a standard promotion; prints its id."""
    fields: dict[str, Any] = {
        "name": options["name"],
        "description": options["description"],
        "promotion_type": options["promotion_type"],
        "enabled": not options["disabled"],
        "automatic": options["automatic"],
    }
    fields["schema"] = _schema(schema_json, amount, options["currency"])
    fields.update({name: options[name] for name in ("start", "end") if options[name]})
    promotion = api.create_promotion(fields)
    if as_json:
        _print_json(promotion)
    else:
        click.echo(promotion["id"])


def _schema(schema_json: str | None, amount: int | None, currency: str) -> dict[str, Any]:
    if schema_json is not None:
        try:
            schema = json.loads(schema_json)
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--schema") from exc
        if not isinstance(schema, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--schema")
        return schema
    if amount is None:
        raise click.UsageError("give --amount (fixed_discount) or --schema")
    return {"currencies": [{"currency": currency, "amount": amount}]}


@click.group()
def jobs() -> None:
    """Promotion jobs: generate codes, export them, watch, cancel, download."""


@jobs.command("list")
@click.argument("promotion_id")
@click.option(
    "--type", "job_type", type=click.Choice(["code_generate", "code_export"]), help="Only this type."
)
@click.option(
    "--status",
    type=click.Choice(["pending", "processing", "completed", "failed", "cancelling", "cancelled"]),
    help="Only this status.",
)
@connected
def jobs_list(api: Api, as_json: bool, promotion_id: str, job_type: str | None, status: str | None) -> None:
    """A promotion's jobs, newest first, with Elastic Path's filters."""
    found = api.jobs(promotion_id, job_type, status)
    if as_json:
        _print_json(found)
        return
    rows = [
        [
            job["id"],
            job["job_type"],
            job["status"],
            _progress_cell(job),
            job["meta"]["timestamps"]["created_at"],
            job.get("name", ""),
        ]
        for job in found
    ]
    _print_table(["id", "type", "status", "codes", "created", "name"], rows)


@jobs.command("generate")
@click.argument("promotion_id")
@click.option("--count", type=click.IntRange(min=1), required=True, help="number_of_codes.")
@click.option("--prefix", help="code_prefix, prepended as given.")
@click.option("--length", type=click.IntRange(8, 16), help="code_length: random characters (default 8).")
@click.option("--max-uses", type=click.IntRange(min=0), help="max_uses_per_code.")
@click.option("--consume-unit", type=click.Choice(["per_cart", "per_item"]), help="consume_unit.")
@click.option("--name", help="A name for the job.")
@click.option("--wait", is_flag=True, help="Watch the job until it ends (exit 0 only if it completed).")
@watch_options
@connected
def jobs_generate(api: Api, as_json: bool, promotion_id: str, **options: Any) -> None:
    """Start a code_generate job; prints its id (or, with --wait, its progress)."""
    parameters = {
        "number_of_codes": options["count"],
        "code_prefix": options["prefix"],
        "code_length": options["length"],
        "max_uses_per_code": options["max_uses"],
        "consume_unit": options["consume_unit"],
    }
    fields: dict[str, Any] = {"parameters": {k: v for k, v in parameters.items() if v is not None}}
    if options["name"]:
        fields["name"] = options["name"]
    job = api.create_job(promotion_id, "code_generate", **fields)
    if options["wait"]:
        _watch(api, promotion_id, job["id"], as_json, options["interval"], options["cancel_on_interrupt"])
    elif as_json:
        _print_json(job)
    else:
        click.echo(job["id"])


@jobs.command("watch")
@click.argument("promotion_id")
@click.argument("job_id")
@watch_options
@connected
def jobs_watch(
    api: Api, as_json: bool, promotion_id: str, job_id: str, interval: float, cancel_on_interrupt: bool
) -> None:
    """Follow a job until it ends: exit 0 if it completed, 1 if it failed or was cancelled."""
    _watch(api, promotion_id, job_id, as_json, interval, cancel_on_interrupt)


@jobs.command("cancel")
@click.argument("promotion_id")
@click.argument("job_id")
@connected
def jobs_cancel(api: Api, as_json: bool, promotion_id: str, job_id: str) -> None:
    """Cancel a pending or processing job (a processing one goes cancelling, then cancelled)."""
    job = api.cancel(promotion_id, job_id)
    _print_json(job) if as_json else click.echo(describe(job))


@jobs.command("export")
@click.argument("promotion_id")
@output_option
@watch_options
@connected
def jobs_export(
    api: Api, as_json: bool, promotion_id: str, output: str, interval: float, cancel_on_interrupt: bool
) -> None:
    """Export every code of the promotion to CSV: start the job, wait for it, download the file."""
    job = api.create_job(promotion_id, "code_export")
    _watch(api, promotion_id, job["id"], as_json, interval, cancel_on_interrupt, quiet=output == "-")
    _download(api, promotion_id, job["id"], output, as_json)


@jobs.command("download")
@click.argument("promotion_id")
@click.argument("job_id")
@output_option
@connected
def jobs_download(api: Api, as_json: bool, promotion_id: str, job_id: str, output: str) -> None:
    """Download the CSV of a completed export job."""
    _download(api, promotion_id, job_id, output, as_json)


# --- watching and downloading ---------------------------------------------------------------------


def _watch(
    api: Api,
    promotion_id: str,
    job_id: str,
    as_json: bool,
    interval: float,
    cancel_on_interrupt: bool,
    quiet: bool = False,
) -> None:
    reporter = job_reporter(as_json) if not quiet else None
    job: dict[str, Any] | None = None
    # Ctrl-C must reach us as KeyboardInterrupt even when started with SIGINT ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while True:
            job = api.job(promotion_id, job_id)
            if reporter is not None:
                reporter.update(job)
            if job["status"] in FINAL_STATUSES:
                break
            time.sleep(interval)  # a poll, answered from the server's read cache while nothing changed
    except KeyboardInterrupt:
        if reporter is not None:
            reporter.close()
        _interrupted(api, promotion_id, job_id, as_json, cancel_on_interrupt)
    if reporter is not None:
        reporter.close()
    assert job is not None
    if job["status"] != "completed":
        raise JobDidNotComplete(describe(job))


def _interrupted(api: Api, promotion_id: str, job_id: str, as_json: bool, cancel: bool) -> None:
    if not cancel:
        click.echo(
            f"stopped watching job {job_id}; it goes on (promojobs jobs watch {promotion_id} {job_id})",
            err=True,
        )
        sys.exit(INTERRUPTED)
    try:
        job = api.cancel(promotion_id, job_id)
    except ApiError as exc:
        raise click.ClickException(f"interrupted; cancelling job {job_id} was refused: {exc}") from None
    if as_json:
        _print_json(job)
    raise JobDidNotComplete(f"interrupted: cancel requested, {describe(job)}")


def _download(api: Api, promotion_id: str, job_id: str, output: str, as_json: bool) -> None:
    href = api.file_link(promotion_id, job_id)
    target = None if output == "-" else Path(output)
    partial = None if target is None else target.with_name(f".{target.name}.part-{os.getpid()}")
    reporter = byte_reporter(as_json, "download")
    size = 0
    try:
        with api.download(href) as response:
            declared = response.headers.get("Content-Length")
            reporter.start(int(declared) if declared and declared.isdigit() else None)
            with partial.open("wb") if partial is not None else _stdout_bytes() as sink:
                for chunk in response.iter_bytes(DOWNLOAD_CHUNK_BYTES):
                    sink.write(chunk)
                    size += len(chunk)
                    reporter.advance(len(chunk))
        if partial is not None and target is not None:
            partial.replace(target)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    finally:
        reporter.close()
        if partial is not None and partial.exists():
            partial.unlink()
    if target is None:
        return
    if as_json:
        _print_json({"job_id": job_id, "file": str(target), "bytes": size})
    else:
        click.echo(f"wrote {size:,} bytes to {target}")


class _stdout_bytes:
    """sys.stdout's byte stream as a context manager that does not close it."""

    def __enter__(self) -> Any:
        return sys.stdout.buffer

    def __exit__(self, *_: object) -> None:
        sys.stdout.buffer.flush()


# --- output ---------------------------------------------------------------------------------------


def _progress_cell(job: dict[str, Any]) -> str:
    total = total_of(job)
    return f"{generated_of(job):,}/{total:,}" if total else ""


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, sort_keys=True))


def _print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A rich table on a terminal; tab-separated lines (with a header line) for scripts."""
    if on_terminal():
        table = Table(*headers)
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return
    for row in [headers, *rows]:
        click.echo("\t".join(row))
