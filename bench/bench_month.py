"""Benchmark 1: one big month through the whole pipeline, against plain DuckDB.

    uv run python bench/bench_month.py [--rows 1000000] [--workers 50000]
        [--month 2023-06] [--repeat 1] [--keep] [--profile] [--cold-bytecode]

Generates a valid month (1,000,000 allocations, 50,000 staff by default) in a
temporary data folder, then runs, one after the other, as subprocesses:
  (a) `caseload materialize --month M` from a cold Dagster instance, and
  (b) bench/baseline_month.py, the same work in plain DuckDB,
and prints the wall and CPU times, their ratio and the peak RSS of each.
The aim (issue): ratio at most 2.0, pipeline peak RSS at most 1.5 GB.
Results go to bench/results/bench_month-*.json.

--repeat N runs each side N times and compares the best runs (the machine is
shared); --profile runs the pipeline under cProfile (slower) and prints the
functions that dominate; --cold-bytecode compiles every module from source in
both processes, as this machine's PYTHONDONTWRITEBYTECODE=1 makes every run
do; by default both use a warmed bytecode cache in bench/results/pycache, as
an installed package does from its second run on.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from common import (
    PYTHON,
    Comparison,
    bench_env,
    machine,
    run_comparison,
    save_result,
    warm_bytecode,
)
from month_data import write_month, write_reference

BENCH = Path(__file__).resolve().parent
BASELINE_STAGES = [("read", "read "), ("check", "checked"), ("load + team_monthly", "loaded"),
                   ("close", "closed")]


def compare_team_monthly(pipeline_db: Path, baseline_db: Path) -> int:
    """Rows of team_monthly on which the two disagree: 0 shows they did the same work."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{pipeline_db}' AS p (READ_ONLY)")
    con.execute(f"ATTACH '{baseline_db}' AS b (READ_ONLY)")
    return con.execute("""
        SELECT count(*) FROM p.team_monthly AS p
        FULL JOIN b.team_monthly AS b USING (month, team)
        WHERE p.workers IS DISTINCT FROM b.workers OR p.cases IS DISTINCT FROM b.cases
           OR abs(p.fte - b.fte) > 1e-6 OR b.fte IS NULL OR p.fte IS NULL
           OR abs(p.avg_weighted_caseload - b.avg_weighted_caseload) > 1e-6
    """).fetchall()[0][0]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--workers", type=int, default=50_000)
    p.add_argument("--month", default="2023-06")
    p.add_argument("--repeat", type=int, default=1, help="runs of each side; the best counts")
    p.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    p.add_argument("--profile", action="store_true", help="run the pipeline under cProfile")
    p.add_argument("--cold-bytecode", action="store_true",
                   help="compile every module from source, as with PYTHONDONTWRITEBYTECODE=1")
    args = p.parse_args()

    info = machine()
    print(f"bench_month: {args.rows} allocations, {args.workers} staff, month {args.month};"
          f" {info['cpus']} cores, load average {info['loadavg_start']}")
    root = Path(tempfile.mkdtemp(prefix="caseload-bench-month-"))
    data_dir = root / "data"
    try:
        start = time.perf_counter()
        write_reference(data_dir)
        generated = write_month(data_dir, args.month, args.rows, args.workers)
        print(f"  generated in {time.perf_counter() - start:.1f} s: {generated}")
        env = bench_env(data_dir, args.cold_bytecode)
        if not args.cold_bytecode:
            print(f"  bytecode cache warmed in {warm_bytecode(env):.1f} s (untimed)")
        baseline_db = root / "baseline.duckdb"
        comparison = Comparison(
            name="bench_month", data_dir=data_dir, baseline_db=baseline_db,
            baseline_cmd=[PYTHON, str(BENCH / "baseline_month.py"), str(data_dir), args.month,
                          str(baseline_db)],
            pipeline_args=["materialize", "--month", args.month],
            baseline_stages=BASELINE_STAGES, aim_ratio=2.0, aim_rss_mb=1536,
            check=compare_team_monthly, check_label="team_monthly")
        result, ok = run_comparison(comparison, env, args.repeat,
                                    root / "pipeline.prof" if args.profile else None)
        saved = save_result("bench_month", {"machine": info, "args": vars(args),
                                            "generated": generated, **result})
        print(f"  result: {saved}")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"  kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
