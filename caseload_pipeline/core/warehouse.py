"""The pipeline's private DuckDB database and the analyst copy it publishes.

Only the pipeline opens `.pipeline/working.duckdb`, and only one process at a
time: every connection to it holds the writer lock beside it
(`working.duckdb.lock`, core/locks.py), whatever started the process (the CLI,
`caseload ui`, a plain `dagster dev`, a deployment), so no run ever meets
DuckDB's own "Could not set lock" error. A writer that finds the lock taken
waits, saying who holds it, and gives up after CASELOAD_LOCK_TIMEOUT seconds.

After a step that leaves the tables consistent, `publish()` writes a copy next
to `$CASELOAD_DUCKDB_PATH` and renames it into place, under the same lock, so
analysts holding the old file open (even read-write) never block a run and
never see a half-loaded month: they keep their snapshot until they reconnect.
A process killed while publishing leaves only a temporary file, which the
next writer removes.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from caseload_pipeline.core.locks import FileLock
from caseload_pipeline.core.months import Month
from caseload_pipeline.core.pause import pause_point
from caseload_pipeline.core.problems import PipelineProblem
from caseload_pipeline.core.pseudonym import pseudonym_key, sql_macro
from caseload_pipeline.core.reference import Reference
from caseload_pipeline.core.settings import Settings
from caseload_pipeline.core.sql import sql

MACROS = [
    "CREATE OR REPLACE TEMP MACRO fold(x) AS lower(regexp_replace(trim(x), '\\s+', ' ', 'g'))",
    "CREATE OR REPLACE TEMP MACRO parse_date(x) AS"
    " coalesce(try_strptime(x, '%Y-%m-%d'), try_strptime(x, '%d/%m/%Y'))::DATE",
    "CREATE OR REPLACE TEMP MACRO parse_flag(x, default_value) AS"
    " CASE WHEN x IS NULL THEN default_value"
    " ELSE lower(trim(x)) IN ('true', 'yes', 'y', '1') END",
]

# What DuckDB says about a file it cannot read as a database (cut short,
# overwritten, not a database). Anything else (a full disk, memory) is not
# damage and is raised as it is.
_DAMAGED = re.compile(r"checksum|corrupt|not a valid DuckDB database|"
                      r"could not read enough bytes|failed to deserialize|"
                      r"invalid (block|database) header", re.IGNORECASE)


class WarehouseDamaged(PipelineProblem):
    pass


def damaged_message(settings: Settings, error: Exception) -> str:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (f"The pipeline's working database {settings.working_db_path} is damaged "
            f"(DuckDB: {reason}). The analysts' copy {settings.duckdb_path} is not "
            "affected. Rebuild the working database from that copy with `caseload "
            "rebuild`, or from every file in incoming/ with `caseload rebuild "
            "--from-files` (see README, 'When something goes wrong').")


def is_damage(error: Exception) -> bool:
    return isinstance(error, duckdb.Error) and bool(_DAMAGED.search(str(error)))


class Warehouse:
    def __init__(self, settings: Settings, holder: str | None = None):
        self.settings = settings
        # Named in the lock file, so a waiting writer can say what it waits for.
        self.holder = holder or f"process {os.getpid()}"

    def writer_lock(self) -> FileLock:
        return FileLock(self.settings.working_lock_path, self.holder,
                        f"the working database ({self.settings.working_db_path})")

    @contextmanager
    def connect(self, reference: Reference | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the working database with the schema, macros and,
        when given, the reference data and weights in place; the writer lock
        is held until it closes."""
        path = self.settings.working_db_path
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.writer_lock()
        lock.acquire(self.settings.lock_timeout)
        try:
            remove_dead_copies(self.settings.duckdb_path)
            try:
                con = duckdb.connect(str(path))
            except duckdb.Error as exc:
                if is_damage(exc):
                    raise WarehouseDamaged(damaged_message(self.settings, exc)) from None
                raise
            try:
                con.execute(sql("schema"))
                con.execute(sql_macro(pseudonym_key(self.settings.pseudonym_key,
                                                  self.settings.pseudonym_key_file)))
                for macro in MACROS:
                    con.execute(macro)
                if reference is not None:
                    sync_reference(con, reference)
                yield con
            except duckdb.Error as exc:
                if is_damage(exc):
                    raise WarehouseDamaged(damaged_message(self.settings, exc)) from None
                raise
            finally:
                con.close()
        finally:
            lock.release()

    def publish(self, con: duckdb.DuckDBPyConnection | None = None) -> Path:
        """Copy the working database to the analyst path atomically.

        Give the open connection when there is one: the lock is then held from
        the step's last write to the rename, so the copy holds exactly the
        state the step left."""
        if con is None:
            with self.connect() as own:
                return self.publish(own)
        target = self.settings.duckdb_path
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            write_snapshot(con, self.settings.working_db_path, temporary)
            pause_point("publish")
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return target


def write_snapshot(con: duckdb.DuckDBPyConnection, working: Path, temporary: Path) -> None:
    """Write the analysts' copy of the working database (open as `con`, writer
    lock held) to `temporary`: a checkpoint puts every change in the file, and
    nothing writes to it until the lock is released."""
    con.execute("CHECKPOINT")
    shutil.copyfile(working, temporary)


def remove_dead_copies(target: Path) -> None:
    """Remove copies a killed publish left beside the analyst file. Only the
    holder of the writer lock publishes, so any copy found by it is dead."""
    for leftover in target.parent.glob(f".{target.name}.*.tmp*"):
        leftover.unlink(missing_ok=True)


def sync_reference(con: duckdb.DuckDBPyConnection, ref: Reference) -> None:
    """Reference tables (public) and the alias/weight lookups (temporary)."""
    tables = {
        "teams": pd.DataFrame(list(ref.teams.items()), columns=["team", "service_area"]),
        "roles": pd.DataFrame(list(ref.roles.items()),
                              columns=["role", "capacity_points_per_fte"]),
        "team_lineage": pd.DataFrame(ref.lineage, columns=["team", "predecessor", "from_audit"]),
        "audit_baselines": pd.DataFrame(ref.baselines,
                                        columns=["audit", "dimension", "name", "avg_caseload"]),
        "staff_survey": pd.DataFrame(ref.survey, columns=["year", "pct_fair_and_manageable"]),
        "audits": pd.DataFrame(
            [(a.name, a.first_month.first_day, a.last_month.first_day, len(a.months), a.previous)
             for a in ref.audits],
            columns=["audit", "first_month", "last_month", "months_expected", "previous_audit"]),
    }
    for name, frame in tables.items():
        con.register("incoming_rows", frame)
        con.execute(f"DELETE FROM {name}")
        con.execute(f"INSERT INTO {name} SELECT * FROM incoming_rows")
        con.unregister("incoming_rows")

    lookups = {
        "team_alias": pd.DataFrame(list(ref.team_aliases.items()), columns=["folded", "team"]),
        "role_alias": pd.DataFrame(list(ref.role_aliases.items()), columns=["folded", "role"]),
        "level_weights": pd.DataFrame(
            [("complexity", k, v) for k, v in ref.weights.complexity.items()]
            + [("risk", k, v) for k, v in ref.weights.risk.items()],
            columns=["dimension", "level", "points"]),
    }
    for name, frame in lookups.items():
        con.register(f"{name}_rows", frame)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_rows")
        con.unregister(f"{name}_rows")
    w = ref.weights
    for name, value in {
        "protected_caseload_factor": w.protected_caseload_factor,
        "minutes_per_point": w.minutes_per_point,
        "max_travel_points": w.max_travel_points,
        "band_green": w.green,
        "band_amber": w.amber,
    }.items():
        con.execute(f"SET VARIABLE {name} = {float(value)!r}::DOUBLE")


def set_refresh_months(con: duckdb.DuckDBPyConnection, months: Sequence[Month]) -> None:
    """The months the next metric or reassignment statement works on (a temp table)."""
    con.execute("CREATE OR REPLACE TEMP TABLE refresh_months (month DATE)")
    con.executemany("INSERT INTO refresh_months VALUES (?)", [[m.first_day] for m in months])
