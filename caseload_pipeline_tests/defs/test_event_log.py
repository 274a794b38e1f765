"""The event log the CLI's instances use (defs/event_log.py) keeps its SQLite
databases open between writes. What must not change with it: other processes,
running Dagster's stock storage over the same files, read what it wrote and
write beside it; nothing it keeps open holds a transaction; it keeps a bounded
number of databases; and a wipe deletes files that nothing holds."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DagsterInvariantViolationError,
)
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage

from caseload_pipeline.cli.instance import prepare_dagster_home
from caseload_pipeline.core.settings import load_settings
from caseload_pipeline.defs.event_log import KEPT_OPEN, SqliteEventLogKeptOpen

# Run in another process: Dagster's stock storage over the same folder.
STOCK = """
import sys, time
from dagster import AssetKey, AssetMaterialization
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage

storage = SqliteEventLogStorage(sys.argv[1])
run_id = sys.argv[2]
print(len(storage.get_logs_for_run(run_id)))
for i in range(3):
    event = DagsterEvent(DagsterEventType.ASSET_MATERIALIZATION.value, "other_job",
                         event_specific_data=StepMaterializationData(AssetMaterialization(
                             "from_stock", partition=f"p{i}")))
    storage.store_event(EventLogEntry(error_info=None, level=20, user_message="",
                                      run_id=run_id, timestamp=time.time(),
                                      dagster_event=event))
"""


def materialization(run_id: str, asset: str, partition: str) -> EventLogEntry:
    event = DagsterEvent(DagsterEventType.ASSET_MATERIALIZATION.value, "job",
                         event_specific_data=StepMaterializationData(
                             AssetMaterialization(asset, partition=partition)))
    return EventLogEntry(error_info=None, level=20, user_message="", run_id=run_id,
                         timestamp=time.time(), dagster_event=event)


def open_databases(folder: Path) -> set[str]:
    """The SQLite files under `folder` this process has open (Linux). SQLite may
    hold two descriptors of one file: it keeps the closed connection's for reuse
    while another connection to the file is open."""
    names = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith(str(folder)) and target.split(" ")[0].endswith(".db"):
            names.add(target)
    return names


def test_an_instance_the_cli_creates_uses_it(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    settings = load_settings({"CASELOAD_DATA_DIR": str(tmp_path / "data"),
                              "CASELOAD_PSEUDONYM_KEY": "event-log-test-key-0123456789"})
    home = prepare_dagster_home(settings)
    with DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, SqliteEventLogKeptOpen)
        # Dagster's own place, so the stock class reads the same files
        assert Path(storage._base_dir) == home / "history" / "runs"


def test_stock_dagster_in_another_process_reads_and_writes_beside_it(tmp_path):
    storage = SqliteEventLogKeptOpen(str(tmp_path))
    run_id = str(uuid.uuid4())
    for i in range(5):
        storage.store_event(materialization(run_id, "ours", f"p{i}"))
    assert open_databases(tmp_path)  # held open between writes

    other = subprocess.run([sys.executable, "-c", STOCK, str(tmp_path), run_id],
                           capture_output=True, text=True, timeout=120)

    assert other.returncode == 0, other.stderr
    assert other.stdout.split() == ["5"]  # it read our five, then wrote three
    logs = storage.get_logs_for_run(run_id)
    assert [e.dagster_event.asset_key for e in logs] == (
        [AssetKey("ours")] * 5 + [AssetKey("from_stock")] * 3)
    assert storage.get_materialized_partitions(AssetKey("from_stock")) == {"p0", "p1", "p2"}
    storage.dispose()


def test_what_it_keeps_open_holds_no_transaction(tmp_path):
    """A connection that held a read transaction would stop SQLite from folding
    the write-ahead log back into the database: a full checkpoint from outside
    must go through while ours are open."""
    storage = SqliteEventLogKeptOpen(str(tmp_path))
    run_id = str(uuid.uuid4())
    for i in range(50):
        storage.store_event(materialization(run_id, "ours", f"p{i}"))
    for shard in ("index", run_id):
        with closing(sqlite3.connect(tmp_path / f"{shard}.db")) as outside:
            busy, log_pages, moved = outside.execute(
                "PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0 and log_pages == moved, shard
    storage.dispose()
    assert open_databases(tmp_path) == set()


def test_it_keeps_a_bounded_number_of_databases_and_a_wipe_lets_go_of_them(tmp_path):
    storage = SqliteEventLogKeptOpen(str(tmp_path))
    runs = [str(uuid.uuid4()) for _ in range(KEPT_OPEN + 5)]
    for run_id in runs:
        storage.store_event(materialization(run_id, "ours", "p"))
    held = open_databases(tmp_path)
    assert 0 < len(held) <= KEPT_OPEN
    assert any(runs[-1] in name for name in held)  # the most recent runs are the ones kept
    assert not any(runs[0] in name for name in held)

    storage.wipe()

    assert not any(name.endswith("(deleted)") for name in open_databases(tmp_path))
    assert not (tmp_path / f"{runs[-1]}.db").exists()
    storage.store_event(materialization(runs[0], "ours", "again"))
    assert len(storage.get_logs_for_run(runs[0])) == 1
    storage.dispose()


def test_without_dagster_home_or_base_dir_it_says_what_it_needs(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(DagsterInvariantViolationError, match="needs DAGSTER_HOME"):
        SqliteEventLogKeptOpen.from_config_value(None, {})


def test_the_ui_follows_a_running_run_as_its_events_are_written(tmp_path):
    """The UI shows a running run's events live by watching the run's database
    file for changes (Dagster's SqliteEventLogStorageWatchdog, stock class here
    as in a UI process over any instance). With the file kept open, an event
    first lands in SQLite's write-ahead log beside it; the class folds it back
    into the file after each operation, so the watch sees every event."""
    writer = SqliteEventLogKeptOpen(str(tmp_path))
    run_id = str(uuid.uuid4())
    writer.store_event(materialization(run_id, "ours", "p0"))
    ui = SqliteEventLogStorage(str(tmp_path))
    seen: list[str] = []

    def shown(entry, _cursor):
        seen.append(entry.dagster_event.partition)

    ui.watch(run_id, None, shown)
    try:
        time.sleep(0.5)  # the watch is set up
        for i in range(1, 4):
            writer.store_event(materialization(run_id, "ours", f"p{i}"))
            time.sleep(0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not {"p1", "p2", "p3"} <= set(seen):
            time.sleep(0.1)
        assert {"p1", "p2", "p3"} <= set(seen), seen
    finally:
        ui.end_watch(run_id, shown)
        ui.dispose()
        writer.dispose()
