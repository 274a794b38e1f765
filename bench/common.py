"""Shared by the benchmarks: run the pipeline and its baseline as subprocesses,
measure both the same way, and report the ratio.

Both sides run as separate processes, so interpreter start-up and imports
count on both sides; they run one after the other (never together, as they
would compete for the two cores), from clean outputs each time. The machine
is shared, so what is reported is a ratio from the same run, with the load
average beside it; with --repeat N the best (least disturbed) run of each
side is compared.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import pstats
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
# The venv's own interpreter and console script: `uv run` in front of every
# subprocess would add its own start-up and lock check to the timings.
PYTHON = sys.executable
CASELOAD = str(Path(sys.executable).with_name("caseload"))
KEY = "benchmark-pseudonym-key-0123456789"  # fixed, so runs are comparable
# Compiled bytecode for the subprocesses, kept between runs (git-ignored).
# Without it every process compiles Dagster, GX and pandas from source again
# (about 8 s of CPU here, where PYTHONDONTWRITEBYTECODE=1 is set), which is
# not what an analyst's installed package does after its first run.
PYCACHE = RESULTS_DIR / "pycache"
WARM_IMPORTS = (
    "import caseload_pipeline.cli, caseload_pipeline.cli.runs, caseload_pipeline.definitions,"
    " caseload_pipeline.core.report.writer, duckdb, yaml, python_calamine,"
    " great_expectations"
)
# The progress line of `caseload materialize` that ends each stage.
PIPELINE_STAGES = [
    ("start-up (imports, reference)", "Materializing"),
    ("extract (+ Dagster start)", ": extracted"),
    ("validate (GX)", ": validated"),
    ("load", "loaded "),
    ("metrics + publish", "metrics refreshed"),
    ("audit tables + publish", "audit tables refreshed"),
    ("reports", "reports written"),
    ("exit", "Done."),
]
# What the pipeline leaves in the data folder: removed before each run, so
# every run starts from a cold Dagster instance and an empty warehouse.
PIPELINE_OUTPUTS = ("dagster_home", ".pipeline", "caseload.duckdb", "reports")


@dataclass
class Measured:
    command: list[str]
    wall_s: float
    peak_rss_mb: float  # the process tree's summed RSS, polled
    max_rss_mb: float  # the kernel's high-water mark of the largest process (wait4)
    cpu_s: float  # user + system of the process and the children it waited for
    returncode: int
    peak_at_s: float = 0.0  # when the polled peak happened, to name the stage behind it
    # (seconds since start, line) for every output line, to time the stages
    lines: list[tuple[float, str]] = field(default_factory=list)

    @property
    def peak_mb(self) -> float:
        return max(self.peak_rss_mb, self.max_rss_mb)

    def summary(self) -> dict:
        data = asdict(self)
        data.pop("lines")
        return data


def _tree_rss(proc: psutil.Process) -> int:
    """RSS of a process and all its descendants (summed: they are alive together)."""
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):  # a child may exit between the two calls
            total += p.memory_info().rss
    return total


def run_measured(command: list[str], env: dict[str, str],
                 echo: Callable[[str], bool] = lambda line: True,
                 poll_s: float = 0.02) -> Measured:
    """Run `command`, timing it and polling its process tree's RSS; print the
    output lines that `echo` accepts, with their time."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    watched = psutil.Process(proc.pid)
    peak, peak_at = 0, 0.0
    done = threading.Event()

    def poll() -> None:
        nonlocal peak, peak_at
        while not done.is_set():
            rss = _tree_rss(watched)
            if rss > peak:
                peak, peak_at = rss, time.perf_counter() - start
            done.wait(poll_s)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        elapsed = time.perf_counter() - start
        lines.append((round(elapsed, 3), line.rstrip("\n")))
        if echo(line):
            print(f"    [{elapsed:7.1f}s] {line.rstrip()}", flush=True)
    # wait4 rather than wait: it hands back this child's own rusage (CPU time
    # and the kernel's exact RSS high-water mark, which polling cannot miss).
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
    wall = time.perf_counter() - start
    done.set()
    poller.join()
    return Measured(command, round(wall, 3), round(peak / 2**20, 1),
                    round(usage.ru_maxrss / 2**10, 1),
                    round(usage.ru_utime + usage.ru_stime, 2), proc.returncode,
                    round(peak_at, 2), lines)


def bench_env(data_dir: Path, cold_bytecode: bool = False) -> dict[str, str]:
    """The pipeline's settings pointing at the benchmark's own folder, nothing shared.

    cold_bytecode: an empty bytecode cache that is never written, so every
    module is compiled from source (a first run, or PYTHONDONTWRITEBYTECODE).
    """
    env = {**os.environ, "CASELOAD_DATA_DIR": str(data_dir),
           "CASELOAD_DUCKDB_PATH": str(data_dir / "caseload.duckdb"),
           "CASELOAD_PSEUDONYM_KEY": KEY, "DAGSTER_HOME": str(data_dir / "dagster_home"),
           "GX_ANALYTICS_ENABLED": "false", "PYTHONUNBUFFERED": "1",
           "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    env.pop("CASELOAD_FIRST_MONTH", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if cold_bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(data_dir.parent / "empty-pycache")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def warm_bytecode(env: dict[str, str]) -> float:
    """Import what the pipeline imports once, untimed, so the cache is filled."""
    start = time.perf_counter()
    subprocess.run([PYTHON, "-c", WARM_IMPORTS], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=BENCH_DIR.parent, capture_output=True, text=True)
    return done.stdout.strip()


def machine() -> dict:
    """Where and on what the figures were measured (the tree changes under us:
    the pipeline files modified but not committed are listed)."""
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted": _git("status", "--porcelain", "--untracked-files=no",
                            "caseload_pipeline").splitlines(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def stage_ends(lines: list[tuple[float, str]], markers: list[tuple[str, str]]) -> dict:
    """When each stage ended: the time of the last line after the previous
    stage's end that contains the stage's marker text (the last, because a
    stage prints one line per month).

    `markers` is (stage name, marker text), in order; the CLI prints one
    progress line per finished asset step.
    """
    ends, last = {}, 0.0
    for name, text in markers:
        hits = [t for t, line in lines if text in line and t >= last]
        if hits:
            ends[name] = last = hits[-1]
    return ends


def stage_times(lines: list[tuple[float, str]], markers: list[tuple[str, str]]) -> dict:
    """Seconds each stage took (see stage_ends)."""
    ends = stage_ends(lines, markers)
    starts = [0.0, *ends.values()]
    pairs = zip(ends.items(), starts, strict=False)
    return {name: round(end - start, 2) for (name, end), start in pairs}


def stage_at(lines: list[tuple[float, str]], markers: list[tuple[str, str]],
             moment: float) -> str:
    """The stage running at `moment` (e.g. when the memory peaked)."""
    return next((name for name, end in stage_ends(lines, markers).items() if moment <= end),
                "after the last stage")


@dataclass
class Comparison:
    """One benchmark: the two commands and how to judge them."""

    name: str
    data_dir: Path
    baseline_cmd: list[str]
    baseline_db: Path
    pipeline_args: list[str]  # after `caseload`
    baseline_stages: list[tuple[str, str]]
    aim_ratio: float
    aim_rss_mb: float | None
    # (pipeline db, baseline db) -> rows on which the two disagree
    check: Callable[[Path, Path], int]
    check_label: str
    echo_pipeline: Callable[[str], bool] = lambda line: True


def _clean(comparison: Comparison) -> None:
    for name in PIPELINE_OUTPUTS:
        path = comparison.data_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    for path in comparison.baseline_db.parent.glob(comparison.baseline_db.name + "*"):
        path.unlink()  # the database and its .wal


def run_comparison(c: Comparison, env: dict[str, str], repeat: int = 1,
                   profile: Path | None = None) -> tuple[dict, bool]:
    """Baseline then pipeline, `repeat` times; print and return the figures."""
    pipelines, baselines = [], []
    cli = [CASELOAD]
    if profile is not None:
        cli = [PYTHON, "-m", "cProfile", "-o", str(profile), "-m", "caseload_pipeline.cli"]
    for i in range(repeat):
        _clean(c)
        # The baseline first: the input files are then equally warm in the
        # page cache for both (they have just been written).
        print(f"  (b) baseline, run {i + 1} of {repeat}: {Path(c.baseline_cmd[1]).name}")
        baselines.append(run_measured(c.baseline_cmd, env))
        print(f"  (a) pipeline, run {i + 1} of {repeat}: caseload {' '.join(c.pipeline_args)}")
        pipelines.append(run_measured(cli + c.pipeline_args, env, echo=c.echo_pipeline))
    # The least disturbed run of each side; memory is the worst of all runs.
    pipeline = min(pipelines, key=lambda m: m.wall_s)
    baseline = min(baselines, key=lambda m: m.wall_s)
    peak = max(m.peak_mb for m in pipelines)
    ok = all(m.returncode == 0 for m in pipelines + baselines)

    ratio, cpu_ratio = pipeline.wall_s / baseline.wall_s, pipeline.cpu_s / baseline.cpu_s
    print(f"\n  {c.name}" + (f", best of {repeat} runs each" if repeat > 1 else ""))
    for side, m in (("pipeline", pipeline), ("baseline", baseline)):
        print(f"  {side}  wall {m.wall_s:7.1f} s   cpu {m.cpu_s:7.1f} s   peak RSS"
              f" {m.peak_mb:6.0f} MB   exit {m.returncode}")
    print(f"  ratio (pipeline / baseline): wall {ratio:.2f}, cpu {cpu_ratio:.2f}"
          f"   aim <= {c.aim_ratio}   {'OK' if ratio <= c.aim_ratio else 'OVER'}")
    if c.aim_rss_mb is not None:
        print(f"  pipeline peak RSS {peak:.0f} MB   aim <= {c.aim_rss_mb:.0f} MB"
              f"   {'OK' if peak <= c.aim_rss_mb else 'OVER'}")
    print(f"  load average now {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
          f" on {os.cpu_count()} cores")
    stages = {"pipeline": stage_times(pipeline.lines, PIPELINE_STAGES),
              "baseline": stage_times(baseline.lines, c.baseline_stages)}
    for side, times in stages.items():
        print(f"  {side} stages (s): " + ", ".join(f"{k} {v}" for k, v in times.items()))
    peak_stage = stage_at(pipeline.lines, PIPELINE_STAGES, pipeline.peak_at_s)
    print(f"  pipeline memory peaked at {pipeline.peak_at_s:.0f} s, in: {peak_stage}")
    mismatches = None
    if ok:  # the last run's outputs are still there
        mismatches = c.check(c.data_dir / "caseload.duckdb", c.baseline_db)
        print(f"  {c.check_label} rows where the two disagree: {mismatches}")
    if profile is not None and profile.exists():
        print("\n  cProfile of the pipeline (last run), top 30 by cumulative time:")
        pstats.Stats(str(profile)).sort_stats("cumulative").print_stats(30)
        RESULTS_DIR.mkdir(exist_ok=True)
        shutil.copy(profile, RESULTS_DIR / f"{c.name}.prof")
    result = {
        "pipeline": pipeline.summary(), "baseline": baseline.summary(),
        "all_walls": {"pipeline": [m.wall_s for m in pipelines],
                      "baseline": [m.wall_s for m in baselines]},
        "ratio": round(ratio, 3), "cpu_ratio": round(cpu_ratio, 3),
        "pipeline_peak_rss_mb": peak, "aim_ratio": c.aim_ratio,
        "aim_peak_rss_mb": c.aim_rss_mb, "ratio_ok": ratio <= c.aim_ratio,
        "rss_ok": None if c.aim_rss_mb is None else peak <= c.aim_rss_mb,
        "stages": stages, "pipeline_peak_stage": peak_stage, "mismatches": mismatches,
    }
    return result, ok


def save_result(name: str, result: dict) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    result["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps(result, indent=1, default=str))
    return path
