"""Shared helpers for the pipeline tests: a department in a temporary data
folder, the `caseload` command run in-process against it, and full table
snapshots of the DuckDB files.

Runs go through the real CLI (`caseload_pipeline.cli.main`), so every run is a
Dagster run in a real (SQLite) instance under the project's own DAGSTER_HOME,
validated by Great Expectations and written to real DuckDB files. Projects use
the package's dagster.yaml with one change, all runs' events in one SQLite file
(see `Project.product_instance`); the audit/pseudonym project uses the
package's dagster.yaml unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from caseload_pipeline_tests import department as dep

KEY = "test-pseudonym-key-0123456789"
E2E_DIR = Path(__file__).parent / "e2e"
# Markers that make a test slow by what they start (dagster dev, Chromium,
# PostgreSQL), so `pytest -m "not slow"` leaves them out without listing them.
IMPLY_SLOW = ("e2e", "browser", "postgres")
# Every environment variable the pipeline reads; a run sees exactly the ones a
# project sets, never the developer's own.
ENV_NAMES = (
    "CASELOAD_DATA_DIR", "CASELOAD_DUCKDB_PATH", "CASELOAD_PSEUDONYM_KEY",
    "CASELOAD_PSEUDONYM_KEY_FILE", "CASELOAD_FIRST_MONTH", "DAGSTER_HOME",
    "CASELOAD_LOCK_TIMEOUT", "CASELOAD_TEST_PAUSE_IN", "CASELOAD_TEST_PAUSE_MARKER",
    "CASELOAD_ANALYST_STORAGE_VERSION",
)
EVENT_LOG_CLASS = "class: SqliteEventLogKeptOpen"
# Columns that differ between otherwise identical runs.
VOLATILE = ("checked_at", "loaded_at", "run_id")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(E2E_DIR) and not item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.e2e)
        if any(item.get_closest_marker(name) for name in IMPLY_SLOW):
            item.add_marker(pytest.mark.slow)


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    @property
    def lines(self) -> list[str]:
        return [line.strip() for line in self.text.splitlines() if line.strip()]


def run_cli(args: list[str], env: dict[str, str]) -> CliResult:
    """`caseload ARGS` in this process with exactly `env` for the pipeline's variables."""
    from caseload_pipeline import cli

    saved = {name: os.environ.get(name) for name in ENV_NAMES}
    progress = logging.getLogger("caseload_pipeline.progress")
    handlers = list(progress.handlers)
    out, err = io.StringIO(), io.StringIO()
    try:
        for name in ENV_NAMES:
            os.environ.pop(name, None)
        os.environ.update(env)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(list(args))
            except SystemExit as exc:  # argparse and the reference check exit this way
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for handler in progress.handlers[:]:
            if handler not in handlers:
                progress.removeHandler(handler)
    return CliResult(code, out.getvalue(), err.getvalue())


@dataclass
class Project:
    """A department's data folder, Dagster home and key, all under `root`."""

    root: Path
    key: str | None = KEY
    # Whether DAGSTER_HOME is left for the CLI to create (True), as on a new
    # machine, or made beforehand with the package's dagster.yaml (False), so a
    # test can open the instance before any run.
    product_instance: bool = False

    def __post_init__(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.product_instance:
            home = self.root / "dagster_home"
            home.mkdir(parents=True, exist_ok=True)
            template = resources.files("caseload_pipeline.cli").joinpath("dagster.yaml")
            # with the event log's folder given, as a test opens the instance
            # from its folder whatever DAGSTER_HOME says (defs/event_log.py)
            config = template.read_text(encoding="utf-8").replace(
                EVENT_LOG_CLASS, f"{EVENT_LOG_CLASS}\n  config:\n"
                f"    base_dir: {home / 'history' / 'runs'}")
            assert config.count(str(home)) == 1, "dagster.yaml names another event log"
            (home / "dagster.yaml").write_text(config)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def incoming(self) -> Path:
        return self.data_dir / "incoming"

    @property
    def analyst_path(self) -> Path:
        return self.data_dir / "caseload.duckdb"

    @property
    def working_path(self) -> Path:
        return self.data_dir / ".pipeline" / "working.duckdb"

    @property
    def key_file(self) -> Path:
        return self.root / "secrets" / "pseudonym.key"

    def env(self) -> dict[str, str]:
        env = {
            "CASELOAD_DATA_DIR": str(self.data_dir),
            "DAGSTER_HOME": str(self.root / "dagster_home"),
            # Even with a key in the environment, never touch ~/.config.
            "CASELOAD_PSEUDONYM_KEY_FILE": str(self.key_file),
        }
        if self.key is not None:
            env["CASELOAD_PSEUDONYM_KEY"] = self.key
        return env

    def cli(self, *args: str, **env: str) -> CliResult:
        return run_cli(list(args), self.env() | env)

    def materialize(self, *args: str) -> CliResult:
        return self.cli("materialize", *args)

    def write_month(self, month: str, caseload=None, staff=None) -> None:
        """Write the month's CSVs, removing any other file of that month first."""
        self.clear_month(month)
        dep.write_month(self.data_dir, month, caseload, staff)

    def clear_month(self, month: str) -> None:
        for kind in ("caseload", "staff"):
            for suffix in (".csv", ".xlsx"):
                (self.incoming / f"{kind}_{month}{suffix}").unlink(missing_ok=True)


def new_project(root: Path, key: str | None = KEY, product_instance: bool = False) -> Project:
    project = Project(root, key, product_instance=product_instance)
    dep.write_reference(project.data_dir)
    return project


@pytest.fixture
def project(tmp_path) -> Project:
    return new_project(tmp_path)


def read_tables(path: Path, exclude_tables: tuple[str, ...] = (),
                exclude_columns: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    """Every table of a DuckDB file, full contents in a stable order."""
    with duckdb.connect(str(path), read_only=True) as con:
        columns: dict[str, list[str]] = {}
        for table, column in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ).fetchall():
            columns.setdefault(table, []).append(column)
        tables = {}
        for table, names in columns.items():
            if table in exclude_tables:
                continue
            kept = ", ".join(f'"{c}"' for c in names if c not in exclude_columns)
            tables[table] = con.execute(
                f'SELECT {kept} FROM "{table}" ORDER BY ALL').df()
    return tables


def assert_same_tables(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    assert sorted(before) == sorted(after)
    for name in before:
        try:
            pd.testing.assert_frame_equal(before[name], after[name])
        except AssertionError as exc:
            raise AssertionError(f"table {name} changed:\n{exc}") from None


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class TwoMonths:
    """The hand-made department: May loaded three times, then June (C1 moved from
    W1 to W3, new cases for W2 and W5). `repeats` holds the full tables after
    each of May's runs (analyst file, working file)."""

    project: Project
    repeats: list[tuple[dict, dict]]


@pytest.fixture(scope="session")
def two_months(tmp_path_factory) -> TwoMonths:
    project = new_project(tmp_path_factory.mktemp("two_months"))
    project.write_month("2022-05")
    repeats = []
    for _ in range(3):
        result = project.materialize("--month", "2022-05")
        assert result.code == 0, result.text
        repeats.append((read_tables(project.analyst_path, exclude_columns=VOLATILE),
                        read_tables(project.working_path, exclude_columns=VOLATILE)))
    project.write_month("2022-06", caseload=dep.reassignment_rows("2022-06"))
    result = project.materialize("--month", "2022-06")
    assert result.code == 0, result.text
    return TwoMonths(project, repeats)


def disguise(rows: list[list], columns=(0, 1)) -> list[list]:
    """Make raw ids unmistakable (`C1` -> `CASEREF-4471-C1`, `W1` -> `WKRREF-8812-W1`),
    so that a search of a database file's bytes for them means something."""
    out = []
    for row in rows:
        row = list(row)
        for i in columns:
            prefix = "CASEREF-4471-" if row[i].startswith("C") else "WKRREF-8812-"
            row[i] = prefix + row[i] if row[i] else row[i]
        out.append(row)
    return out


AUDIT_BASELINES = [
    ["2022/23", "team", "Hospital Team", "3.0"],
    ["2022/23", "team", "Review Team", "1.65"],
    ["2022/23", "team", "Cares Team", "1.02"],  # an alias of Carers Team
    ["2022/23", "role", "SW", "1.5"],
]
CARERS_WORKER = ["W6", "Cares Team", "Social worker", "1", "true", "false"]


@pytest.fixture(scope="session")
def audit_project(tmp_path_factory) -> Project:
    """Audit 2023/24 loaded for May and June 2023; the previous audit, 2022/23, is
    known only from audit_baselines.csv. The Carers Team starts in June (W6, one
    case). No key in the environment: the key file is created. Raw ids are
    disguised (see `disguise`). July 2023 was then delivered with a duplicated
    row and refused."""
    project = new_project(tmp_path_factory.mktemp("audit"), key=None, product_instance=True)
    dep.write_baselines(project.data_dir, AUDIT_BASELINES)
    may_staff = disguise([list(r) for r in dep.STAFF], columns=(0,))
    june_staff = may_staff + disguise([CARERS_WORKER], columns=(0,))
    carers = ["C10", "W6", "2023-06-28", "Carers Team", "low", "", "", "", ""]
    project.write_month("2023-05", caseload=disguise(dep.caseload_rows("2023-05")),
                        staff=may_staff)
    project.write_month("2023-06", caseload=disguise(dep.reassignment_rows("2023-06") + [carers]),
                        staff=june_staff)
    result = project.materialize("--from", "2023-05", "--to", "2023-06")
    assert result.code == 0, result.text
    broken = disguise(dep.caseload_rows("2023-07"))
    project.write_month("2023-07", caseload=broken + [broken[0]], staff=may_staff)
    result = project.materialize("--month", "2023-07")
    assert result.code == 1, result.text
    return project


@pytest.fixture(scope="session")
def alerts_project(tmp_path_factory) -> Project:
    """The early-warning department (alerts_department.py): May, June, August and
    September 2022 loaded in one `materialize --all`; July 2022 has no files."""
    from caseload_pipeline_tests.alerts_department import write_alerts_department

    project = new_project(tmp_path_factory.mktemp("alerts"))
    write_alerts_department(project.data_dir)
    result = project.materialize("--all")
    assert result.code == 0, result.text
    return project
