"""Installs are reproducible and stay above the floors that close known advisories."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            pins[_norm(name)] = pinned
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    reqs += [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    return reqs


def test_every_declared_dependency_is_pinned_within_its_range():
    pins = _constraints()
    for req in _requirements():
        name = _norm(req.name)
        assert name in pins, f"{req.name} is not pinned in constraints.txt (run `make lock`)"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {req.name}=={pins[name]}, outside {req.specifier}"
        )


@pytest.mark.parametrize(
    ("package", "floor"),
    [
        ("aiosmtplib", "5.1.2"),
        ("nh3", "0.3"),
        ("starlette", "0.49.1"),
        ("h11", "0.16"),
        ("aiosmtpd", "1.4.6"),
        ("dnspython", "2.6.1"),
    ],
)
def test_installed_versions_are_above_the_advisory_floors(package, floor):
    assert Version(version(package)) >= Version(floor)
