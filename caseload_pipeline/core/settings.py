"""Settings from the environment (SPEC 8).

Every path the pipeline touches is derived here, so the CLI, the Dagster code
location and the tests agree on where things live.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from caseload_pipeline.core.pseudonym import default_key_file


class SettingsError(Exception):
    """A wrong setting: the CLI prints the message and exits 2."""


_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# How long a writer waits for the working database before giving up (seconds).
DEFAULT_LOCK_TIMEOUT = 3600.0
_STORAGE_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
# The storage format of the analysts' copy. DuckDB 1.0 to 1.1 read only format
# 64, which DuckDB writes for "v1.0.0"; every 1.x and 2.x client reads it.
WIDEST_STORAGE_VERSION = "v1.0.0"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    duckdb_path: Path
    pseudonym_key: str | None
    pseudonym_key_file: Path
    dagster_home: Path
    first_month: str | None
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    analyst_storage_version: str = WIDEST_STORAGE_VERSION

    @property
    def incoming_dir(self) -> Path:
        return self.data_dir / "incoming"

    @property
    def reference_dir(self) -> Path:
        return self.data_dir / "reference"

    @property
    def external_dir(self) -> Path:
        return self.data_dir / "external"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def pipeline_dir(self) -> Path:
        # Private to the pipeline: analysts never open anything in here.
        return self.data_dir / ".pipeline"

    @property
    def working_db_path(self) -> Path:
        return self.pipeline_dir / "working.duckdb"

    @property
    def working_lock_path(self) -> Path:
        # Every writer of the working database holds this lock (core/locks.py).
        return self.pipeline_dir / "working.duckdb.lock"

    @property
    def staging_dir(self) -> Path:
        # One folder per run: .pipeline/staging/<run id>/<month>/
        return self.pipeline_dir / "staging"

    @property
    def runs_dir(self) -> Path:
        # One lock per running run, held by the process that runs it (core/run_lock.py).
        return self.pipeline_dir / "runs"


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read the settings; raise SettingsError with a plain message when one is wrong."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("CASELOAD_DATA_DIR") or "data").expanduser().resolve()
    if data_dir.exists() and not data_dir.is_dir():
        raise SettingsError(f"CASELOAD_DATA_DIR={data_dir} exists and is not a folder")

    duckdb_raw = env.get("CASELOAD_DUCKDB_PATH")
    duckdb_path = (
        Path(duckdb_raw).expanduser().resolve() if duckdb_raw else data_dir / "caseload.duckdb"
    )
    if duckdb_path.is_dir():
        raise SettingsError(f"CASELOAD_DUCKDB_PATH={duckdb_path} is a folder, not a file")
    if duckdb_path.suffix != ".duckdb":
        raise SettingsError(f"CASELOAD_DUCKDB_PATH={duckdb_path} must end in .duckdb")

    key = env.get("CASELOAD_PSEUDONYM_KEY") or None
    if key is not None and len(key) < 16:
        raise SettingsError("CASELOAD_PSEUDONYM_KEY must be at least 16 characters long")

    home_raw = env.get("DAGSTER_HOME")
    dagster_home = Path(home_raw).expanduser().resolve() if home_raw else data_dir / "dagster_home"

    first_month = env.get("CASELOAD_FIRST_MONTH") or None
    if first_month is not None and not _MONTH.match(first_month):
        raise SettingsError(f"CASELOAD_FIRST_MONTH={first_month!r} must look like 2019-07")

    timeout_raw = env.get("CASELOAD_LOCK_TIMEOUT") or None
    try:
        lock_timeout = DEFAULT_LOCK_TIMEOUT if timeout_raw is None else float(timeout_raw)
    except ValueError:
        lock_timeout = -1.0
    if not 0 <= lock_timeout < float("inf"):
        raise SettingsError(f"CASELOAD_LOCK_TIMEOUT={timeout_raw!r} must be a number of "
                            "seconds, 0 or more")

    return Settings(
        data_dir=data_dir,
        duckdb_path=duckdb_path,
        pseudonym_key=key,
        pseudonym_key_file=default_key_file(env),
        dagster_home=dagster_home,
        first_month=first_month,
        lock_timeout=lock_timeout,
        analyst_storage_version=storage_version(env.get("CASELOAD_ANALYST_STORAGE_VERSION")),
    )


def storage_version(raw: str | None) -> str:
    """CASELOAD_ANALYST_STORAGE_VERSION: a DuckDB release from v1.0.0 on, or `latest`."""
    if not raw:
        return WIDEST_STORAGE_VERSION
    if raw == "latest":
        return raw
    found = _STORAGE_VERSION.match(raw)
    if found is None or tuple(map(int, found.groups())) < (1, 0, 0):
        # Older formats cannot be written: DuckDB would silently write 1.0's.
        raise SettingsError(
            f"CASELOAD_ANALYST_STORAGE_VERSION={raw!r} must be a DuckDB version from "
            f"v1.0.0 on, like {WIDEST_STORAGE_VERSION} (the default) or v1.4.0, or latest")
    return raw
