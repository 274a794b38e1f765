"""Benchmark P4: the UI started with many months of files already waiting.

    uv run python bench/bench_incoming.py [--months 24] [--timeout 900]

Writes the demo department and keeps its last N months of files in
`incoming/` (24 by default: two years an analyst might drop at once), then,
one after the other, in fresh data folders and fresh, empty DAGSTER_HOMEs:

  (a) `caseload materialize --all`: the time until the command exits;
  (b) plain `dagster dev -w workspace.yaml` (not `caseload ui`: no instance
      config of ours, so nothing but the code limits concurrent writers): the
      time from its start until the analysts' file holds every month, by the
      incoming-files sensor alone. Also how many runs the sensor launched and
      whether any failed.

Prints both times and their ratio, and writes bench/results/bench_incoming.json.
Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_dagster_dev import free_port, kill_group  # noqa: E402

KEY = "benchmark-pseudonym-key-0123456789"
RUNS_QUERY = """{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }"""


def prepare(folder: Path, months: int) -> list[str]:
    """A data folder with the demo's last `months` months in incoming/; their labels."""
    from caseload_pipeline.core.demo import write_demo

    data = folder / "data"
    write_demo(data)
    incoming = data / "incoming"
    labels = sorted({p.stem.split("_", 1)[1] for p in incoming.iterdir()})
    keep = set(labels[-months:])
    for path in incoming.iterdir():
        if path.stem.split("_", 1)[1] not in keep:
            path.unlink()
    return sorted(keep)


def environment(folder: Path) -> dict[str, str]:
    home = folder / "dagster_home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "CASELOAD_DATA_DIR": str(folder / "data"),
           "CASELOAD_PSEUDONYM_KEY": KEY, "DAGSTER_HOME": str(home),
           "CASELOAD_PSEUDONYM_KEY_FILE": str(folder / "pseudonym.key")}
    env.pop("CASELOAD_DUCKDB_PATH", None)
    return env


def loaded_months(path: Path) -> set[str]:
    if not path.exists():
        return set()
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            rows = con.execute("SELECT DISTINCT strftime(month, '%Y-%m') FROM load_log")
            return {m for (m,) in rows.fetchall()}
    except duckdb.Error:  # replaced while we opened it: look again
        return set()


def runs(port: int) -> list[dict]:
    body = json.dumps({"query": RUNS_QUERY}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]["runsOrError"]["results"]


def cli_side(folder: Path) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "caseload_pipeline.cli", "materialize", "--all"],
                   env=environment(folder), cwd=folder, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def ui_side(folder: Path, months: list[str], timeout: float) -> dict:
    analyst = folder / "data" / "caseload.duckdb"
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-w", str(ROOT / "workspace.yaml"),
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=folder, env=environment(folder), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        while loaded_months(analyst) < set(months):
            if process.poll() is not None:
                raise RuntimeError(f"dagster dev exited with {process.returncode}")
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"not every month loaded after {timeout} s")
            time.sleep(1)
        seconds = time.monotonic() - started
        launched = [r for r in runs(port)
                    if {"key": "caseload/started_by", "value": "sensor"} in r["tags"]]
        return {"seconds": seconds, "sensor_runs": len(launched),
                "failed_runs": sum(r["status"] == "FAILURE" for r in launched)}
    finally:
        kill_group(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-incoming-") as tmp:
        template = Path(tmp) / "template"
        months = prepare(template, args.months)
        sides = {}
        for side in ("cli", "ui"):
            folder = Path(tmp) / side
            shutil.copytree(template, folder)
            sides[side] = (cli_side(folder) if side == "cli"
                           else ui_side(folder, months, args.timeout))
    ui = sides["ui"]
    ratio = ui["seconds"] / sides["cli"]
    print(f"{len(months)} months waiting in incoming/: caseload materialize --all "
          f"{sides['cli']:.1f} s; plain dagster dev until the analysts' file holds every "
          f"month {ui['seconds']:.1f} s ({ui['sensor_runs']} sensor run(s), "
          f"{ui['failed_runs']} failed); ratio {ratio:.2f}")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "bench_incoming.json").write_text(json.dumps({
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(), "load_average": os.getloadavg(), "months": len(months),
        "cli_seconds": sides["cli"], "ui": ui, "ratio": ratio}, indent=1))


if __name__ == "__main__":
    main()
