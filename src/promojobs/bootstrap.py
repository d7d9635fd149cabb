"""Composition root: settings → database → services, and the worker wired to them. Nothing here runs at
import time."""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from prometheus_client import CollectorRegistry, start_http_server

from promojobs.config import Settings
from promojobs.domain.pagination import PageCursors
from promojobs.metrics import registry_for
from promojobs.services.auth import AuthService, BootstrapOutcome, PromotionAccess
from promojobs.services.code_ids import CodeIds
from promojobs.services.codes import CodeService
from promojobs.services.downloads import DownloadLinks
from promojobs.services.jobs import JobLimits, JobService
from promojobs.services.promotions import PromotionService
from promojobs.services.read_cache import ReadCache
from promojobs.services.rule_promotions import RULE_CONSUME_UNITS, RuleCodeService, RulePromotionService
from promojobs.services.throttle import LoginThrottle, ProcessRegistry, StoreRateLimit
from promojobs.store.changes import (
    StoreVersions,
    psycopg_conninfo,
    read_store_version,
    store_versions,
)
from promojobs.store.database import Database
from promojobs.store.promotions import RULE
from promojobs.worker.context import WorkerSettings
from promojobs.worker.runner import Worker
from promojobs.worker.wakeup import PostgresListener, Wakeup

log = logging.getLogger("promojobs")

DEFAULT_STORE = "default"
BOOTSTRAP_FILE = "bootstrap-client.json"
SIGNING_KEY_FILE = "signing.key"


@dataclass
class Container:
    settings: Settings
    database: Database
    wakeup: Wakeup
    auth: AuthService
    access: PromotionAccess
    promotions: PromotionService
    codes: CodeService
    jobs: JobService
    links: DownloadLinks
    page_cursors: PageCursors
    store_rate_limit: StoreRateLimit
    registry: ProcessRegistry
    login_throttle: LoginThrottle
    read_cache: ReadCache
    store_versions: StoreVersions  # the read cache's version reads on the event loop
    metrics: CollectorRegistry
    rule_promotions: RulePromotionService
    rule_codes: RuleCodeService
    rule_jobs: JobService
    code_ids: CodeIds

    def worker_settings(self) -> WorkerSettings:
        s = self.settings
        return WorkerSettings(
            batch_size=s.worker_batch_size,
            lease_seconds=s.lease_seconds,
            poll_seconds=s.poll_seconds,
            max_task_attempts=s.max_task_attempts,
            max_running_tasks_per_store=s.max_running_tasks_per_store,
            codes_per_promotion_limit=s.codes_per_promotion_limit,
            files_dir=s.files_dir,
        )


def build(settings: Settings) -> Container:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.resolved_database_url, pool_size=settings.request_threads)
    wakeup = Wakeup()
    auth = AuthService(database, settings.token_seconds, settings.token_cache_seconds)
    store_rate_limit = StoreRateLimit(settings.rate_limit_per_second, settings.rate_limit_burst)
    signing_key = _signing_key(settings)
    limits = JobLimits(
        codes_per_job=settings.codes_per_job_limit,
        keyspace_max_fill_ratio=settings.keyspace_max_fill_ratio,
        chunk_size=settings.chunk_size,
        idempotency_seconds=settings.idempotency_seconds,
    )
    signing_key = _signing_key(settings)
    code_ids = CodeIds(signing_key)
    return Container(
        settings=settings,
        database=database,
        wakeup=wakeup,
        auth=auth,
        access=PromotionAccess(auth, store_rate_limit),
        promotions=PromotionService(database, settings.files_dir),
        codes=CodeService(database, settings.codes_per_promotion_limit),
        jobs=JobService(database, limits, wakeup.notify_on_commit),
        links=DownloadLinks(signing_key, settings.download_link_seconds),
        page_cursors=PageCursors(signing_key),
        store_rate_limit=store_rate_limit,
        metrics=registry_for(database, settings.metrics_max_stores),
        registry=ProcessRegistry(database, store_rate_limit, settings.process_heartbeat_seconds),
        login_throttle=LoginThrottle(max_failures=settings.login_max_failures),
        read_cache=ReadCache(
            partial(read_store_version, database), settings.read_cache_entries, settings.read_cache_bytes
        ),
        store_versions=store_versions(database, settings.version_read_connections),
        rule_promotions=RulePromotionService(
            database, settings.files_dir, settings.max_automatic_rule_promotions
        ),
        rule_codes=RuleCodeService(database, settings.codes_per_promotion_limit, code_ids),
        rule_jobs=JobService(
            database,
            limits,
            wakeup.notify_on_commit,
            kind=RULE,
            units=RULE_CONSUME_UNITS,
            not_cancellable="Only pending or processing jobs can be cancelled.",
        ),
        code_ids=code_ids,
    )


def run_worker(container: Container, stop: threading.Event) -> None:
    """A worker in this thread until ``stop`` is set; on PostgreSQL, woken at once by the notifications of
    jobs submitted in other processes."""
    if container.database.is_postgres:
        PostgresListener(psycopg_conninfo(container.database.url), container.wakeup, stop).start()
    Worker(container.database, container.worker_settings(), container.wakeup).run(stop)


@contextmanager
def embedded_worker(container: Container) -> Iterator[None]:
    """While the block runs, a worker in a thread of this process, if the settings ask for one; at the end
    it finishes its batch, hands its task back and is joined."""
    if not container.settings.embedded_worker:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(container, stop), name="promojobs-worker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        container.wakeup.set()
        thread.join(timeout=60)


def serve_metrics_port(container: Container) -> Callable[[], None]:
    """With ``metrics=port``, serve the metrics on a listener of their own; return how to stop it."""
    settings = container.settings
    if settings.metrics != "port":
        return lambda: None
    server, thread = start_http_server(settings.metrics_port, settings.host, registry=container.metrics)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


def ensure_bootstrap_client(container: Container) -> Path | None:
    """Make sure someone can log in; return the credentials file written on a first start, if any.

    ``PROMOJOBS_BOOTSTRAP_CLIENT_ID/SECRET`` create that client once; every later start leaves it as it is
    (a revoked client stays revoked, a rotated secret stays rotated) and says so in the log.
    """
    settings = container.settings
    if settings.bootstrap_client_id and settings.bootstrap_client_secret:
        client_id = settings.bootstrap_client_id
        outcome = container.auth.bootstrap_client(
            DEFAULT_STORE, client_id, settings.bootstrap_client_secret.get_secret_value()
        )
        log.log(logging.WARNING if outcome in _UNUSABLE else logging.INFO, _BOOTSTRAP_LOG[outcome], client_id)
        return None
    if container.auth.has_clients():
        return None
    client = container.auth.create_client(DEFAULT_STORE)
    path = settings.data_dir / BOOTSTRAP_FILE
    payload = {"store": client.store, "client_id": client.client_id, "client_secret": client.client_secret}
    _write_private(path, json.dumps(payload, indent=2) + "\n")
    return path


_BOOTSTRAP_LOG = {
    BootstrapOutcome.CREATED: "bootstrap client %s created (store 'default')",
    BootstrapOutcome.EXISTS: "bootstrap client %s already exists; left unchanged",
    BootstrapOutcome.OTHER_SECRET: (
        "bootstrap client %s already exists with another secret; its stored secret is kept and "
        "PROMOJOBS_BOOTSTRAP_CLIENT_SECRET does not log in (remove the variable, or create a new client)"
    ),
    BootstrapOutcome.REVOKED: (
        "bootstrap client %s is revoked and stays revoked; PROMOJOBS_BOOTSTRAP_CLIENT_SECRET does not log in "
        "(remove the variable, or create a new client with promojobs clients create)"
    ),
}
_UNUSABLE = (BootstrapOutcome.OTHER_SECRET, BootstrapOutcome.REVOKED)


def _signing_key(settings: Settings) -> bytes:
    if settings.signing_key is not None:
        return settings.signing_key.get_secret_value().encode()
    path = settings.data_dir / SIGNING_KEY_FILE
    if not path.exists():
        _write_private(path, secrets.token_hex(32))
    return path.read_text().strip().encode()


def _write_private(path: Path, content: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
