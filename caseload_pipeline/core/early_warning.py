"""Early warning: workers in the amber or red band month after month
(`worker_alerts`) and teams heading for red (`team_outlook`, with the backtest
behind it in `outlook_backtest`). Recomputed whole from `worker_monthly` after
months change, like the audit tables; see docs/tables.md for the definitions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from caseload_pipeline.core import outlook as ol
from caseload_pipeline.core.sql import sql

EARLY_WARNING_TABLES = ("worker_alerts", "team_outlook", "outlook_backtest")
SUSTAINED_MONTHS = 3  # "red for 3 or more months in a row"
# Hashed under the pseudonym key into pseudonym_check, so that `caseload lookup`
# can tell a key that is not the database's from an id that is not in it.
KEY_CHECK_TEXT = "caseload_pipeline pseudonym key check"
BAND_ORDER = {"green": 0, "amber": 1, "red": 2}

OUTLOOK_COLUMNS = ["as_of_month", "team", "horizon", "month", "method", "utilisation", "band",
                   "projected_utilisation", "low", "high", "projected_band", "high_band",
                   "may_enter_red"]


def team_series(con: duckdb.DuckDBPyConnection) -> dict[str, dict[int, float]]:
    series: dict[str, dict[int, float]] = {}
    for team, month, utilisation in con.execute(
            sql("early_warning/team_utilisation")).fetchall():
        series.setdefault(team, {})[ol.month_index(month)] = utilisation
    return series


def outlook_frame(series: ol.Series, bands: ol.Bands,
                  min_errors: int = ol.MIN_ERRORS) -> pd.DataFrame:
    rows = []
    for o in ol.outlook(series, min_errors):
        band = bands.of(o.utilisation)
        # Red is within reach when the top of the range (or, with no range yet,
        # the projection itself) is over the amber limit.
        reach = o.high if o.high is not None else o.projected
        rows.append((ol.month_date(o.as_of), o.team, o.horizon, ol.month_date(o.month), o.method,
                     o.utilisation, band, o.projected, o.low, o.high, bands.of(o.projected),
                     bands.of(o.high), band != "red" and reach > bands.amber))
    return pd.DataFrame(rows, columns=OUTLOOK_COLUMNS)


def backtest_frame(series: ol.Series, min_errors: int = ol.MIN_ERRORS) -> pd.DataFrame:
    """The whole history's backtest, by method and horizon, as of the latest month."""
    columns = ["as_of_month", "method", "horizon", "forecasts", "mean_absolute_error", "shown"]
    months = [m for history in series.values() for m in history]
    if not months:
        return pd.DataFrame([], columns=columns)
    judged = ol.scores(ol.backtest(series))
    shown = ol.shown_method(judged, min_errors)
    rows = [(ol.month_date(max(months)), method, horizon,
             judged[(method, horizon)].forecasts if (method, horizon) in judged else 0,
             judged[(method, horizon)].mean_absolute_error if (method, horizon) in judged
             else None, method == shown)
            for method in ol.METHODS for horizon in ol.HORIZONS]
    return pd.DataFrame(rows, columns=columns)


def refresh_early_warning(con: duckdb.DuckDBPyConnection, bands: ol.Bands) -> None:
    """Rewrite the early-warning tables from worker_monthly. The caller owns the
    transaction; the connection has the pseudonym macro (Warehouse.connect)."""
    con.execute("DELETE FROM worker_alerts")
    con.execute("INSERT INTO worker_alerts " + sql("early_warning/worker_alerts"))
    series = team_series(con)
    for table, frame in (("team_outlook", outlook_frame(series, bands)),
                         ("outlook_backtest", backtest_frame(series))):
        con.execute(f"DELETE FROM {table}")
        if len(frame):
            con.register("early_warning_rows", frame)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM early_warning_rows")
            con.unregister("early_warning_rows")
    con.execute("DELETE FROM pseudonym_check")
    con.execute("INSERT INTO pseudonym_check SELECT pseudonym(?)", [KEY_CHECK_TEXT])


# -- what the check, the report and the CLI show --------------------------------


@dataclass
class EarlyWarning:
    as_of: dt.date | None  # the month the warning is about
    method: str | None  # the projection method shown that month
    teams: list[dict]  # teams heading for a higher band: one dict per team
    sustained: list[dict]  # team, role, workers red / above green for 3+ months
    backtest: list[dict]  # method, horizon, forecasts, mean_absolute_error, shown

    @property
    def heading_for_red(self) -> list[str]:
        return [t["team"] for t in self.teams if t["may_enter_red"]]

    @property
    def workers_red_sustained(self) -> int:
        return sum(r["red_workers"] for r in self.sustained)


def _rows(con: duckdb.DuckDBPyConnection, query: str, params: list) -> list[dict]:
    result = con.execute(query, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def early_warning(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None,
                  sustained_months: int = SUSTAINED_MONTHS) -> EarlyWarning:
    """The warning as of a month (default: the latest with an outlook).

    Teams listed are those not red now whose range reaches red within three
    months, or whose projection moves into a higher band. Sustained overload is
    counted by team and role, never listed by worker."""
    if as_of is None:
        as_of = con.execute("SELECT max(as_of_month) FROM team_outlook").fetchone()[0]
    outlook = _rows(con, """
        SELECT team, horizon, month, method, utilisation, band, projected_utilisation,
               low, high, projected_band, high_band, may_enter_red
        FROM team_outlook WHERE as_of_month = ? ORDER BY team, horizon""", [as_of])
    by_team: dict[str, list[dict]] = {}
    for row in outlook:
        by_team.setdefault(row["team"], []).append(row)
    teams = []
    for team, rows in by_team.items():
        now = BAND_ORDER.get(rows[0]["band"], 0)
        higher = [r for r in rows if BAND_ORDER.get(r["projected_band"], 0) > now]
        red = [r for r in rows if r["may_enter_red"]]
        if not higher and not red:
            continue
        teams.append({
            "team": team, "utilisation": rows[0]["utilisation"], "band": rows[0]["band"],
            "method": rows[0]["method"],
            "projected": [r["projected_utilisation"] for r in rows],
            "low": [r["low"] for r in rows], "high": [r["high"] for r in rows],
            "months": [r["month"] for r in rows],
            "projected_band": rows[-1]["projected_band"],
            "may_enter_red": bool(red),
            "red_from": red[0]["month"] if red else None,
        })
    teams.sort(key=lambda t: (not t["may_enter_red"], -t["utilisation"], t["team"]))
    sustained = _rows(con, """
        SELECT team, role,
               count(*) FILTER (WHERE band = 'red' AND consecutive_months >= ?) AS red_workers,
               count(*) FILTER (WHERE above_green_months >= ?) AS above_green_workers
        FROM worker_alerts WHERE month = ?
        GROUP BY team, role
        HAVING count(*) FILTER (WHERE above_green_months >= ?) > 0
        ORDER BY red_workers DESC, above_green_workers DESC, team, role""",
                      [sustained_months, sustained_months, as_of, sustained_months])
    backtest = _rows(con, """
        SELECT as_of_month, method, horizon, forecasts, mean_absolute_error, shown
        FROM outlook_backtest ORDER BY horizon, method""", [])
    return EarlyWarning(as_of, outlook[0]["method"] if outlook else None, teams, sustained,
                        backtest)
