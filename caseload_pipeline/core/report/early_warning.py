"""The report's "Early warning" section: read from the early-warning tables.

A report is about one audit, so the warning is the one the pipeline gave at
the end of the audit's window: as of the window's last month that has an
outlook. A report regenerated later therefore still shows what was known then
(as the staff survey section does), and says when later months are loaded.
Only counts by team and role are shown, never a worker.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from caseload_pipeline.core.early_warning import (
    EARLY_WARNING_TABLES,
    SUSTAINED_MONTHS,
    early_warning,
)
from caseload_pipeline.core.outlook import month_date, month_index
from caseload_pipeline.core.sql import sql

ACTUAL_MONTHS = 12  # months of actual utilisation drawn before the projection


@dataclass
class EarlyWarningSection:
    available: bool  # the warehouse has the early-warning tables
    as_of: dt.date | None = None  # the month the warning is as of (None: no outlook)
    latest: dt.date | None = None  # the latest month with an outlook in the warehouse
    method: str | None = None
    teams: list[dict] = field(default_factory=list)  # each with "actual": [(month, value)]
    sustained: list[dict] = field(default_factory=list)
    backtest: list[dict] = field(default_factory=list)
    sustained_months: int = SUSTAINED_MONTHS

    @property
    def later_months_loaded(self) -> bool:
        return bool(self.as_of and self.latest and self.latest > self.as_of)

    @property
    def backtest_by_method(self) -> list[dict]:
        """method, forecasts (at +1), shown, and the mean absolute error by horizon."""
        methods: dict[str, dict] = {}
        for row in self.backtest:
            entry = methods.setdefault(row["method"], {"method": row["method"], "errors": {},
                                                       "forecasts": 0, "shown": row["shown"]})
            entry["errors"][row["horizon"]] = row["mean_absolute_error"]
            if row["horizon"] == 1:
                entry["forecasts"] = row["forecasts"]
        return list(methods.values())

    @property
    def backtest_as_of(self) -> dt.date | None:
        return self.backtest[0]["as_of_month"] if self.backtest else None


def _has_tables(con: duckdb.DuckDBPyConnection) -> bool:
    found = {name for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema()").fetchall()}
    return set(EARLY_WARNING_TABLES) <= found


def load_early_warning(con: duckdb.DuckDBPyConnection, first_month: dt.date,
                       last_month: dt.date) -> EarlyWarningSection:
    if not _has_tables(con):
        return EarlyWarningSection(available=False)
    as_of, latest = con.execute(
        "SELECT max(as_of_month) FILTER (WHERE as_of_month BETWEEN ? AND ?), max(as_of_month)"
        " FROM team_outlook", [first_month, last_month]).fetchone()
    if as_of is None:
        return EarlyWarningSection(available=True, latest=latest)
    warning = early_warning(con, as_of)
    start = month_date(month_index(as_of) - (ACTUAL_MONTHS - 1))
    for team in warning.teams:
        team["actual"] = con.execute(
            f"SELECT month, utilisation FROM ({sql('early_warning/team_utilisation')})"
            " WHERE team = ? AND month BETWEEN ? AND ? ORDER BY month",
            [team["team"], start, as_of]).fetchall()
    return EarlyWarningSection(available=True, as_of=as_of, latest=latest,
                               method=warning.method, teams=warning.teams,
                               sustained=warning.sustained, backtest=warning.backtest)
