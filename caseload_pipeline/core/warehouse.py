"""The pipeline's private DuckDB database and the analyst copy it publishes.

Only the pipeline opens `.pipeline/working.duckdb`, and only one process at a
time: every connection to it holds the writer lock beside it
(`working.duckdb.lock`, core/locks.py), whatever started the process (the CLI,
`caseload ui`, a plain `dagster dev`, a deployment), so no run ever meets
DuckDB's own "Could not set lock" error. A writer that finds the lock taken
waits, saying who holds it, and gives up after CASELOAD_LOCK_TIMEOUT seconds.

After a step that leaves the tables consistent, `publish()` writes a copy next
to `$CASELOAD_DUCKDB_PATH`, in a storage format DuckDB 1.x clients can read
(`CASELOAD_ANALYST_STORAGE_VERSION`), and renames it into place, under the
same lock, so analysts holding the old file open (even read-write) never block
a run and never see a half-loaded month: they keep their snapshot until they
reconnect. A process killed while publishing leaves only a temporary file,
which the next writer removes.

The working file is created in that same storage format, so the copy is the
working file's bytes (a fraction of a second for a million-allocation month,
where rewriting every table in another format took seconds, twice a run). A
working file in another format (made before, or under another setting) is
copied table by table instead.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from caseload_pipeline.core.disk import no_space_left
from caseload_pipeline.core.locks import FileLock
from caseload_pipeline.core.months import Month
from caseload_pipeline.core.normalise import fold_name
from caseload_pipeline.core.pause import pause_point
from caseload_pipeline.core.problems import PipelineProblem
from caseload_pipeline.core.pseudonym import pseudonym_key, sql_macro
from caseload_pipeline.core.reference import Reference
from caseload_pipeline.core.settings import WIDEST_STORAGE_VERSION, Settings, SettingsError
from caseload_pipeline.core.sql import sql

MACROS = [
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
                con = open_working(path, self.settings.analyst_storage_version)
            except duckdb.Error as exc:
                if is_damage(exc):
                    raise WarehouseDamaged(damaged_message(self.settings, exc)) from None
                raise
            try:
                with no_space_left("writing the working database", path.parent):
                    con.execute(sql("schema"))
                    con.execute(sql_macro(pseudonym_key(self.settings.pseudonym_key,
                                                        self.settings.pseudonym_key_file)))
                    for macro in MACROS:
                        con.execute(macro)
                    register_functions(con)
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
        wal = temporary.with_name(temporary.name + ".wal")
        # What the step committed reaches the working file first: a full disk
        # there fails the step before analysts see any of it.
        con.execute("CHECKPOINT")
        version = self.settings.analyst_storage_version
        with no_space_left("publishing the analysts' database", target.parent,
                           remove=[temporary, wal]):
            if storage_format(con) == format_of_version(version):
                shutil.copyfile(self.settings.working_db_path, temporary)
            else:
                write_analyst_copy(con, temporary, version)
        try:
            pause_point("publish")
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return target


def open_working(path: Path, storage_version: str) -> duckdb.DuckDBPyConnection:
    """A connection to the working database; a new file is created in the
    analysts' storage format (`storage_version`), so that publishing is a copy
    of its bytes. An existing file keeps the format it has."""
    try:
        return duckdb.connect(str(path), config={"storage_compatibility_version":
                                                 storage_version})
    except duckdb.InvalidInputException as exc:
        _not_a_version(storage_version, exc)
        raise


def storage_format(con: duckdb.DuckDBPyConnection, database: str | None = None) -> str | None:
    """The oldest DuckDB that reads the file of `database` (by default `con`'s
    own), e.g. `v1.0.0+`."""
    row = con.execute("SELECT tags['storage_version'] FROM duckdb_databases()"
                      " WHERE database_name = coalesce(?, current_database())",
                      [database]).fetchone()
    return row[0] if row else None


@functools.cache
def format_of_version(storage_version: str) -> str | None:
    """The storage format DuckDB writes for `storage_version` (`latest`, `v1.2.0`
    ... name formats by the oldest DuckDB reading them, as storage_format does)."""
    with tempfile.TemporaryDirectory() as folder, duckdb.connect() as con:
        _attach(con, str(Path(folder) / "probe.duckdb"), "probe", storage_version)
        try:
            return storage_format(con, "probe")
        finally:
            con.execute("DETACH probe")


def remove_dead_copies(target: Path) -> None:
    """Remove copies a killed publish left beside the analyst file. Only the
    holder of the writer lock publishes, so any copy found by it is dead."""
    for leftover in target.parent.glob(f".{target.name}.*.tmp*"):
        leftover.unlink(missing_ok=True)


def write_analyst_copy(con: duckdb.DuckDBPyConnection, path: Path, storage_version: str) -> None:
    """Write every table of `con`'s database into a new file at `path`, in the
    storage format of DuckDB `storage_version`; on failure nothing is left at `path`.

    A byte copy of the working file would carry the newest format, which DuckDB
    1.x clients (DBeaver's driver, R, older Python) refuse to open; DuckDB
    writes an older format only into a database attached with that version.
    """
    written = (path, path.with_name(path.name + ".wal"))
    for leftover in written:
        leftover.unlink(missing_ok=True)  # from a run that died here
    source = con.execute("SELECT current_database()").fetchone()[0]
    _attach(con, str(path), "analyst_copy", storage_version)
    try:
        con.execute(f'COPY FROM DATABASE "{source}" TO analyst_copy')
        con.execute("DETACH analyst_copy")  # writes the file out (a checkpoint)
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # already detached, or the disk is full
            con.execute("DETACH analyst_copy")
        for leftover in written:
            leftover.unlink(missing_ok=True)
        raise


def check_storage_version(storage_version: str) -> None:
    """Raise SettingsError unless this DuckDB can write `storage_version`'s format
    (the CLI asks before a run, so a wrong setting fails before any work)."""
    with duckdb.connect() as con:
        _attach(con, ":memory:", "probe", storage_version)


def _attach(con: duckdb.DuckDBPyConnection, path: str, name: str, storage_version: str) -> None:
    quoted = path.replace("'", "''")
    try:
        con.execute(f"ATTACH '{quoted}' AS {name} (STORAGE_VERSION '{storage_version}')")
    except duckdb.InvalidInputException as exc:
        _not_a_version(storage_version, exc)
        raise


def _not_a_version(storage_version: str, exc: duckdb.Error) -> None:
    """Raise SettingsError when DuckDB refused `storage_version` as unknown."""
    if "not a known DuckDB version" in str(exc):
        raise SettingsError(
            f"CASELOAD_ANALYST_STORAGE_VERSION={storage_version!r} is not a version DuckDB "
            f"{duckdb.__version__} can write: give one from {WIDEST_STORAGE_VERSION} to "
            f"v{duckdb.__version__}, or latest") from None


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """SQL's `fold(name)` is normalise.fold_name itself, so the load resolves a
    team or role exactly as validation did (a SQL re-implementation kept tabs
    and no-break spaces, and the load silently dropped rows validation had
    accepted). SQL calls it once per distinct name, so Python's cost is nil."""
    from duckdb.sqltypes import VARCHAR

    try:
        con.create_function("fold", fold_name, [VARCHAR], VARCHAR, side_effects=False)
    except duckdb.CatalogException:
        # A second connection of this process to the same database (a publish
        # inside a step's connection) shares the first one's function.
        if "fold" not in {name for (name,) in con.execute(
                "SELECT function_name FROM duckdb_functions()").fetchall()}:
            raise


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
