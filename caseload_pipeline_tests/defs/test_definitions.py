"""Loading the code location stays light: no data libraries at import."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest


def test_code_location_loads_without_pandas_duckdb_or_great_expectations(tmp_path):
    probe = ("import sys, caseload_pipeline.definitions as d; d.defs.resolve_all_job_defs();"
             " print(sorted(m for m in ('pandas', 'duckdb', 'great_expectations')"
             " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env={"CASELOAD_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
                         check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow  # two `dg` processes, each loading the code location
def test_dg_loads_the_project_from_the_repository_root(tmp_path):
    """`dg check defs` and `dg list defs` work from the root ([tool.dg] in pyproject)."""
    root = Path(__file__).resolve().parents[2]
    dg = Path(sys.executable).with_name("dg")
    env = {"CASELOAD_DATA_DIR": str(tmp_path), "PATH": f"{dg.parent}:/usr/bin:/bin",
           "HOME": str(tmp_path), "VIRTUAL_ENV": str(dg.parent.parent)}
    check = subprocess.run([str(dg), "check", "defs"], cwd=root, env=env,
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "All definitions loaded successfully" in check.stdout + check.stderr
    listed = subprocess.run([str(dg), "list", "defs", "--json"], cwd=root, env=env,
                            capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    keys = {asset["asset_key"] for asset in data["assets"]}
    assert {"month_files", "team_monthly", "audit_comparison", "audit_reports"} <= keys
    assert {job["name"] for job in data["jobs"]} >= {"monthly_job", "audit_job"}


def test_the_code_location_takes_its_folders_from_the_environment(tmp_path, monkeypatch):
    """What `dagster dev` loads (workspace.yaml names this module), in this process."""
    monkeypatch.setenv("CASELOAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CASELOAD_DUCKDB_PATH", str(tmp_path / "shared" / "adults.duckdb"))
    monkeypatch.setenv("CASELOAD_ANALYST_STORAGE_VERSION", "v1.4.0")
    # a fresh import, dropped again afterwards: `defs` is built when the module loads
    monkeypatch.delitem(sys.modules, "caseload_pipeline.definitions", raising=False)
    try:
        module = importlib.import_module("caseload_pipeline.definitions")
    finally:
        sys.modules.pop("caseload_pipeline.definitions", None)

    data = module.defs.resources["caseload_data"]
    assert data.data_dir == str(tmp_path / "data")
    assert data.duckdb_path == str(tmp_path / "shared" / "adults.duckdb")
    assert data.settings().analyst_storage_version == "v1.4.0"
    assert {job.name for job in module.defs.resolve_all_job_defs()} >= {"monthly_job",
                                                                       "audit_job"}
