"""Settings, read from ``PROMOJOBS_*`` environment variables. The defaults work with no environment at all.

The limits have two profiles: ``default`` (far above Elastic Path's) and ``elasticpath`` (its 1,000 codes
per job and per promotion). A limit set explicitly wins over the profile.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ELASTIC_PATH_CODES_PER_JOB = 1_000
ELASTIC_PATH_CODES_PER_PROMOTION = 1_000

DEFAULT_CODES_PER_JOB = 100_000_000
DEFAULT_CODES_PER_PROMOTION = 1_000_000_000
ENV_PREFIX = "PROMOJOBS_"
# Read by the client commands (`promojobs promotions|jobs`, client/commands.py), not by the server.
CLIENT_VARIABLES = ("URL", "CLIENT_ID", "CLIENT_SECRET")


class Settings(BaseSettings):
    """Every setting, with what it means: docs/jobs.md's table is generated from these descriptions
    (``promojobs settings --markdown``), so this is the one place to add or change a setting."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    data_dir: Path = Field(
        default=Path("data"), description="SQLite file, export files, first-start credentials, signing key."
    )
    export_dir: Path | None = Field(
        default=None, description="Where export files go (default DATA_DIR/files); shared by all machines."
    )
    database_url: str | None = Field(
        default=None, description="e.g. `postgresql://user@host/db`; unset: SQLite in DATA_DIR."
    )
    database_wait_seconds: float = Field(
        default=60.0,
        description="How long serve, worker and migrate retry an unreachable database at start.",
    )
    host: str = Field(default="127.0.0.1", description="Where `promojobs serve` listens.")
    port: int = Field(default=8000, description="The port `promojobs serve` listens on.")
    public_url: str | None = Field(
        default=None,
        description="Base URL for links when behind a proxy (e.g. https://promos.example.com); "
        "unset: from the request.",
    )

    profile: Literal["default", "elasticpath"] = Field(
        default="default", description="`elasticpath` restores Elastic Path's 1,000/1,000 limits."
    )
    max_codes_per_job: int | None = Field(
        default=None,
        description=f"Codes one job may generate; unset: {DEFAULT_CODES_PER_JOB:,} "
        f"({ELASTIC_PATH_CODES_PER_JOB:,} with the elasticpath profile).",
    )
    max_codes_per_promotion: int | None = Field(
        default=None,
        description=f"Codes one promotion may hold; unset: {DEFAULT_CODES_PER_PROMOTION:,} "
        f"({ELASTIC_PATH_CODES_PER_PROMOTION:,} with the elasticpath profile).",
    )
    download_link_seconds: int = Field(default=3600, description="Lifetime of export download links.")
    keyspace_max_fill_ratio: float = Field(
        default=1e-6,
        description="The keyspace rule: the share of one prefix and length's codes that may be taken.",
    )
    max_automatic_rule_promotions: int = Field(
        default=50,
        description="Automatic rule promotions per store that are active or still to come "
        "(Elastic Path's limit).",
    )

    token_seconds: int = Field(default=3600, description="Access token lifetime.")
    # How long an API process trusts a token it validated without asking the database again: the longest a
    # revocation made elsewhere (another process, ``promojobs clients revoke``) takes to reach it.
    token_cache_seconds: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="How long an API process trusts a token it validated (at most 1): "
        "the longest a revocation takes to reach it.",
    )
    bootstrap_client_id: str | None = Field(
        default=None,
        description="With the secret: a client (store `default`) created on the first start; "
        "never changed or un-revoked afterwards.",
    )
    bootstrap_client_secret: SecretStr | None = Field(
        default=None, description="The secret of BOOTSTRAP_CLIENT_ID."
    )
    signing_key: SecretStr | None = Field(
        default=None,
        description="Key for download links and rule-code ids; set the same on every machine. "
        "Unset: random, kept in DATA_DIR/signing.key.",
    )

    # Threads that run the routes (and so their database calls) of one API process; each keeps a pooled
    # database connection. Size it to the requests one process should have in flight at the database.
    request_threads: int = Field(
        default=40, ge=1, description="Threads (and pooled connections) that run one API process's routes."
    )
    version_read_connections: int = Field(
        default=8,
        ge=1,
        description="Reads of store versions (the read cache's) one API process runs at once, on the event"
        " loop; on PostgreSQL, connections of their own.",
    )
    max_body_bytes: int = Field(default=8 * 1024 * 1024, description="Request body limit (413 above).")
    # The HTTP edge (api/edge.py; every limit with its reason in docs/security.md).
    max_url_bytes: int = Field(default=64 * 1024, gt=0, description="Request target limit (414 above).")
    max_header_bytes: int = Field(
        default=64 * 1024, gt=0, description="Header names and values together (431 above)."
    )
    max_headers: int = Field(default=100, gt=0, description="Header lines (431 above).")
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Stalled clients: time for the whole request head (408)."
    )
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Stalled clients: the longest pause in a request body (408)."
    )
    drain_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="How much of a refused request's body is read and discarded "
        "so the client sees the answer.",
    )
    drain_seconds: float = Field(default=10.0, ge=0, description="How long that draining may take.")
    keep_alive_seconds: int = Field(
        default=5, gt=0, description="An idle keep-alive connection is closed after this."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="`json`: one JSON object per log line."
    )
    idempotency_seconds: int = Field(
        default=24 * 3600, description="How long an `Idempotency-Key` is remembered."
    )

    embedded_worker: bool = Field(default=True, description="Run a worker inside `promojobs serve`.")
    worker_batch_size: int = Field(default=50_000, description="Codes per transaction.")
    chunk_size: int = Field(default=250_000, description="Codes per task (the parallelism of one job).")
    lease_seconds: float = Field(default=30.0, description="A dead worker's task is resumed after this.")
    poll_seconds: float = Field(
        default=1.0,
        description="Idle workers look for work this often (PostgreSQL also wakes them by NOTIFY).",
    )
    max_task_attempts: int = Field(default=5, description="Lost workers before a job fails.")
    max_running_tasks_per_store: int = Field(default=4, description="Fairness between stores.")

    # Per store, for all API processes together (each enforces its share).
    rate_limit_per_second: float = Field(
        default=5000.0,
        description="Requests per second per store, for all API processes together; 0 turns the limit off.",
    )
    rate_limit_burst: int = Field(
        default=5000, description="Requests a store may send in one burst before the rate applies."
    )
    process_heartbeat_seconds: float = Field(
        default=2.0, gt=0, description="How often an API process records itself alive (api_processes)."
    )
    login_max_failures: int = Field(
        default=10, description="Failed token requests per client id (or address) per minute."
    )
    # GET /metrics: off (404), token (bearer METRICS_TOKEN), open, or port (only on METRICS_PORT).
    metrics: Literal["off", "token", "open", "port"] = Field(
        default="off",
        description="`GET /metrics`: `off` (404), `token` (bearer METRICS_TOKEN), `open`, "
        "or `port` (only on METRICS_PORT).",
    )
    metrics_token: SecretStr | None = Field(default=None, description="The bearer token of `metrics=token`.")
    metrics_port: int = Field(default=9464, description="The metrics listener of `metrics=port`.")
    metrics_max_stores: int = Field(default=20, ge=0, description="Stores named in per-store metrics.")
    read_cache_entries: int = Field(
        default=1024,
        description="Read answers kept per API process until their store's data changes; 0 turns it off.",
    )
    read_cache_bytes: int = Field(
        default=4 * 1024 * 1024, description="Memory for those kept answers, per API process."
    )

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


def settings_table() -> str:
    """The Markdown table of every setting (docs/jobs.md carries it; a test keeps the two the same)."""
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = "unset" if field.default is None else f"`{_shown(field.default)}`"
        lines.append(f"| `{ENV_PREFIX}{name.upper()}` | {default} | {field.description} |")
    return "\n".join(lines) + "\n"


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) and value >= 10_000:
        return f"{value:_}"
    return str(value)


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A line for each ``PROMOJOBS_*`` variable that is no setting (a typo, most likely), naming the
    closest setting: such a variable is otherwise ignored without a word."""
    names = [name.upper() for name in Settings.model_fields] + list(CLIENT_VARIABLES)
    found = []
    for variable in sorted(environ):
        if not variable.upper().startswith(ENV_PREFIX):
            continue
        name = variable[len(ENV_PREFIX) :].upper()
        if name in names:
            continue
        closest = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = f"; did you mean {ENV_PREFIX}{closest[0]}?" if closest else ""
        found.append(f"{variable} is not a promojobs setting and is ignored{hint}")
    return found
