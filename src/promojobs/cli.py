"""Command line: ``promojobs serve | worker | migrate | clients create|list|revoke``, and the HTTP client's
``promojobs promotions …`` and ``promojobs jobs …`` (promojobs.client)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

import click
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from promojobs import bootstrap, logs
from promojobs.bootstrap import Container
from promojobs.client import commands as client_commands
from promojobs.config import Settings, settings_table, unknown_variables
from promojobs.domain.errors import Unavailable
from promojobs.domain.timefmt import to_rfc3339
from promojobs.memory import limit_malloc_arenas
from promojobs.store.database import normalise_url
from promojobs.store.migrate import upgrade

log = logging.getLogger("promojobs")
T = TypeVar("T")
RETRY_DELAY_SECONDS = 0.5
MAX_RETRY_DELAY_SECONDS = 5.0


@click.group()
@click.version_option(package_name="promojobs", prog_name="promojobs")
def main() -> None:
    """promojobs: Elastic Path promotion codes and bulk code jobs, self-hosted."""
    limit_malloc_arenas()  # before any thread starts
    logs.configure(Settings().log_format)
    for problem in unknown_variables(os.environ):
        log.warning("%s", problem)


@main.command()
@click.option("--host", default=None, help="Interface to listen on (PROMOJOBS_HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (PROMOJOBS_PORT, default 8000).")
@click.option("--no-worker", is_flag=True, help="Do not run the embedded worker in this process.")
def serve(host: str | None, port: int | None, no_worker: bool) -> None:
    """Apply migrations and serve the API (with an embedded worker unless --no-worker)."""
    overrides: dict[str, object] = {}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    if no_worker:
        overrides["embedded_worker"] = False
    settings = Settings(**overrides)  # type: ignore[arg-type]
    container = _open(settings, migrate=True)
    credentials = bootstrap.ensure_bootstrap_client(container)
    if credentials is not None:
        log.warning(
            "First start: created a client for store 'default'; its credentials are in %s", credentials
        )
    from promojobs.api import edge
    from promojobs.api.app import create_app

    edge.serve(create_app(container), settings)


@main.command()
def migrate() -> None:
    """Apply the database migrations."""
    _open(Settings(), migrate=True).database.dispose()
    click.echo("migrations applied")


@main.command()
def worker() -> None:
    """Run a worker process (stops gracefully on SIGTERM or Ctrl-C: the current batch ends, the task is
    handed back)."""
    container = _open(Settings(), migrate=False)
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()
        container.wakeup.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    stop_metrics = bootstrap.serve_metrics_port(container)  # with metrics=port: this worker's own
    try:
        bootstrap.run_worker(container, stop)
    finally:
        stop_metrics()


@main.group()
def clients() -> None:
    """Manage API clients (client_credentials)."""


@clients.command("create")
@click.option("--store", required=True, help="Store name; created if it does not exist.")
def clients_create(store: str) -> None:
    """Create a client; its secret is printed once and stored only hashed."""
    container = _open(Settings(), migrate=True)
    client = container.auth.create_client(store)
    click.echo(f"store:         {client.store}")
    click.echo(f"client_id:     {client.client_id}")
    click.echo(f"client_secret: {client.client_secret}")
    click.echo("The secret is shown only now; store it safely.", err=True)


@clients.command("list")
def clients_list() -> None:
    """Every client: id, store, created, revoked (never a secret)."""
    container = bootstrap.build(Settings())
    for client in container.auth.list_clients():
        revoked = "-" if client.revoked_at is None else to_rfc3339(client.revoked_at)
        click.echo("\t".join([client.client_id, client.store, to_rfc3339(client.created_at), revoked]))


@clients.command("revoke")
@click.argument("client_id")
def clients_revoke(client_id: str) -> None:
    """Revoke a client and every token it holds."""
    container = bootstrap.build(Settings())
    if not container.auth.revoke_client(client_id):
        raise click.ClickException(f"no client {client_id}")
    click.echo(f"revoked {client_id}")


main.add_command(client_commands.promotions)
main.add_command(client_commands.jobs)


@main.command("settings")
def settings_command() -> None:
    """List every setting (PROMOJOBS_* environment variable), its default and meaning, as the Markdown
    table in docs/jobs.md."""
    click.echo(settings_table(), nl=False)


def _open(settings: Settings, *, migrate: bool) -> Container:
    """Build the container and reach the database (applying the migrations if ``migrate``), waiting up to
    ``database_wait_seconds`` for a database that is not there yet."""

    def attempt() -> Container:
        container = bootstrap.build(settings)
        try:
            if migrate:
                upgrade(container.database)
            else:
                container.database.ping()
        except BaseException:
            container.database.dispose()
            raise
        return container

    return _wait_for_database(attempt, settings)


def _wait_for_database(action: Callable[[], T], settings: Settings) -> T:
    """Run ``action``, retrying while the database (or the data directory) cannot be reached; after
    ``database_wait_seconds`` give up with a message that says what, why and where to look."""
    wait = settings.database_wait_seconds
    deadline = time.monotonic() + wait
    delay = RETRY_DELAY_SECONDS
    while True:
        try:
            return action()
        except (OperationalError, InterfaceError, Unavailable, OSError) as exc:
            problem, hint = _describe(settings, exc)
            reason = _reason(exc)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise click.ClickException(f"{problem} ({reason}); gave up after {wait:g} s. {hint}") from exc
            pause = min(delay, remaining)
            log.warning(
                "%s (%s); retrying in %.1f s, for up to %.1f s more (PROMOJOBS_DATABASE_WAIT_SECONDS)",
                problem,
                reason,
                pause,
                remaining,
            )
            time.sleep(pause)
            delay = min(delay * 2, MAX_RETRY_DELAY_SECONDS)


def _describe(settings: Settings, exc: BaseException) -> tuple[str, str]:
    """What went wrong, and where to look."""
    if isinstance(exc, OSError):
        return f"the data directory {settings.data_dir} cannot be used", "Check PROMOJOBS_DATA_DIR."
    url = make_url(normalise_url(settings.resolved_database_url))
    if url.get_backend_name() == "sqlite":
        return (
            f"the SQLite database {url.database} cannot be opened",
            "Check that its directory exists and is writable (PROMOJOBS_DATA_DIR, PROMOJOBS_DATABASE_URL).",
        )
    shown = url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)
    return (
        f"the database at {shown} cannot be reached",
        "Check PROMOJOBS_DATABASE_URL and that the database server is running and accepts connections.",
    )


def _reason(exc: BaseException) -> str:
    """The driver's own words, on one line."""
    cause: BaseException = exc
    if isinstance(cause, Unavailable) and cause.__cause__ is not None:
        cause = cause.__cause__
    if isinstance(cause, DBAPIError) and cause.orig is not None:
        cause = cause.orig
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror if cause.filename is None else f"{cause.strerror}: {cause.filename}"
    return " ".join(str(cause).split()) or type(cause).__name__
