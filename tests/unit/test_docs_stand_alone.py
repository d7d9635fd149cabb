"""The project's docs stand alone: the README links every page under docs/, and no doc, comment or
docstring points at a file outside the repository (the reference material the developers were given)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What a pointer outside the repository looks like: the reference folder, its spec's section numbers
# ("spec §4"), and its files by name.
OUTSIDE = re.compile(r"shared/|spec §|ep-promotions-spec|limits\.md|house-style\.md|peers\.md")
TEXT_SUFFIXES = {".md", ".py", ".cjs", ".js", ".toml", ".cfg", ".ini", ".txt", ".lua", ""}


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    paths = [ROOT / name for name in listed.stdout.splitlines()]
    # The vendored Swagger UI / ReDoc builds and Elastic Path's own OpenAPI copy are not our text.
    vendored = ("src/promojobs/api/static/", "tests/fuzz/elasticpath/")
    return [
        path
        for path in paths
        if path.suffix in TEXT_SUFFIXES
        and path.is_file()
        and not str(path.relative_to(ROOT)).startswith(vendored)
    ]


def test_readme__links_every_page_under_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    linked = set(re.findall(r"\]\((docs/[^)#\s]+\.md)(?:#[^)]*)?\)", readme))
    pages = {f"docs/{page.name}" for page in (ROOT / "docs").glob("*.md")}
    assert pages, "no docs found"
    assert pages - linked == set()
    assert {link for link in linked if not (ROOT / link).is_file()} == set()


def test_no_tracked_file__points_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _tracked_text_files()
        if path != Path(__file__).resolve()  # this file names the patterns
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert len(_tracked_text_files()) > 50
    assert found == []
