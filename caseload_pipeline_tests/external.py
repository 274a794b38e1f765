"""What some tests need from outside the project's virtual environment: Chromium,
PostgreSQL's programs and DuckDB 1.x clients from the package registry.

When one is missing the test is skipped on a developer's machine but fails in
CI (CI is set there, and .ci/run installs them), so CI never passes by skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Git-ignored; one virtual environment per DuckDB version, kept between runs so
# the suite downloads a client once.
CLIENTS_DIR = REPO_ROOT / ".cache" / "duckdb-clients"


def unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it when CI is set (CI must provide everything)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must provide it: see .ci/run)")
    pytest.skip(reason)


def require_binary(*candidates: str) -> str:
    """The first candidate that exists (path or command name on PATH)."""
    for candidate in candidates:
        found = candidate if os.path.isabs(candidate) and os.access(candidate, os.X_OK) \
            else shutil.which(candidate)
        if found:
            return found
    unavailable(f"none of {', '.join(candidates)} is installed")


def chromium() -> str:
    """Chromium under any of the names distributions give it."""
    return require_binary("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")


def _uv() -> list[str] | None:
    # `uv run` tells its children where it is; otherwise uv on PATH, or the
    # module of the Python that installed it (`python3 -m uv`).
    for found in (os.environ.get("UV"), shutil.which("uv")):
        if found and os.access(found, os.X_OK):
            return [found]
    for python in (sys.executable, shutil.which("python3")):
        if python and subprocess.run([python, "-m", "uv", "--version"],
                                     capture_output=True, check=False).returncode == 0:
            return [python, "-m", "uv"]
    return None


def duckdb_client(version: str) -> Path:
    """The Python of a separate virtual environment holding duckdb==`version`,
    installed from the package registry on first use."""
    venv = CLIENTS_DIR / version
    python = venv / "bin" / "python"
    done = venv / "installed"
    if done.is_file() and python.exists():
        return python
    uv = _uv()
    if uv is None:
        unavailable(f"uv is needed to install DuckDB {version} into a separate environment")
    shutil.rmtree(venv, ignore_errors=True)
    steps = [
        [*uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        # --python names the target: uv would otherwise use the active environment.
        [*uv, "pip", "install", "--quiet", "--python", str(python), f"duckdb=={version}"],
    ]
    for step in steps:
        try:
            result = subprocess.run(step, capture_output=True, text=True, timeout=600,
                                    check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            unavailable(f"installing DuckDB {version} took over 10 minutes")
        if result.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            unavailable(f"could not install DuckDB {version} from the package registry: "
                        f"{result.stderr.strip()[-500:]}")
    done.write_text(version + "\n")
    return python
