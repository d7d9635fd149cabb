"""Settings, read from ``PROMOJOBS_*`` environment variables. The defaults work with no environment at all.

The limits have two profiles: ``default`` (far above Elastic Path's) and ``elasticpath`` (its 1,000 codes
per job and per promotion). A limit set explicitly wins over the profile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ELASTIC_PATH_CODES_PER_JOB = 1_000
ELASTIC_PATH_CODES_PER_PROMOTION = 1_000

DEFAULT_CODES_PER_JOB = 100_000_000
DEFAULT_CODES_PER_PROMOTION = 1_000_000_000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROMOJOBS_", extra="ignore")

    data_dir: Path = Path("data")
    export_dir: Path | None = Field(
        default=None, description="Where export files go (default DATA_DIR/files); shared by all machines."
    )
    database_url: str | None = None
    database_wait_seconds: float = Field(
        default=60.0,
        description="How long serve, worker and migrate retry an unreachable database at start.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(
        default=None, description="Base URL for links when behind a proxy (e.g. https://promos.example.com)."
    )

    profile: Literal["default", "elasticpath"] = "default"
    max_codes_per_job: int | None = None
    max_codes_per_promotion: int | None = None
    download_link_seconds: int = 3600
    keyspace_max_fill_ratio: float = 1e-6

    token_seconds: int = 3600
    # How long an API process trusts a token it validated without asking the database again: the longest a
    # revocation made elsewhere (another process, ``promojobs clients revoke``) takes to reach it.
    token_cache_seconds: float = Field(default=1.0, ge=0.0, le=1.0)
    bootstrap_client_id: str | None = None
    bootstrap_client_secret: SecretStr | None = None
    signing_key: SecretStr | None = None

    # Threads that run the routes (and so their database calls) of one API process; each keeps a pooled
    # database connection. Size it to the requests one process should have in flight at the database.
    request_threads: int = Field(default=40, ge=1)
    max_body_bytes: int = 8 * 1024 * 1024
    # The HTTP edge (api/edge.py; every limit with its reason in docs/security.md).
    max_url_bytes: int = Field(default=64 * 1024, gt=0)
    max_header_bytes: int = Field(default=64 * 1024, gt=0)
    max_headers: int = Field(default=100, gt=0)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    drain_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    drain_seconds: float = Field(default=10.0, ge=0)
    keep_alive_seconds: int = Field(default=5, gt=0)
    log_format: Literal["text", "json"] = "text"
    idempotency_seconds: int = 24 * 3600

    embedded_worker: bool = True
    worker_batch_size: int = 50_000
    chunk_size: int = 250_000
    lease_seconds: float = 30.0
    poll_seconds: float = 1.0
    max_task_attempts: int = 5
    max_running_tasks_per_store: int = 4

    # Per store, for all API processes together (each enforces its share); 0 turns the limit off.
    rate_limit_per_second: float = 5000.0
    rate_limit_burst: int = 5000
    process_heartbeat_seconds: float = Field(
        default=2.0, gt=0, description="How often an API process records itself alive (api_processes)."
    )
    login_max_failures: int = 10  # failed token requests per client id (or address) per minute
    # GET /metrics: off (404), token (bearer METRICS_TOKEN), open, or port (only on METRICS_PORT).
    metrics: Literal["off", "token", "open", "port"] = "off"
    metrics_token: SecretStr | None = None
    metrics_port: int = 9464
    metrics_max_stores: int = Field(default=20, ge=0, description="Stores named in per-store metrics.")
    # Read answers kept per API process until their store's data changes (services/read_cache.py); 0: off.
    read_cache_entries: int = 1024
    read_cache_bytes: int = 4 * 1024 * 1024

    @property
    def codes_per_job_limit(self) -> int:
        if self.max_codes_per_job is not None:
            return self.max_codes_per_job
        return ELASTIC_PATH_CODES_PER_JOB if self.profile == "elasticpath" else DEFAULT_CODES_PER_JOB

    @property
    def codes_per_promotion_limit(self) -> int:
        if self.max_codes_per_promotion is not None:
            return self.max_codes_per_promotion
        if self.profile == "elasticpath":
            return ELASTIC_PATH_CODES_PER_PROMOTION
        return DEFAULT_CODES_PER_PROMOTION

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'promojobs.sqlite3').resolve()}"

    @property
    def files_dir(self) -> Path:
        return self.export_dir if self.export_dir is not None else self.data_dir / "files"
