"""Command line: ``promojobs serve | worker | migrate | clients create | clients revoke``."""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType

import click
import uvicorn

from promojobs import bootstrap
from promojobs.config import Settings
from promojobs.domain.errors import Unavailable
from promojobs.store.migrate import upgrade
from promojobs.worker.runner import Worker
from promojobs.worker.wakeup import PostgresListener, psycopg_conninfo

log = logging.getLogger("promojobs")
DATABASE_WAIT_SECONDS = 60.0


@click.group()
def main() -> None:
    """promojobs: Elastic Path promotion codes and bulk code jobs, self-hosted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


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
    container = bootstrap.build(settings)
    _wait_for_database(lambda: upgrade(container.database))
    credentials = bootstrap.ensure_bootstrap_client(container)
    if credentials is not None:
        click.echo(f"First start: created a client for store 'default'; its credentials are in {credentials}")
    from promojobs.api.app import create_app

    uvicorn.run(create_app(container), host=settings.host, port=settings.port, log_level="info")


@main.command()
def migrate() -> None:
    """Apply the database migrations."""
    container = bootstrap.build(Settings())
    _wait_for_database(lambda: upgrade(container.database))
    click.echo("migrations applied")


@main.command()
def worker() -> None:
    """Run a worker process (stops gracefully on SIGTERM or Ctrl-C: the current batch ends, the task is
    handed back)."""
    container = bootstrap.build(Settings())
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()
        container.wakeup.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if container.database.is_postgres:
        PostgresListener(psycopg_conninfo(container.database.url), container.wakeup, stop).start()
    Worker(container.database, container.worker_settings(), container.wakeup).run(stop)


@main.group()
def clients() -> None:
    """Manage API clients (client_credentials)."""


@clients.command("create")
@click.option("--store", required=True, help="Store name; created if it does not exist.")
def clients_create(store: str) -> None:
    """Create a client; its secret is printed once and stored only hashed."""
    container = bootstrap.build(Settings())
    _wait_for_database(lambda: upgrade(container.database))
    client = container.auth.create_client(store)
    click.echo(f"store:         {client.store}")
    click.echo(f"client_id:     {client.client_id}")
    click.echo(f"client_secret: {client.client_secret}")
    click.echo("The secret is shown only now; store it safely.", err=True)


@clients.command("revoke")
@click.argument("client_id")
def clients_revoke(client_id: str) -> None:
    """Revoke a client and every token it holds."""
    container = bootstrap.build(Settings())
    if not container.auth.revoke_client(client_id):
        raise click.ClickException(f"no client {client_id}")
    click.echo(f"revoked {client_id}")


def _wait_for_database(action: object) -> None:
    """Run ``action``, retrying while the database cannot be reached, with a clear message."""
    from sqlalchemy.exc import OperationalError

    deadline = time.monotonic() + DATABASE_WAIT_SECONDS
    delay = 0.5
    while True:
        try:
            action()  # type: ignore[operator]
            return
        except (OperationalError, Unavailable) as exc:
            if time.monotonic() > deadline:
                raise click.ClickException(f"the database cannot be reached: {exc}") from exc
            log.warning(
                "the database cannot be reached yet (%s); retrying in %.1fs", type(exc).__name__, delay
            )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
