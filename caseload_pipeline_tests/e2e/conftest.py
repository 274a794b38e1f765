"""End-to-end fixtures: the real `caseload ui` (dagster dev: webserver, daemon and
code server) on a free 127.0.0.1 port, with a temporary data folder and
DAGSTER_HOME, driven through the UI's own GraphQL API, while an analyst process
keeps the published DuckDB file open.

One `dagster dev` is shared by the whole session (it takes many seconds to
start); every process it started is killed with its process group at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from caseload_pipeline_tests.department import write_month, write_reference

HERE = Path(__file__).parent
ARTIFACTS = HERE.parent / "artifacts"
LOCATION = "caseload_pipeline"
REPOSITORY = "__repository__"
# Months with files when the backfill is launched (in audits.yaml's 2023/24 window,
# department.py), and the month dropped later for the sensor.
BACKFILL_MONTHS = ["2023-05", "2023-06"]
SENSOR_MONTH = "2023-07"
PSEUDONYM_KEY = "e2e-test-key-0123456789abcdef"
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")
SENSOR = "incoming_files_sensor"
AUTOMATION_SENSOR = "caseload_automation_sensor"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGINT the group (what Ctrl-C does), then SIGKILL whatever is left."""
    if process.poll() is None or _group_alive(process.pid):
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _group_alive(process.pid):
                time.sleep(0.2)
                process.poll()
            if not _group_alive(process.pid):
                break
    process.wait(timeout=10)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # zombies still count for killpg; look for a live member
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


class DagsterDev:
    """A running `caseload ui` and a small GraphQL client for it."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.home = self.data / "dagster_home"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = root / "caseload_ui.log"
        self.env = {
            **os.environ,
            "CASELOAD_DATA_DIR": str(self.data),
            "CASELOAD_PSEUDONYM_KEY": PSEUDONYM_KEY,
            "CASELOAD_PSEUDONYM_KEY_FILE": str(root / "pseudonym.key"),  # never ~/.config
            "DAGSTER_HOME": str(self.home),
            "PYTHONUNBUFFERED": "1",
            # A seed under which Dagster 1.13 refused the months' backfill while the
            # load and metrics multi-assets were not subsettable (see deploy/README.md).
            "PYTHONHASHSEED": "1",
        }
        self.env.pop("CASELOAD_DUCKDB_PATH", None)
        self.env.pop("CASELOAD_FIRST_MONTH", None)
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self.ready_after = 0.0

    @property
    def duckdb_path(self) -> Path:
        return self.data / "caseload.duckdb"

    @property
    def incoming(self) -> Path:
        return self.data / "incoming"

    def start(self) -> None:
        self.started_at = time.monotonic()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "caseload_pipeline.cli", "ui", "--port", str(self.port)],
                env=self.env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )

    def stop(self) -> None:
        """`kill` the caseload process (it stops dagster dev as Ctrl-C does), then
        kill whatever of the process group is left."""
        if self.process is None:
            return
        self.process.terminate()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _group_alive(self.process.pid):
            time.sleep(0.3)
        stop_process_group(self.process)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = json.load(response)
        except urllib.error.HTTPError as exc:  # GraphQL puts its errors in the body
            raise AssertionError(f"GraphQL HTTP {exc.code}: {exc.read()[:3000]!r}") from None
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def wait_until_loaded(self, timeout: float = 150) -> None:
        """Until GraphQL answers with our code location loaded."""
        query = """{ workspaceOrError { __typename ... on Workspace { locationEntries {
            name loadStatus locationOrLoadError { __typename ... on PythonError { message } }
        } } } }"""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"caseload ui exited:\n{self.log_tail()}")
            try:
                entries = self.graphql(query, timeout=5)["workspaceOrError"]["locationEntries"]
            except (OSError, urllib.error.URLError, ValueError, KeyError):
                time.sleep(0.5)
                continue
            for entry in entries:
                loaded = entry["locationOrLoadError"] or {}
                if loaded.get("__typename") == "PythonError":
                    raise AssertionError(f"code location failed to load: {loaded['message']}")
                if entry["name"] == LOCATION and loaded.get("__typename") == "RepositoryLocation":
                    self.ready_after = time.monotonic() - self.started_at
                    return
            time.sleep(0.5)
        raise AssertionError(f"GraphQL did not answer in {timeout} s:\n{self.log_tail()}")

    # -- the UI's queries and mutations ------------------------------------------------

    def sensor(self, name: str) -> dict:
        data = self.graphql(
            """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
                __typename ... on Sensor { id name sensorState { id status } }
                ... on PythonError { message } } }""",
            {"s": self.sensor_selector(name)})["sensorOrError"]
        assert data["__typename"] == "Sensor", data
        return data

    def sensor_selector(self, name: str) -> dict:
        return {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY,
                "sensorName": name}

    def stop_sensor(self, name: str) -> str:
        sensor = self.sensor(name)
        result = self.graphql(
            """mutation($id: String!) { stopSensor(id: $id) { __typename
                ... on StopSensorMutationResult { instigationState { status } }
                ... on PythonError { message } } }""", {"id": sensor["sensorState"]["id"]},
        )["stopSensor"]
        assert result["__typename"] == "StopSensorMutationResult", result
        return result["instigationState"]["status"]

    def start_sensor(self, name: str) -> str:
        result = self.graphql(
            """mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename
                ... on Sensor { sensorState { status } } ... on PythonError { message } } }""",
            {"s": self.sensor_selector(name)})["startSensor"]
        assert result["__typename"] == "Sensor", result
        return result["sensorState"]["status"]

    def partitioned_asset_keys(self) -> list[list[str]]:
        """The monthly assets a person can materialize (not the files in incoming/)."""
        nodes = self.graphql("""{ assetNodes { assetKey { path } groupName isExecutable
            partitionDefinition { type } } }""")["assetNodes"]
        return [n["assetKey"]["path"] for n in nodes
                if n["partitionDefinition"] and n["isExecutable"]]

    def launch_backfill(self, asset_keys: list[list[str]], partitions: list[str]) -> str:
        result = self.graphql(
            """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
                __typename ... on LaunchBackfillSuccess { backfillId }
                ... on PythonError { message stack } ... on InvalidSubsetError { message }
                ... on UnauthorizedError { message } } }""",
            {"p": {"assetSelection": [{"path": k} for k in asset_keys],
                   "partitionNames": partitions, "fromFailure": False,
                   "title": "e2e: every month with files"}},
        )["launchPartitionBackfill"]
        assert result["__typename"] == "LaunchBackfillSuccess", result
        return result["backfillId"]

    def backfill(self, backfill_id: str) -> dict:
        return self.graphql(
            """query($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename
                ... on PartitionBackfill { id status numPartitions endTimestamp
                    error { message } runs { runId status startTime endTime } }
                ... on PythonError { message } } }""", {"id": backfill_id},
        )["partitionBackfillOrError"]

    def runs(self, tags: dict[str, str] | None = None) -> list[dict]:
        flt = {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        data = self.graphql(
            """query($f: RunsFilter) { runsOrError(filter: $f) { __typename
                ... on Runs { results { runId status creationTime startTime endTime
                    tags { key value } assetSelection { path } } } } }""", {"f": flt},
        )["runsOrError"]
        runs = data["results"]
        for run in runs:
            run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
            run["assets"] = {"/".join(a["path"]) for a in run["assetSelection"] or []}
        return runs

    def run_messages(self, run_id: str) -> list[str]:
        data = self.graphql(
            """query($id: ID!) { logsForRun(runId: $id) { __typename
                ... on EventConnection { events { __typename ... on MessageEvent { message } } }
            } }""", {"id": run_id})["logsForRun"]
        return [e.get("message") or "" for e in data.get("events", [])]


def poll(what: str, check, timeout: float, interval: float = 2.0):
    """Call check() until it returns something truthy; fail after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


class AnalystReader:
    """Another process that keeps the analyst file open read-only and queries it."""

    def __init__(self, dev: DagsterDev):
        self.dev = dev
        self.out = dev.root / "analyst_reader.jsonl"
        self.stop_file = dev.root / "analyst_reader.stop"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "analyst_reader.py"), str(self.dev.duckdb_path),
             str(self.out), str(self.stop_file)],
            env=self.dev.env, start_new_session=True, stdin=subprocess.DEVNULL,
        )

    def records(self) -> list[dict]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]

    def assert_never_failed(self, min_queries: int = 1) -> list[dict]:
        assert self.process.poll() is None, "the analyst reader died"
        records = self.records()
        errors = [r for r in records if r.get("error")]
        assert errors == [], f"the analyst's queries failed: {errors[:3]}"
        queries = sum(r.get("queries", 0) for r in records)
        assert queries >= min_queries, f"the analyst ran only {queries} queries"
        return records

    def stop(self) -> None:
        if self.process is None:
            return
        self.stop_file.touch()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        stop_process_group(self.process, grace=2)


@pytest.fixture(scope="session")
def ui_started(tmp_path_factory):
    """`caseload ui` started (not yet answering) on a department with reference
    files and no monthly files yet, and the analyst reader watching its file."""
    root = tmp_path_factory.mktemp("ui")
    dev = DagsterDev(root)
    write_reference(dev.data)
    dev.incoming.mkdir(parents=True)
    reader = dev.reader = AnalystReader(dev)
    try:
        dev.start()
        reader.start()
        yield dev
    finally:
        reader.stop()
        dev.stop()
        ARTIFACTS.mkdir(exist_ok=True)
        if dev.log_path.exists():
            shutil.copy(dev.log_path, ARTIFACTS / "caseload_ui.log")


@pytest.fixture(scope="session")
def dagster_dev(ui_started):
    """The shared `caseload ui`, answering GraphQL with our code location loaded."""
    if not ui_started.ready_after:
        ui_started.wait_until_loaded()
    return ui_started


@pytest.fixture(scope="module")
def ui_starting_meanwhile(request):
    """Start the shared UI now when later tests need it, so that its start (tens
    of seconds of process start-up) overlaps with the requesting module's tests."""
    if any("dagster_dev" in item.fixturenames for item in request.session.items):
        request.getfixturevalue("ui_started")


@pytest.fixture(scope="session")
def operated(dagster_dev):
    """What the analyst does in the UI, with what the tests check recorded as it
    happens (waits overlap, so the whole story takes about as long as its
    slowest part):

    1. stop the incoming-files sensor (so that only the backfill runs the
       months), drop the months' files, backfill them with the UI's mutation and
       wait for the backfill's runs;
    2. start the sensor again and drop one more month into incoming/;
    3. wait for the audit tables to refresh by themselves, the sensor's run of
       the new month to finish and the backfill to be marked complete.
    """
    dev = dagster_dev
    story: dict = {"sensor_stopped": dev.stop_sensor(SENSOR)}
    for month in BACKFILL_MONTHS:
        write_month(dev.data, month)
    story["asset_keys"] = dev.partitioned_asset_keys()
    backfill_id = story["backfill_id"] = dev.launch_backfill(story["asset_keys"],
                                                             BACKFILL_MONTHS)

    def backfill_runs_finished():
        runs = dev.runs({"dagster/backfill": backfill_id})
        return runs if runs and all(r["status"] in FINISHED for r in runs) else None

    story["backfill_runs"] = poll("the backfill's runs to finish", backfill_runs_finished,
                                  timeout=240)
    story["backfill_ended"] = max(r["endTime"] for r in story["backfill_runs"])
    story["months_after_backfill"] = analyst_months(dev.duckdb_path)

    story["sensor_started"] = dev.start_sensor(SENSOR)
    story["dropped_at"] = time.time()
    write_month(dev.data, SENSOR_MONTH)

    def everything_settled():
        runs = dev.runs()
        story["audit_runs"] = [
            r for r in runs if r["tags"].get("dagster/sensor_name") == AUTOMATION_SENSOR
            and "audit_team_averages" in r["assets"]
            and (r["startTime"] or 0) >= story["backfill_ended"]]
        story["sensor_runs"] = [r for r in runs
                                if r["tags"].get("dagster/sensor_name") == SENSOR]
        story["backfill"] = dev.backfill(backfill_id)
        story["all_runs"] = runs
        return (any(r["status"] == "SUCCESS" for r in story["audit_runs"])
                and story["sensor_runs"]
                and all(r["status"] in FINISHED for r in story["sensor_runs"])
                and story["backfill"]["status"] not in ("REQUESTED", "CANCELING", "FAILING"))

    try:
        poll("the audit refresh, the sensor's run and the backfill's status",
             everything_settled, timeout=200, interval=3)
    except AssertionError as exc:  # each test says what is missing
        story["timeout"] = str(exc)
    return story


def analyst_months(path: Path) -> list[str]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("SELECT DISTINCT strftime(month, '%Y-%m') FROM allocations"
                           " ORDER BY 1").fetchall()
    finally:
        con.close()
    return [m for (m,) in rows]
