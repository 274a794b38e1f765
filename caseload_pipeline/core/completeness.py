"""Nothing validation accepted may vanish on the way in.

After a month's rows are inserted into `staff` and `allocations`, each table
must hold exactly as many rows for the month as its validated staging file: an
inner join that drops rows (a team name the load resolves differently from
validation, a reference file edited between the two steps) or one that
duplicates them (a name matching two teams) would otherwise change every
figure without a word. `rows_not_loaded` is that check; `load.load_validated`
runs it inside the load's transaction and refuses the load when it finds
anything, so the month's previous rows stay as they were.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from caseload_pipeline.core.contract import CASELOAD, STAFF
from caseload_pipeline.core.extract import LINE
from caseload_pipeline.core.findings import ERROR, Finding
from caseload_pipeline.core.staging import StagedMonth

RULE = "every validated row must be loaded into {table}"
# kind of staged file -> (table, the staged id columns that make a row's key)
TABLES = {
    STAFF: ("staff", ("worker_id",)),
    CASELOAD: ("allocations", ("case_id", "worker_id")),
}
_KEYS = {"worker_id": "worker_key", "case_id": "case_key"}


class RowsNotLoaded(Exception):
    """The load would lose (or multiply) validated rows; `findings` say where."""

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        super().__init__("\n".join(f.message for f in findings))


def rows_not_loaded(con: duckdb.DuckDBPyConnection,
                    staged_months: Sequence[StagedMonth]) -> list[Finding]:
    """One blocking finding per (month, file) whose table does not hold exactly
    the validated rows: file, table, how many rows are missing and their lines
    (ids are never shown), or how many too many were loaded. Empty when every
    validated row of `staged_months` is in `staff` and `allocations` once.

    Counting is cheap (one query per table for every month); lines are looked
    for only when the counts differ."""
    days = [staged.month.first_day for staged in staged_months]
    loaded_rows = {table: dict(con.execute(
        f"SELECT month, count(*) FROM {table} WHERE month IN (SELECT unnest(?::DATE[]))"
        " GROUP BY month", [days]).fetchall()) for table, _ in TABLES.values()}
    found = []
    for staged in staged_months:
        for kind, (table, ids) in TABLES.items():
            info = staged.files.get(kind)
            if info is None:
                continue
            validated = info["rows"]
            loaded = loaded_rows[table].get(staged.month.first_day, 0)
            if loaded == validated:
                continue
            where = f"{validated} rows validated, {loaded} loaded"
            if loaded > validated:
                found.append(Finding(info["name"], RULE.format(table=table), ERROR,
                                     detail=f"{where}: a name or id matched more than once"))
                continue
            lines = _missing_lines(con, staged, kind, table, ids)
            found.append(Finding(info["name"], RULE.format(table=table), ERROR,
                                 unexpected_count=validated - loaded,
                                 examples=tuple((line, None) for line in lines),
                                 detail=where))
    return found


def _missing_lines(con: duckdb.DuckDBPyConnection, staged: StagedMonth, kind: str,
                   table: str, ids: tuple[str, ...]) -> list[int]:
    """Lines of the staged file whose keyed row is not in `table` (first few)."""
    keys = ", ".join(f"pseudonym(s.{c}) AS {_KEYS[c]}" for c in ids)
    match = " AND ".join(f"t.{_KEYS[c]} = s.{_KEYS[c]}" for c in ids)
    return [line for (line,) in con.execute(
        f"SELECT s.{LINE} FROM (SELECT {LINE}, {keys} FROM read_parquet(?) AS s) AS s"
        f" WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE t.month = ? AND {match})"
        f" ORDER BY s.{LINE} LIMIT 5",
        [str(staged.parquet(kind)), staged.month.first_day]).fetchall()]
