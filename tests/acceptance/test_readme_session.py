"""The README's first session, run as a reader would paste it (bash, in the folder holding ``data/``)
against a real ``promojobs serve``: twice in one data folder, and with a job that fails or is refused,
where every wait must stop instead of hanging."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.served import Served, start_serve

ROOT = Path(__file__).resolve().parents[2]
API_LINE = "API=http://127.0.0.1:8000"
CSV_HEADER = "code,uses,max_uses,consume_unit,user,created_at"
SESSION_SECONDS = 600  # bounds a hang; a healthy session takes seconds

pytestmark = pytest.mark.slow
ServeIn = Callable[..., Served]


def readme_session() -> str:
    """The shell blocks of the README's first session with curl, in order, as one script."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## A first session", 1)[1].split("\n## ", 1)[0]
    section = section.split("### With curl", 1)[1]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    script = "\n".join(blocks)
    assert script.count(API_LINE) == 1
    return script


def run_session(served: Served) -> subprocess.CompletedProcess[str]:
    script = readme_session().replace(API_LINE, f"API={served.base_url}")
    # -e: a step that fails ends the session, as a reader would stop; no pipefail, as in a terminal.
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=served.data_dir.parent,
        capture_output=True,
        text=True,
        timeout=SESSION_SECONDS,
    )


@pytest.fixture
def serve_in(tmp_path: Path) -> Iterator[ServeIn]:
    started: list[Served] = []

    def _serve(**settings: object) -> Served:
        data_dir = tmp_path / "data"
        served = start_serve(f"sqlite:///{data_dir / 'promojobs.sqlite3'}", data_dir, settings)
        started.append(served)
        return served

    yield _serve
    for served in started:
        served.stop()


def _exported_codes(output: str) -> list[str]:
    lines = output.splitlines()
    assert CSV_HEADER in lines, output
    return lines[lines.index(CSV_HEADER) + 1 :]


def test_readme_session__runs_to_the_csv_and_again_in_the_same_data_folder(serve_in: ServeIn) -> None:
    served = serve_in()
    runs = []
    for _ in range(2):
        finished = run_session(served)
        assert finished.returncode == 0, finished.stdout + finished.stderr
        rows = _exported_codes(finished.stdout)
        assert len(rows) == 2  # `head -3`: the header and two codes, the first ones added (by hand)
        codes = sorted(row.split(",")[0] for row in rows)
        run = codes[0].removeprefix("SUMMER10-")
        assert codes == [f"SUMMER10-{run}", f"VIP-{run}"]
        runs.append(run)
    assert runs[0] != runs[1]


def test_readme_session__stops_when_the_job_fails(serve_in: ServeIn) -> None:
    served = serve_in(max_codes_per_promotion=1000)  # the million-code job fails: codes limit exceeded
    finished = run_session(served)
    assert finished.returncode != 0
    assert re.search(r"job [0-9a-f-]{36}: failed", finished.stderr), finished.stderr
    assert CSV_HEADER not in finished.stdout


def test_readme_session__stops_when_the_job_is_refused(serve_in: ServeIn) -> None:
    served = serve_in(max_codes_per_job=1000)  # the million-code job is refused with a 400
    finished = run_session(served)
    assert finished.returncode != 0
    assert "Only 1000 promotion codes are allowed" in finished.stderr, finished.stderr
    assert CSV_HEADER not in finished.stdout
