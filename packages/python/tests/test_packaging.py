"""Packaging with Debian's setuptools: the wheel builds without build isolation (no download), holds
every module and ``py.typed``, declares no dependency, and ``pip install --no-build-isolation`` of the
package directory gives an importable ``promptops``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from typing import Any, List

import pytest

from conftest import ROOT

PACKAGE = os.path.join(ROOT, "packages", "python")


def _pip_available() -> bool:
    return subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode == 0


def _copy(tmp: str) -> str:
    """Builds run on a copy: setuptools writes build/ and *.egg-info beside the sources."""
    target = os.path.join(tmp, "python")
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info", "tests", ".pytest_cache"))
    return target


def _modules() -> List[str]:
    found = []
    for directory, _dirs, files in os.walk(os.path.join(PACKAGE, "src")):
        for name in files:
            if name.endswith(".py") or name == "py.typed":
                found.append(os.path.relpath(os.path.join(directory, name), os.path.join(PACKAGE, "src")).replace(os.sep, "/"))
    return sorted(found)


def _build_wheel(source: str, out: str) -> str:
    env = {**os.environ, "PIP_NO_INDEX": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    if _pip_available():
        command = [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-w", out, source]
    else:  # no pip: the PEP 517 backend itself, as pip would call it
        command = [sys.executable, "-c", f"import os, setuptools.build_meta as b; os.chdir({source!r}); b.build_wheel({out!r})"]
    built = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    wheels = [name for name in os.listdir(out) if name.endswith(".whl")]
    assert len(wheels) == 1, wheels
    return os.path.join(out, wheels[0])


def test_the_wheel_builds_without_isolation_and_holds_the_package(tmp_path: Any) -> None:
    wheel = _build_wheel(_copy(str(tmp_path)), str(tmp_path / "dist"))
    assert os.path.basename(wheel) == "promptops-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read("promptops-0.1.0.dist-info/METADATA").decode()
    assert sorted(name for name in names if name.startswith("promptops/")) == _modules()
    assert "Requires-Python: >=3.9" in metadata
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert all("extra ==" in line for line in requires), requires  # opentelemetry-api only as the `otel` extra


@pytest.mark.skipif(not _pip_available(), reason="pip is not installed for this interpreter")
def test_pip_install_without_build_isolation_gives_an_importable_package(tmp_path: Any) -> None:
    site = str(tmp_path / "site")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--target", site, _copy(str(tmp_path))],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    check = (
        "import promptops, os; "
        "assert os.path.dirname(promptops.__file__).startswith(os.environ['SITE']), promptops.__file__; "
        "assert os.path.exists(os.path.join(os.path.dirname(promptops.__file__), 'py.typed')); "
        "print(promptops.__version__, promptops.content_sha({'a': 1}))"
    )
    ran = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {site!r}); {check}"], capture_output=True, text=True, env={**env, "SITE": site})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["0.1.0", "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"]
