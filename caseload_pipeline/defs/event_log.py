"""Dagster's SQLite event log, with its databases kept open between writes.

The stock `SqliteEventLogStorage` builds a new SQLAlchemy engine for every read
and write, opens a connection, and closes both after. That costs twice over:
every statement is compiled again (SQLAlchemy caches compiled statements per
engine), and, the database being in WAL mode, the last connection to close
folds the write-ahead log back into the database file, syncs it and deletes
it, so the next write makes it again. A run of many months writes two events
per monthly asset and month (planned, then materialized): 1,232 for the demo's
88 months. `bench/bench_event_log.py`, 600 materializations of one run on this
project's machine: 5.3-6.2 ms an event stock, 2.4 ms here.

This class keeps, for the index and the most recent run databases, the engine
and one idle connection that holds the database open. Each operation still
opens its own connection, in its own transaction, and closes it; the idle one
never holds a transaction, so other processes (the UI, the daemon, run
workers, the CLI) read and write the files as before. After each operation on
a run's database the log is folded back into the file (a passive checkpoint,
as the stock class's close did): the UI follows a running run by watching that
file. Durability is SQLite's default. The files and their place are Dagster's
own ($DAGSTER_HOME/history/runs/), so an instance can switch between this
class and the stock one at any time.

The CLI's dagster.yaml names it for every instance the CLI creates; an
instance without it is only slower.
"""

from __future__ import annotations

import os
import sqlite3
from collections import OrderedDict
from contextlib import contextmanager

from dagster import DagsterInvariantViolationError, Field, StringSource
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

# Databases kept open: the index and a few runs' (a UI process reads many runs;
# each costs a file handle and an engine's statement cache).
KEPT_OPEN = 8


class SqliteEventLogKeptOpen(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with its databases kept open between operations.

    `base_dir` defaults to Dagster's own place, $DAGSTER_HOME/history/runs."""

    def __init__(self, base_dir: str, inst_data=None):
        # url -> (engine, idle connection), the most recently used last
        self._kept: OrderedDict[str, tuple[Engine, sqlite3.Connection]] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        # Dagster's own default storages take the folder the instance was opened
        # from; a storage class is not told it, so this one reads DAGSTER_HOME,
        # which every Dagster process of a persistent instance has. (A script
        # opening another instance with DagsterInstance.from_config must give
        # base_dir or set DAGSTER_HOME to that instance's folder.)
        base_dir = config_value.get("base_dir")
        if not base_dir:
            home = os.environ.get("DAGSTER_HOME")
            if not home:
                raise DagsterInvariantViolationError(
                    f"{cls.__name__} needs DAGSTER_HOME (the instance's folder) or a "
                    "base_dir in dagster.yaml")
            base_dir = os.path.join(home, "history", "runs")
        return cls(base_dir, inst_data=inst_data)

    @contextmanager
    def _connect(self, shard: str):
        # As the stock method (one thread at a time, the database made or
        # upgraded on first use), on a kept engine.
        with self._db_lock:
            engine, idle = self._open(shard)
            with engine.connect() as conn, conn.begin():
                yield conn
            if shard != INDEX_SHARD_NAME:
                # The UI follows a running run by watching its database file
                # (SqliteEventLogStorageWatchdog). Held open, the file would
                # change only when the write-ahead log grew large: fold the
                # log back into it now, as the stock class's close does.
                idle.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _open(self, shard: str) -> tuple[Engine, sqlite3.Connection]:
        url = self.conn_string_for_shard(shard)
        kept = self._kept.pop(url, None)
        engine = kept[0] if kept else create_engine(
            url, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        if shard not in self._initialized_dbs:  # emptied again by upgrade() and wipe()
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        if kept is None:  # after _initdb: the database exists, in WAL mode
            kept = engine, _idle_connection(self.path_for_shard(shard))
        self._kept[url] = kept
        while len(self._kept) > KEPT_OPEN:
            _close(*self._kept.popitem(last=False)[1])
        return kept

    def _close_kept(self) -> None:
        while self._kept:
            _close(*self._kept.popitem()[1])

    def wipe(self) -> None:
        with self._db_lock:  # its files are deleted: nothing may hold them open
            self._close_kept()
        super().wipe()

    def dispose(self) -> None:
        with self._db_lock:
            self._close_kept()
        super().dispose()


def _idle_connection(path: str) -> sqlite3.Connection:
    """A connection that has read the database once (so it counts as open for
    the write-ahead log) and holds no transaction."""
    idle = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_SECONDS,
                           check_same_thread=False)  # closed by whichever thread evicts it
    idle.execute("SELECT count(*) FROM sqlite_master").fetchall()
    return idle


def _close(engine: Engine, idle: sqlite3.Connection) -> None:
    idle.close()
    engine.dispose()
