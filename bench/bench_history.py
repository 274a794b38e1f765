"""Benchmark 2: the whole demo history in one run, against plain DuckDB.

    uv run python bench/bench_history.py [--repeat 1] [--keep] [--profile] [--cold-bytecode]

Writes the demo department (caseload_pipeline.core.demo.write_demo: about 88
months from 2019-07, some files as .xlsx) into a temporary data folder, then
runs, one after the other, as subprocesses:
  (a) `caseload materialize --all` from a cold Dagster instance (one run for
      every month, then the audit tables and reports), and
  (b) bench/baseline_history.py, the same months in plain DuckDB,
and prints the wall and CPU times, their ratio (aim: at most 2.5) and the peak
RSS of each. Results go to bench/results/bench_history-*.json. The options
are those of bench_month.py.
"""

from __future__ import annotations

import argparse
import re
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

BENCH = Path(__file__).resolve().parent
BASELINE_STAGES = [("read, check, load, team_monthly", "loaded"),
                   ("audit averages", "audit averages"), ("close", "closed")]
MONTH_LINE = re.compile(r"^\s*\d{4}-\d{2}: ")  # "  2019-07: extracted ...", one per month


def write_demo_folder(data_dir: Path) -> dict:
    try:
        from caseload_pipeline.core.demo import write_demo
    except ImportError as exc:  # the generator is being written alongside
        raise SystemExit(f"caseload_pipeline.core.demo is not importable yet: {exc}") from None
    summary = write_demo(data_dir)
    incoming = sorted((data_dir / "incoming").iterdir())
    return {"first_month": summary.first_month, "last_month": summary.last_month,
            "months": len(summary.months_written),
            "xlsx_files": sum(p.suffix == ".xlsx" for p in incoming),
            "incoming_mb": round(sum(p.stat().st_size for p in incoming) / 2**20, 1)}


def compare_audits(pipeline_db: Path, baseline_db: Path) -> int:
    """Audit averages (from monthly data) on which the two disagree: 0 shows same work."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{pipeline_db}' AS p (READ_ONLY)")
    con.execute(f"ATTACH '{baseline_db}' AS b (READ_ONLY)")
    return con.execute("""
        SELECT count(*)
        FROM (SELECT * FROM p.audit_team_averages WHERE source = 'monthly') AS p
        FULL JOIN b.audit_team_averages AS b USING (audit, team)
        WHERE p.months_covered IS DISTINCT FROM b.months_covered
           OR abs(p.avg_caseload - b.avg_caseload) > 1e-9 OR p.avg_caseload IS NULL
           OR b.avg_caseload IS NULL
           OR abs(p.avg_weighted_caseload - b.avg_weighted_caseload) > 1e-9
    """).fetchall()[0][0]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=1, help="runs of each side; the best counts")
    p.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    p.add_argument("--profile", action="store_true", help="run the pipeline under cProfile")
    p.add_argument("--cold-bytecode", action="store_true",
                   help="compile every module from source, as with PYTHONDONTWRITEBYTECODE=1")
    args = p.parse_args()

    info = machine()
    print(f"bench_history: {info['cpus']} cores, load average {info['loadavg_start']}")
    root = Path(tempfile.mkdtemp(prefix="caseload-bench-history-"))
    data_dir = root / "data"
    try:
        start = time.perf_counter()
        demo = write_demo_folder(data_dir)
        print(f"  demo written in {time.perf_counter() - start:.1f} s: {demo}")
        env = bench_env(data_dir, args.cold_bytecode)
        if not args.cold_bytecode:
            print(f"  bytecode cache warmed in {warm_bytecode(env):.1f} s (untimed)")
        baseline_db = root / "baseline.duckdb"
        comparison = Comparison(
            name="bench_history", data_dir=data_dir, baseline_db=baseline_db,
            baseline_cmd=[PYTHON, str(BENCH / "baseline_history.py"), str(data_dir),
                          str(baseline_db)],
            pipeline_args=["materialize", "--all"],
            baseline_stages=BASELINE_STAGES, aim_ratio=2.5, aim_rss_mb=None,
            check=compare_audits, check_label="audit_team_averages",
            echo_pipeline=lambda line: not MONTH_LINE.match(line))
        result, ok = run_comparison(comparison, env, args.repeat,
                                    root / "pipeline.prof" if args.profile else None)
        saved = save_result("bench_history", {"machine": info, "args": vars(args),
                                              "demo": demo, **result})
        print(f"  result: {saved}")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"  kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
