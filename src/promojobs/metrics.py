"""What an operator can scrape (Prometheus text format, prometheus_client).

Two kinds:
- counted in the process where they happen: requests (by route template and status) and their latency,
  database errors, and the worker's batches, codes generated and exported, and lease reclaims. An API
  process serves its own (and its embedded worker's) at ``GET /metrics``; a separate ``promojobs worker``
  serves its own on ``PROMOJOBS_METRICS_PORT`` when that is set. Each process is scraped on its own, so
  no multi-process mode is needed (promojobs never forks request processes).
- read from the database when scraped (``DatabaseCollector``), so every API process tells the same truth
  whichever worker did the work: jobs by type and status, tasks ready and running per store (the
  ``metrics_max_stores`` busiest stores by name, the rest summed under ``store="other"``), live API
  processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text

if TYPE_CHECKING:  # the store counts its errors here: no import cycle at run time
    from promojobs.store.database import Database

REQUESTS = Counter("promojobs_requests", "HTTP requests answered", ["method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "promojobs_request_seconds",
    "HTTP request latency, from the first byte read to the last sent",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DATABASE_ERRORS = Counter("promojobs_database_errors", "Database errors by kind", ["kind"])
BATCH_SECONDS = Histogram(
    "promojobs_worker_batch_seconds",
    "Duration of one worker batch (a transaction of generated codes, or a piece of an export)",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CODES_GENERATED = Counter("promojobs_codes_generated", "Codes inserted by code_generate jobs")
CODES_EXPORTED = Counter("promojobs_codes_exported", "Codes written to export files")
LEASE_RECLAIMS = Counter(
    "promojobs_lease_reclaims", "Tasks claimed again after an earlier attempt (its worker lost or stopped)"
)
RATE_LIMIT_PROCESSES = Gauge(
    "promojobs_rate_limit_processes", "Live API processes this one shares each store's rate limit with"
)

_JOBS_SQL = text("SELECT job_type, status, count(*) FROM jobs GROUP BY job_type, status")
_TASKS_SQL = text(
    "SELECT s.name, t.status, count(*) FROM job_tasks t JOIN stores s ON s.id = t.store_id "
    "WHERE t.status IN ('ready', 'running') GROUP BY s.name, t.status"
)
_PROCESSES_SQL = text("SELECT count(*) FROM api_processes")


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time (three statements; blocking: scrape from a thread)."""

    def __init__(self, database: Database, max_stores: int) -> None:
        self.database = database
        self.max_stores = max_stores

    def collect(self) -> Iterator[Metric]:
        with self.database.read() as conn:
            jobs = conn.execute(_JOBS_SQL).all()
            tasks = conn.execute(_TASKS_SQL).all()
            processes = int(conn.execute(_PROCESSES_SQL).scalar_one())
        by_job = GaugeMetricFamily("promojobs_jobs", "Jobs by type and status", labels=["job_type", "status"])
        for job_type, status, count in jobs:
            by_job.add_metric([job_type, status], count)
        yield by_job
        yield self._tasks([(str(name), str(status), int(count)) for name, status, count in tasks])
        alive = GaugeMetricFamily("promojobs_api_processes", "API processes alive (api_processes)")
        alive.add_metric([], processes)
        yield alive

    def _tasks(self, rows: list[tuple[str, str, int]]) -> GaugeMetricFamily:
        totals: dict[str, int] = {}
        for name, _, count in rows:
            totals[name] = totals.get(name, 0) + count
        named = set(sorted(totals, key=lambda name: (-totals[name], name))[: self.max_stores])
        values: dict[tuple[str, str], int] = {}
        for name, status, count in rows:
            key = (name if name in named else "other", status)
            values[key] = values.get(key, 0) + count
        family = GaugeMetricFamily(
            "promojobs_tasks", "Tasks ready or running, per store", labels=["store", "status"]
        )
        for (store, status), count in sorted(values.items()):
            family.add_metric([store, status], count)
        return family


class _ProcessAndDatabase(Collector):
    def __init__(self, database: Database, max_stores: int) -> None:
        self.database = DatabaseCollector(database, max_stores)

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        yield from self.database.collect()


def registry_for(database: Database, max_stores: int) -> CollectorRegistry:
    """What one process exposes: its own counters and the database's gauges."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProcessAndDatabase(database, max_stores))
    return registry
