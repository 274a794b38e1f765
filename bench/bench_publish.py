"""Publishing the analysts' copy: a byte copy of the working file (how it was
done before the copy had to be readable by DuckDB 1.x) against writing it in
an older storage format (`Warehouse.publish`), on a data folder the pipeline
has already loaded.

    uv run python bench/bench_publish.py DATA_DIR [--repeat 3]
        [--versions v1.0.0 v1.4.0 latest]

For the 88-month demo: `CASELOAD_DATA_DIR=/tmp/demo/data caseload demo`, then
`bench/bench_publish.py /tmp/demo/data`; for a 1,000,000-allocation month:
`bench/bench_month.py --keep` and the kept folder's `data/`. Each way is timed
`--repeat` times (the best counts, the machine being shared); the published
file goes to a temporary folder, never over the data folder's own copy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import duckdb

from caseload_pipeline.core.settings import load_settings
from caseload_pipeline.core.warehouse import Warehouse


def byte_copy(warehouse: Warehouse) -> Path:
    """The publish of before: checkpoint, copy the file, rename it into place."""
    target = warehouse.settings.duckdb_path
    with warehouse.connect() as con:
        con.execute("CHECKPOINT")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(warehouse.settings.working_db_path, temporary)
    os.replace(temporary, target)
    return target


def best_of(repeat: int, publish) -> tuple[float, int]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        path = publish()
        times.append(time.perf_counter() - start)
    return min(times), path.stat().st_size


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data_dir", type=Path)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--versions", nargs="+", default=["v1.0.0", "v1.4.0", "latest"])
    args = p.parse_args()

    settings = load_settings({"CASELOAD_DATA_DIR": str(args.data_dir),
                              "CASELOAD_PSEUDONYM_KEY": "bench-publish-key-0123456789"})
    if not settings.working_db_path.is_file():
        print(f"no working database in {settings.data_dir}", file=sys.stderr)
        return 2
    with duckdb.connect(str(settings.working_db_path), read_only=True) as con:
        allocations = con.execute("SELECT count(*) FROM allocations").fetchone()[0]
    print(f"bench_publish: {settings.working_db_path} "
          f"({settings.working_db_path.stat().st_size / 1e6:.1f} MB, {allocations} allocations);"
          f" DuckDB {duckdb.__version__}, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="caseload-bench-publish-") as out:
        target = Path(out) / "caseload.duckdb"
        base = replace(settings, duckdb_path=target)
        seconds, size = best_of(args.repeat, lambda: byte_copy(Warehouse(base)))
        print(f"  byte copy (before):          {seconds:6.2f} s  {size / 1e6:7.1f} MB")
        for version in args.versions:
            warehouse = Warehouse(replace(base, analyst_storage_version=version))
            seconds, size = best_of(args.repeat, warehouse.publish)
            print(f"  storage version {version:<12} {seconds:6.2f} s  {size / 1e6:7.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
