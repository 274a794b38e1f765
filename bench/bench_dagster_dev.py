"""How long `dagster dev` takes to answer GraphQL with our code location loaded,
against an empty code location (a trivial Definitions module), in the same run.

    uv run python bench/bench_dagster_dev.py [--repetitions 3]

Each repetition starts `dagster dev` (webserver, daemon, code server) on a free
127.0.0.1 port with a fresh DAGSTER_HOME holding the project's dagster.yaml,
polls GraphQL until the location is LOADED, then kills the process group. The
two sides alternate so that load from other work on the machine falls on both.
Prints both medians and the ratio (aim: at most 1.5x) and writes
bench/results/dagster_dev.json. Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from caseload_pipeline_tests.department import write_reference  # noqa: E402

INSTANCE_YAML = ROOT / "caseload_pipeline" / "cli" / "dagster.yaml"
EMPTY_MODULE = "from dagster import Definitions\n\ndefs = Definitions()\n"
QUERY = """{ workspaceOrError { ... on Workspace { locationEntries { name
    locationOrLoadError { __typename } } } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def location_loaded(port: int, name: str) -> bool:
    body = json.dumps({"query": QUERY}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            entries = json.load(response)["data"]["workspaceOrError"]["locationEntries"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    for entry in entries:
        loaded = entry["locationOrLoadError"] or {}
        if entry["name"] == name and loaded.get("__typename") == "RepositoryLocation":
            return True
        if entry["name"] == name and loaded.get("__typename") == "PythonError":
            raise RuntimeError(f"{name} failed to load")
    return False


def kill_group(process: subprocess.Popen) -> None:
    """Ctrl-C for dagster dev, then SIGKILL for whatever of its group is left."""
    for sig in (signal.SIGINT, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def workspace(side: str, folder: Path) -> tuple[str, dict[str, str]]:
    """(workspace.yaml text, extra environment) for one side."""
    if side == "caseload":
        data = folder / "data"
        write_reference(data)
        return ("load_from:\n  - python_module:\n      module_name: caseload_pipeline.definitions\n"
                "      location_name: caseload\n",
                {"CASELOAD_DATA_DIR": str(data),
                 "CASELOAD_PSEUDONYM_KEY": "benchmark-pseudonym-key-0123456789",
                 "CASELOAD_PSEUDONYM_KEY_FILE": str(folder / "pseudonym.key")})
    (folder / "empty_defs.py").write_text(EMPTY_MODULE)
    return ("load_from:\n  - python_file:\n      relative_path: empty_defs.py\n"
            "      location_name: empty\n", {})


def measure(side: str, timeout: float) -> float:
    with tempfile.TemporaryDirectory(prefix=f"bench-dev-{side}-") as tmp:
        folder = Path(tmp)
        home = folder / "dagster_home"
        home.mkdir()
        shutil.copyfile(INSTANCE_YAML, home / "dagster.yaml")
        text, extra = workspace(side, folder)
        (folder / "workspace.yaml").write_text(text)
        env = {**os.environ, **extra, "DAGSTER_HOME": str(home)}
        env.pop("CASELOAD_DUCKDB_PATH", None)
        port = free_port()
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "dagster", "dev", "-w", str(folder / "workspace.yaml"),
             "-h", "127.0.0.1", "-p", str(port)],
            cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            while not location_loaded(port, side):
                if process.poll() is not None:
                    raise RuntimeError(f"dagster dev ({side}) exited with {process.returncode}")
                if time.monotonic() - started > timeout:
                    raise RuntimeError(f"dagster dev ({side}) not loaded after {timeout} s")
                time.sleep(0.1)
            return time.monotonic() - started
        finally:
            kill_group(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args()

    times: dict[str, list[float]] = {"empty": [], "caseload": []}
    for repetition in range(args.repetitions):
        for side in ("empty", "caseload"):
            seconds = measure(side, args.timeout)
            times[side].append(seconds)
            print(f"  {repetition + 1}. {side:<8} {seconds:6.1f} s", flush=True)
    medians = {side: statistics.median(values) for side, values in times.items()}
    ratio = medians["caseload"] / medians["empty"]
    print(f"median until GraphQL answers with the location loaded: "
          f"empty {medians['empty']:.1f} s, caseload {medians['caseload']:.1f} s, "
          f"ratio {ratio:.2f}x (aim <= 1.5x)")
    load = os.getloadavg()
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "dagster_dev.json").write_text(json.dumps({
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(), "load_average": load,
        "seconds": times, "medians": medians, "ratio": ratio,
    }, indent=1))


if __name__ == "__main__":
    main()
