"""Loading the code location stays light: no data libraries at import."""

import subprocess
import sys


def test_code_location_loads_without_pandas_duckdb_or_great_expectations(tmp_path):
    probe = ("import sys, caseload_pipeline.definitions as d; d.defs.resolve_all_job_defs();"
             " print(sorted(m for m in ('pandas', 'duckdb', 'great_expectations')"
             " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env={"CASELOAD_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
                         check=True)
    assert out.stdout.strip() == "[]"
