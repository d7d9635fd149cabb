"""Composition root: settings → database → services. Nothing here runs at import time."""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from promojobs.config import Settings
from promojobs.services.auth import AuthService
from promojobs.services.codes import CodeService
from promojobs.services.downloads import DownloadLinks
from promojobs.services.jobs import JobLimits, JobService
from promojobs.services.promotions import PromotionService
from promojobs.services.read_cache import ReadCache
from promojobs.services.throttle import LoginThrottle, StoreRateLimit
from promojobs.store.database import Database
from promojobs.worker.context import WorkerSettings
from promojobs.worker.wakeup import Wakeup

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
    promotions: PromotionService
    codes: CodeService
    jobs: JobService
    links: DownloadLinks
    store_rate_limit: StoreRateLimit
    login_throttle: LoginThrottle
    read_cache: ReadCache

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
    database = Database(settings.resolved_database_url)
    wakeup = Wakeup()
    limits = JobLimits(
        codes_per_job=settings.codes_per_job_limit,
        keyspace_max_fill_ratio=settings.keyspace_max_fill_ratio,
        chunk_size=settings.chunk_size,
        idempotency_seconds=settings.idempotency_seconds,
    )
    return Container(
        settings=settings,
        database=database,
        wakeup=wakeup,
        auth=AuthService(database, settings.token_seconds),
        promotions=PromotionService(database, settings.files_dir),
        codes=CodeService(database, settings.codes_per_promotion_limit),
        jobs=JobService(database, limits, wakeup.notify_on_commit),
        links=DownloadLinks(_signing_key(settings), settings.download_link_seconds),
        store_rate_limit=StoreRateLimit(settings.rate_limit_per_second, settings.rate_limit_burst),
        login_throttle=LoginThrottle(max_failures=settings.login_max_failures),
        read_cache=ReadCache(database.changes, settings.read_cache_entries, settings.read_cache_bytes),
    )


def ensure_bootstrap_client(container: Container) -> Path | None:
    """Make sure someone can log in; return the credentials file written on a first start, if any."""
    settings = container.settings
    if settings.bootstrap_client_id and settings.bootstrap_client_secret:
        container.auth.ensure_client(
            DEFAULT_STORE, settings.bootstrap_client_id, settings.bootstrap_client_secret.get_secret_value()
        )
        return None
    if container.auth.has_clients():
        return None
    client = container.auth.create_client(DEFAULT_STORE)
    path = settings.data_dir / BOOTSTRAP_FILE
    payload = {"store": client.store, "client_id": client.client_id, "client_secret": client.client_secret}
    _write_private(path, json.dumps(payload, indent=2) + "\n")
    return path


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
