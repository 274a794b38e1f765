"""The analysts' copy opens in DuckDB 1.x clients (DBeaver's driver, R and older
Python packages are 1.x): each client is installed from the package registry
into its own virtual environment and must read every table exactly as DuckDB 2
does. The pipeline's working database may stay on the newest format."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from caseload_pipeline.core.settings import SettingsError
from caseload_pipeline.core.warehouse import write_analyst_copy
from caseload_pipeline_tests.conftest import TwoMonths, new_project
from caseload_pipeline_tests.external import duckdb_client

READER = Path(__file__).with_name("read_every_table.py")
SAMPLE_ROWS = 200
# The public tables (SPEC 6) and the reference tables docs/tables.md lists.
ANALYST_TABLES = {
    "allocations", "staff", "worker_monthly", "team_monthly", "role_monthly",
    "audit_team_averages", "audit_role_averages", "audit_comparison", "staff_survey",
    "data_quality", "load_log", "audits", "teams", "roles", "team_lineage", "audit_baselines",
}
CLIENTS = [
    # 1.0 reads the same file format as 1.1 (number 64); it has no wheels for 3.13.
    pytest.param("1.0.0", marks=[pytest.mark.slow, pytest.mark.skipif(
        sys.version_info >= (3, 13), reason="duckdb 1.0.0 has no wheels for Python 3.13+")]),
    "1.1.3",  # the oldest the issue names; the fast loop reads with it and with 1.4
    "1.4.5",
    pytest.param("1.5.6", marks=pytest.mark.slow),
]


def read_with(python: Path | str, database: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), str(READER), str(database), str(SAMPLE_ROWS)],
                          capture_output=True, text=True, timeout=300, check=False)


def tables_read_by(python: Path | str, database: Path) -> dict:
    result = read_with(python, database)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def as_duckdb_2_reads_it(two_months: TwoMonths) -> dict:
    seen = tables_read_by(sys.executable, two_months.project.analyst_path)
    assert seen["duckdb"].startswith("2.")
    assert set(seen["tables"]) >= ANALYST_TABLES
    assert seen["tables"]["allocations"]["rows"] > 0
    assert seen["tables"]["team_monthly"]["rows"] > 0
    return seen


@pytest.mark.parametrize("version", CLIENTS)
def test_a_duckdb_1x_client_reads_every_table(two_months: TwoMonths, as_duckdb_2_reads_it,
                                              version):
    client = duckdb_client(version)

    seen = tables_read_by(client, two_months.project.analyst_path)

    assert seen["duckdb"] in (version, f"v{version}")
    assert sorted(seen["tables"]) == sorted(as_duckdb_2_reads_it["tables"])
    for name, table in as_duckdb_2_reads_it["tables"].items():
        assert seen["tables"][name] == table, name


@pytest.mark.slow  # a whole run
def test_the_setting_reaches_the_run_and_latest_locks_1x_clients_out(tmp_path):
    """Why the setting exists: published as `latest` (DuckDB 2's own format),
    the file no longer opens in DuckDB 1.4."""
    project = new_project(tmp_path)
    project.write_month("2022-05")
    client = duckdb_client("1.4.5")

    result = project.cli("materialize", "--month", "2022-05",
                         CASELOAD_ANALYST_STORAGE_VERSION="latest")

    assert result.code == 0, result.text
    refused = read_with(client, project.analyst_path)
    assert refused.returncode != 0
    assert "Trying to read a database file with version number" in refused.stderr


def test_a_version_duckdb_cannot_write_is_a_settings_error(tmp_path):
    target = tmp_path / "analysts.duckdb"
    with duckdb.connect(str(tmp_path / "working.duckdb")) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
        with pytest.raises(SettingsError, match=r"CASELOAD_ANALYST_STORAGE_VERSION='v1\.9\.0' "
                                                r"is not a version DuckDB .* can write"):
            write_analyst_copy(con, target, "v1.9.0")
        assert not target.exists()
        # the connection is still usable, nothing attached
        assert con.execute("SELECT count(*) FROM duckdb_databases() WHERE NOT internal"
                           ).fetchone()[0] == 1


def test_a_stale_temporary_file_from_a_dead_run_is_replaced(tmp_path):
    target = tmp_path / "analysts.duckdb"
    target.write_bytes(b"half-written by a run that died")
    with duckdb.connect(str(tmp_path / "working.duckdb")) as con:
        con.execute("CREATE TABLE t AS SELECT 42 AS x")
        write_analyst_copy(con, target, "v1.0.0")
    with duckdb.connect(str(target), read_only=True) as copy:
        assert copy.execute("SELECT x FROM t").fetchall() == [(42,)]
