"""Writers wait their turn whatever launched them (issue 8, point 1, "Done when"):
a plain `dagster dev -w workspace.yaml` over an empty DAGSTER_HOME (no
dagster.yaml, so no `caseload_warehouse` pool limit), two years of monthly
files already in incoming/, the incoming-files sensor running, a UI backfill
launched through GraphQL and `caseload materialize` run from the command line
meanwhile. No run fails and no log holds DuckDB's "Could not set lock".

So that the three writers surely meet, the test itself holds the working
database's lock at first (as a long step of another run would) until the
sensor's run, the backfill's run and the CLI's run all wait for it, saying so.

Also measured (printed with -s): how long it takes, and how many runs the
sensor launched for the 24 waiting months.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from caseload_pipeline.core.locks import FileLock
from caseload_pipeline.core.settings import load_settings
from caseload_pipeline_tests.department import write_month, write_reference
from caseload_pipeline_tests.e2e.cli_process import CliProcess
from caseload_pipeline_tests.e2e.conftest import (
    ARTIFACTS,
    FINISHED,
    SENSOR,
    DagsterDev,
    poll,
)

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
MONTHS = [f"{y}-{m:02d}" for y in (2022, 2023, 2024) for m in range(1, 13)
          if "2022-05" <= f"{y}-{m:02d}" <= "2024-04"]  # 24 months
BACKFILL = MONTHS[8:15]  # seven months, 2023-01 to 2023-07
CLI_MONTH = "2023-03"
LOCK_ERROR = "Could not set lock"
WAITING = "waiting for the working database"


class PlainDagsterDev(DagsterDev):
    """`dagster dev -w workspace.yaml` from the repository, as its README invites,
    with DAGSTER_HOME an empty folder (not `caseload ui`)."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.home = root / "empty_dagster_home"
        self.home.mkdir()
        self.env["DAGSTER_HOME"] = str(self.home)

    def start(self) -> None:
        self.started_at = time.monotonic()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dagster", "dev", "-w", str(REPO / "workspace.yaml"),
                 "-h", "127.0.0.1", "-p", str(self.port)],
                env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)


def is_month_run(run: dict) -> bool:
    return any(k in run["tags"] for k in ("dagster/partition",
                                          "dagster/asset_partition_range_start"))


def logged_anywhere(home: Path, text: str) -> list[str]:
    """Files under DAGSTER_HOME (event logs, compute logs) that contain `text`."""
    found = []
    for path in home.rglob("*"):
        if path.is_file():
            with path.open("rb") as f:
                if text.encode() in f.read():
                    found.append(str(path))
    return found


def test_sensor_backfill_and_cli_together_under_plain_dagster_dev(tmp_path):
    dev = PlainDagsterDev(tmp_path)
    write_reference(dev.data)
    for month in MONTHS:
        write_month(dev.data, month)
    old = time.time() - 120  # copied a while ago: the sensor's first tick takes them
    for path in dev.incoming.iterdir():
        os.utime(path, (old, old))
    assert list(dev.home.iterdir()) == []
    settings = load_settings({"CASELOAD_DATA_DIR": str(dev.data)})
    writer = FileLock(settings.working_lock_path, "the test", "the working database")
    writer.acquire(0)
    cli = None
    try:
        dev.start()
        dev.wait_until_loaded()
        started = time.monotonic()

        def sensor_runs():
            return [r for r in dev.runs() if r["tags"].get("dagster/sensor_name") == SENSOR]

        poll("the sensor's run", sensor_runs, timeout=180, interval=1)
        backfill_id = dev.launch_backfill(dev.partitioned_asset_keys(), BACKFILL)
        cli = CliProcess(["materialize", "--month", CLI_MONTH], dev.env, tmp_path, name="cli")

        def everyone_waits():
            runs = sensor_runs() + dev.runs({"dagster/backfill": backfill_id})
            waiting = [r for r in runs if any(WAITING in m for m in dev.run_messages(r["runId"]))]
            return len(waiting) == 2 and WAITING in cli.output

        poll("the sensor's, the backfill's and the CLI's runs to wait", everyone_waits,
             timeout=300, interval=2)
        writer.release()
        assert cli.wait(timeout=600) == 0, cli.output

        settled: dict = {}

        def all_done():
            """Every run finished, the backfill done, and nothing new launched for
            a minute (the automation sensor refreshes the audit tables after the
            months: two of its ticks)."""
            runs = dev.runs()
            backfill = dev.backfill(backfill_id)
            if not runs or any(r["status"] not in FINISHED for r in runs) or \
                    backfill["status"] in ("REQUESTED", "CANCELING", "FAILING"):
                settled.clear()
                return None
            if settled.get("runs") != len(runs):
                settled.update(runs=len(runs), since=time.monotonic())
                return None
            return (runs, backfill) if time.monotonic() - settled["since"] > 65 else None

        runs, backfill = poll("every run to finish", all_done, timeout=900, interval=3)
        took = time.monotonic() - started
        messages = {r["runId"]: dev.run_messages(r["runId"]) for r in runs}
    finally:
        writer.release()
        dev.stop()
        ARTIFACTS.mkdir(exist_ok=True)
        if dev.log_path.exists():
            (ARTIFACTS / "plain_dagster_dev.log").write_bytes(dev.log_path.read_bytes())

    failed = [(r["runId"], r["status"], r["tags"]) for r in runs if r["status"] != "SUCCESS"]
    assert failed == [], failed
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), backfill
    lock_errors = [run_id for run_id, lines in messages.items()
                   if any(LOCK_ERROR in line for line in lines)]
    assert lock_errors == []
    assert LOCK_ERROR not in dev.log_path.read_text(errors="replace")
    assert LOCK_ERROR not in cli.output
    assert logged_anywhere(dev.home, LOCK_ERROR) == []
    # the writers did meet: some waited for the working database, and said so
    waits = [line for lines in messages.values() for line in lines if WAITING in line]
    waits += [line for line in cli.output.splitlines() if WAITING in line]
    # the sensor asked for the 24 waiting months in one run
    from_sensor = [r for r in runs if r["tags"].get("dagster/sensor_name") == SENSOR]
    assert len(from_sensor) == 1, [r["tags"] for r in from_sensor]
    assert (from_sensor[0]["tags"]["dagster/asset_partition_range_start"],
            from_sensor[0]["tags"]["dagster/asset_partition_range_end"]) == (MONTHS[0],
                                                                             MONTHS[-1])
    with duckdb.connect(str(dev.duckdb_path), read_only=True) as con:
        loaded = [str(m)[:7] for (m,) in con.execute(
            "SELECT DISTINCT month FROM team_monthly ORDER BY month").fetchall()]
    assert loaded == MONTHS
    print(f"\nplain dagster dev: {len(runs)} runs ({len(from_sensor)} from the sensor for "
          f"{len(MONTHS)} months), all done {took:.0f} s after the UI answered "
          f"({dev.ready_after:.0f} s to start); {len(waits)} wait messages")
    assert len(waits) >= 3
