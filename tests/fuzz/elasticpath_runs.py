"""What the two Elastic Path spec tests share: the two schemathesis runs (no 5xx; status codes and schemas
against a baseline of known divergences) and the check that every listed divergence has its row."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from schemathesis.baseline import BaselineEntry

from tests.fuzz.schemathesis_cli import FuzzRun, run_schemathesis
from tests.support import LiveServer

COMPATIBILITY_DOC = Path(__file__).parents[2] / "docs" / "compatibility.md"


def run_against_spec(
    server: LiveServer, spec: Path, divergences: Path, label: str, work_dir: Path
) -> tuple[FuzzRun, FuzzRun]:
    """``not_a_server_error``, then status codes and schemas against the ``divergences`` baseline."""
    token = server.token("fuzz-store")
    baseline = work_dir / "divergences.json"  # a copy: schemathesis may write to the file it is given
    shutil.copyfile(divergences, baseline)
    no_5xx = run_schemathesis(
        str(spec),
        label=f"{label}, not_a_server_error",
        base_url=server.base_url,
        token=token,
        checks=("not_a_server_error",),
        max_examples=30,
        max_time=25,
        work_dir=work_dir / "no-5xx",
    )
    listed = run_schemathesis(
        str(spec),
        label=f"{label}, status codes and schemas vs the listed divergences",
        base_url=server.base_url,
        token=token,
        checks=("status_code_conformance", "response_schema_conformance"),
        max_examples=20,
        max_time=15,
        work_dir=work_dir / "divergences",
        baseline=baseline,
    )
    return no_5xx, listed


def check_listed_divergences(divergences: Path, doc_section: str, row_prefix: str) -> None:
    """Each entry is a valid baseline entry pointing at a row of ``doc_section``; none accepts a 5xx."""
    entries = json.loads(divergences.read_text(encoding="utf-8"))["entries"]
    doc = COMPATIBILITY_DOC.read_text(encoding="utf-8")
    assert doc_section in doc
    section = doc.split(doc_section, 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(rf"^\| ({row_prefix}\d+) \|", section, flags=re.MULTILINE))
    assert entries
    for entry in entries:
        identity = {name: entry[name] for name in ("operation", "check", "failure", "signature")}
        assert BaselineEntry(**identity).id == entry["id"], entry
        assert entry["divergence"] in rows, entry
        assert entry["check"] in ("status_code_conformance", "response_schema_conformance"), entry
        assert not entry["signature"].startswith("5"), entry  # a 5xx is never an accepted divergence
