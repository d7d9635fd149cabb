"""How a job's progress is shown: rich bars on a terminal, one plain line per change otherwise, or one
JSON document per change with ``--json``."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Protocol

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from promojobs.domain.progress import RateMeter, format_duration, format_rate, job_lifetime_seconds


class JobReporter(Protocol):
    def update(self, job: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


class ByteReporter(Protocol):
    def start(self, total: int | None) -> None: ...
    def advance(self, size: int) -> None: ...
    def close(self) -> None: ...


def total_of(job: dict[str, Any]) -> int | None:
    number = (job.get("parameters") or {}).get("number_of_codes")
    return int(number) if job.get("job_type") == "code_generate" and number is not None else None


def generated_of(job: dict[str, Any]) -> int:
    return int((job.get("result") or {}).get("generated", 0))


def describe(job: dict[str, Any]) -> str:
    """``job 1f2e… code_generate processing: 50,000 of 200,000 codes (25 %)``."""
    text = f"job {job['id']} {job['job_type']} {job['status']}"
    total = total_of(job)
    if total:
        generated = generated_of(job)
        text += f": {generated:,} of {total:,} codes ({generated * 100 // total} %)"
    if (job.get("result") or {}).get("deleted") is not None:
        text += f", {job['result']['deleted']:,} deleted"
    if job.get("error"):
        text += f": {job['error']}"
    return text


class PlainJobReporter:
    """One line on stdout each time the status or the count changes."""

    def __init__(self) -> None:
        self._last: str | None = None

    def update(self, job: dict[str, Any]) -> None:
        line = describe(job)
        if line != self._last:
            click.echo(line)
            self._last = line

    def close(self) -> None:
        pass


class JsonJobReporter:
    """The job as the API gives it, one JSON document a line, each time it changes."""

    def __init__(self) -> None:
        self._last: tuple[str, int] | None = None

    def update(self, job: dict[str, Any]) -> None:
        state = (str(job["status"]), generated_of(job))
        if state != self._last:
            click.echo(json.dumps(job, sort_keys=True))
            self._last = state

    def close(self) -> None:
        pass


class RichJobReporter:
    """A bar of codes generated of the total, the rate and the time left (the bar fills at once for an
    export, which has no count to show)."""

    def __init__(self) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[counts]}"),
            TextColumn("{task.fields[rate]}", style="progress.data.speed"),
            TextColumn("{task.fields[left]}", style="progress.remaining"),
        )
        self.meter = RateMeter()
        self._task: TaskID | None = None
        self.progress.start()

    def update(self, job: dict[str, Any]) -> None:
        total = total_of(job)
        finished = job["status"] in ("completed", "failed", "cancelled")
        estimate = self.meter.observe(
            time.monotonic(), generated_of(job), total, finished, job_lifetime_seconds(job)
        )
        description = f"{job['job_type']} {job['status']}"
        counts = f"{estimate.generated:,}/{total:,}" if total else ""
        rate = format_rate(estimate.codes_per_second) if total else ""
        left = f"ETA {format_duration(estimate.seconds_left)}" if total else ""
        if self._task is None:
            self._task = self.progress.add_task(
                description, total=total or 1, completed=0, counts=counts, rate=rate, left=left
            )
        shown = estimate.generated if total else int(job["status"] == "completed")
        self.progress.update(
            self._task,
            description=description,
            total=total or 1,
            completed=shown,
            counts=counts,
            rate=rate,
            left=left,
        )

    def close(self) -> None:
        self.progress.stop()


class RichByteReporter:
    """Bytes downloaded (of the size, when the server says it), on stderr so the file may go to stdout."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task: TaskID | None = None

    def start(self, total: int | None) -> None:
        self.progress.start()
        self._task = self.progress.add_task(self.label, total=total)

    def advance(self, size: int) -> None:
        assert self._task is not None
        self.progress.advance(self._task, size)

    def close(self) -> None:
        self.progress.stop()


class PlainByteReporter:
    """Quiet while the bytes flow; the command prints one line when the file is written."""

    def start(self, total: int | None) -> None:
        pass

    def advance(self, size: int) -> None:
        pass

    def close(self) -> None:
        pass


def on_terminal() -> bool:
    return sys.stdout.isatty()


def job_reporter(as_json: bool) -> JobReporter:
    if as_json:
        return JsonJobReporter()
    return RichJobReporter() if on_terminal() else PlainJobReporter()


def byte_reporter(as_json: bool, label: str) -> ByteReporter:
    return RichByteReporter(label) if sys.stderr.isatty() and not as_json else PlainByteReporter()
