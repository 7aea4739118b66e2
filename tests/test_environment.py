"""The conda environment and pyproject.toml pin the same versions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.-]+(?:\[[^\]]+\])?)==([^\s;]+)$")


def _pins(requirements: list[str]) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in requirements:
        match = PIN.match(line.strip())
        assert match, f"{line!r} is not pinned with ==: pin every dependency to one version"
        pins[match.group(1).lower()] = match.group(2)
    return pins


def test_pyproject_and_environment_yml_pin_the_same_versions() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
    from_pyproject = _pins(declared)

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml should have one pip: list"
    from_conda = _pins([r for r in pip_lists[0] if not r.startswith("-e")])

    assert from_conda == from_pyproject


def test_python_version_agrees() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    minimum = project["requires-python"].removeprefix(">=")
    assert python == f"python={minimum}"
