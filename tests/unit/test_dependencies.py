"""The two lock files: requirements.lock pins exactly what serving needs, requirements-dev.lock the tools.

`make run` installs only requirements.lock; `.ci/check-runtime` proves that set installs alone and serves.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def _pins(lock: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / lock).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            assert len(requirement.specifier) == 1 and str(requirement.specifier).startswith("=="), line
            pins[canonicalize_name(requirement.name)] = str(requirement.specifier)
    return pins


def _declared(group: str | None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return {canonicalize_name(Requirement(spec).name) for spec in wanted}


def test_runtime_lock__pins_every_runtime_dependency_and_no_development_tool() -> None:
    runtime = _pins("requirements.lock")
    assert _declared(None) <= runtime.keys()
    assert not _declared("dev") & runtime.keys()


def test_dev_lock__pins_every_development_tool_and_repeats_no_runtime_pin() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert _declared("dev") <= dev.keys()
    assert not runtime.keys() & dev.keys()  # one pin per package: the dev venv serves with the runtime's
