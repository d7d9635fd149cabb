"""The tables, as SQLAlchemy Core metadata. Migrations (``store/migrations``) are the source of truth for the
database; this module must describe the same schema so queries can be written against it.

Why the shapes:
- Integer surrogate keys everywhere inside the database (UUIDs only at the edge): the codes table and its
  unique index are 3x smaller and inserts 2x faster than with UUID strings.
- Timestamps are integer microseconds since the epoch: identical on SQLite and PostgreSQL, compact, fast.
- Codes are unique case-insensitively through one unique index on ``(store_id, upper(code), scope)``:
  ``scope`` is 0 for codes unique in the store (standard codes, every generated code) and the promotion's
  id for codes added by hand to a rule promotion (unique only within it). See migration 0007.
- Both kinds of promotion (``kind``: standard, rule) share this table, the codes and the jobs.
- "One active job per promotion" is a partial unique index, so the database, not the code, enforces it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)

metadata = MetaData()

ACTIVE_JOB_STATUSES_SQL = "status IN ('pending', 'processing', 'cancelling')"


def _pk() -> Column[int]:
    # SQLite only aliases the rowid for a column typed exactly INTEGER PRIMARY KEY.
    return Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


def _ref(name: str, nullable: bool = False) -> Column[int]:
    return Column(name, BigInteger, nullable=nullable)


stores = Table(
    "stores",
    metadata,
    _pk(),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    # When a worker last claimed a task of this store: claims go to the store served longest ago.
    Column("last_claimed_at", BigInteger, nullable=True),
    # Moved by triggers (migration 0006) in every transaction that changes the store's promotions, codes
    # or jobs: a kept read answer is current while this is the version it was made under.
    Column("data_version", BigInteger, nullable=False, server_default=text("0")),
)

# API processes alive in the last few seconds: each enforces its share of the per-store rate limit.
api_processes = Table(
    "api_processes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("seen_at", BigInteger, nullable=False),
)

clients = Table(
    "clients",
    metadata,
    _pk(),
    Column("client_id", String(100), nullable=False, unique=True),
    _ref("store_id"),
    Column("secret_hash", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

tokens = Table(
    "tokens",
    metadata,
    _pk(),
    Column("token_hash", String(64), nullable=False, unique=True),
    _ref("client_pk"),
    _ref("store_id"),
    Column("grant_type", String(32), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)
Index("ix_tokens_client_pk", tokens.c.client_pk)

promotions = Table(
    "promotions",
    metadata,
    _pk(),
    Column("uuid", String(36), nullable=False, unique=True),
    _ref("store_id"),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("automatic", Boolean, nullable=False),
    Column("promotion_type", String(40), nullable=False),
    Column("schema_json", Text, nullable=True),
    Column("start_at", BigInteger, nullable=True),
    Column("end_at", BigInteger, nullable=True),
    Column("min_cart_value_json", Text, nullable=True),
    Column("max_discount_value_json", Text, nullable=True),
    Column("max_applications_per_cart", Integer, nullable=True),
    # Kept in step with every insert and delete of codes (store.codes), so listing needs no count(*).
    Column("code_count", BigInteger, nullable=False, server_default=text("0")),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("kind", String(8), nullable=False, server_default=text("'standard'")),
    # Rule promotions only (NULL on standard ones).
    Column("priority", BigInteger, nullable=True),
    Column("stackable", Boolean, nullable=True),
    Column("override_stacking", Boolean, nullable=True),
    Column("rule_set_json", Text, nullable=True),
)
Index("ix_promotions_store_created", promotions.c.store_id, promotions.c.created_at)
Index(
    "ux_promotions_store_priority",
    promotions.c.store_id,
    promotions.c.priority,
    unique=True,
    sqlite_where=text("priority IS NOT NULL"),
    postgresql_where=text("priority IS NOT NULL"),
)

codes = Table(
    "codes",
    metadata,
    _pk(),
    _ref("store_id"),
    _ref("promotion_id"),
    _ref("job_id", nullable=True),
    Column("code", String(64), nullable=False),
    Column("uses", BigInteger, nullable=True),
    Column("max_uses", BigInteger, nullable=True),
    Column("consume_unit", String(16), nullable=False),
    Column("user", String(255), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("scope", BigInteger, nullable=False, server_default=text("0")),
    Column("rule_json", Text, nullable=True),
)
Index("ux_codes_store_code_scope", codes.c.store_id, func.upper(codes.c.code), codes.c.scope, unique=True)
Index(
    "ix_codes_hand_added",
    codes.c.store_id,
    sqlite_where=text("scope <> 0"),
    postgresql_where=text("scope <> 0"),
)
Index("ix_codes_promotion", codes.c.promotion_id, codes.c.id)
Index("ix_codes_job", codes.c.job_id)

jobs = Table(
    "jobs",
    metadata,
    _pk(),
    Column("uuid", String(36), nullable=False, unique=True),
    _ref("store_id"),
    _ref("promotion_id"),
    Column("job_type", String(20), nullable=False),
    Column("name", String(50), nullable=True),
    Column("parameters_json", Text, nullable=True),
    Column("status", String(12), nullable=False),
    Column("generated", BigInteger, nullable=False, server_default=text("0")),
    Column("deleted", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    Column("file_name", String(200), nullable=True),
    Column("created_by", String(100), nullable=True),
    Column("cancelled_by", String(100), nullable=True),
    Column("idempotency_key", String(255), nullable=True),
    Column("request_fingerprint", String(64), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # code_generate only (NULL for exports): what the keyspace check sums, copied from the spec.
    Column("keyspace_prefix", String(64), nullable=True),
    Column("code_length", Integer, nullable=True),
    Column("number_of_codes", BigInteger, nullable=True),
)
Index(
    "ux_jobs_one_active_per_promotion",
    jobs.c.promotion_id,
    unique=True,
    sqlite_where=text(ACTIVE_JOB_STATUSES_SQL),
    postgresql_where=text(ACTIVE_JOB_STATUSES_SQL),
)
Index("ix_jobs_promotion_created", jobs.c.promotion_id, jobs.c.created_at)
Index("ux_jobs_idempotency", jobs.c.store_id, jobs.c.idempotency_key, unique=True)
Index("ix_jobs_keyspace", jobs.c.store_id, jobs.c.keyspace_prefix, jobs.c.code_length)

# The unit a worker claims. A code_generate job has one "generate" task per chunk, an export one "export"
# task, and a cancel adds one "cancel" task that deletes what the job generated.
job_tasks = Table(
    "job_tasks",
    metadata,
    _pk(),
    _ref("job_id"),
    _ref("store_id"),
    Column("kind", String(10), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("target", BigInteger, nullable=False),
    Column("done", BigInteger, nullable=False, server_default=text("0")),
    Column("status", String(10), nullable=False),
    Column("worker_id", String(100), nullable=True),
    Column("attempt", Integer, nullable=False, server_default=text("0")),
    Column("lease_expires_at", BigInteger, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
)
Index("ux_job_tasks_job_kind_seq", job_tasks.c.job_id, job_tasks.c.kind, job_tasks.c.seq, unique=True)
Index("ix_job_tasks_status", job_tasks.c.status, job_tasks.c.store_id)
