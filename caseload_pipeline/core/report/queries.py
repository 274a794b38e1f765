"""Everything the audit report shows, read from the warehouse in one place.

The HTML and the Excel report are two views of the same `ReportData`, so they
cannot disagree. Values stay unrounded here; rounding is presentation
(`fmt.round1`). Only the documented warehouse tables and columns are read
(SPEC 6), so this works on the analyst copy of the DuckDB file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from .early_warning import EarlyWarningSection, load_early_warning

# Tables that only feed notes; a warehouse without them still gets a report.
OPTIONAL_TABLES = ("staff_survey", "data_quality", "benchmarks")


@dataclass(frozen=True)
class Audit:
    name: str
    first_month: dt.date
    last_month: dt.date
    months_expected: int
    previous_audit: str | None


@dataclass
class Benchmarks:
    provided: bool  # False: no benchmark file was loaded (empty or missing table)
    source_file: str | None = None
    year: int | None = None
    rows: list[dict] = field(default_factory=list)
    missing_areas: list[str] = field(default_factory=list)


@dataclass
class ReportData:
    audit: Audit
    audit_number: int
    earlier_audits: list[Audit]
    previous: Audit | None
    window_months: list[dt.date]
    months_with_data: list[dt.date]
    teams: list[dict]
    roles: list[dict]
    comparison: list[dict]
    bands: list[dict]
    reassignment: list[dict]
    reassignment_reasons: list[dict]
    survey: list[dict]
    trend: list[dict]
    spread_month: dt.date | None
    spread: list[tuple[str, list[float]]]
    department: dict
    benchmarks: Benchmarks
    data_quality: list[dict]
    early_warning: EarlyWarningSection = field(
        default_factory=lambda: EarlyWarningSection(available=False))

    @property
    def months_missing(self) -> list[dt.date]:
        have = set(self.months_with_data)
        return [m for m in self.window_months if m not in have]

    @property
    def has_monthly_data(self) -> bool:
        return bool(self.months_with_data)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    # fetchall() always: DuckDB refuses new work on a connection with an open result.
    result = con.execute(sql, params or [])
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        _rows(
            con,
            "SELECT 1 FROM information_schema.tables WHERE table_name = ? "
            "AND table_schema = current_schema()",
            [name],
        )
    )


def _month_range(first: dt.date, last: dt.date) -> list[dt.date]:
    months, m = [], first.replace(day=1)
    while m <= last:
        months.append(m)
        m = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months


def load_report_data(con: duckdb.DuckDBPyConnection, audit: str,
                     benchmark_areas: list[str] | None = None) -> ReportData:
    audits = [Audit(**r) for r in _rows(
        con,
        "SELECT audit AS name, first_month, last_month, months_expected, previous_audit "
        "FROM audits ORDER BY first_month, audit",
    )]
    by_name = {a.name: a for a in audits}
    if audit not in by_name:
        known = ", ".join(a.name for a in audits) or "none"
        raise ValueError(f"audit {audit!r} is not in the audits table (known: {known})")
    this = by_name[audit]
    number = audits.index(this) + 1
    window = [this.first_month, this.last_month]
    optional = {t: _table_exists(con, t) for t in OPTIONAL_TABLES}

    months_with_data = [r["month"] for r in _rows(
        con, "SELECT DISTINCT month FROM team_monthly WHERE month BETWEEN ? AND ? ORDER BY 1",
        window,
    )]
    # Largest caseload first: the order the findings are read in.
    teams = _rows(con, """
        SELECT team, avg_caseload, avg_caseload_per_fte, avg_weighted_caseload,
               months_covered, months_expected, source
        FROM audit_team_averages WHERE audit = ?
        ORDER BY avg_caseload DESC NULLS LAST, team""", [audit])
    roles = _rows(con, """
        SELECT role, avg_caseload, avg_caseload_per_fte, months_covered, months_expected, source
        FROM audit_role_averages WHERE audit = ?
        ORDER BY avg_caseload DESC NULLS LAST, role""", [audit])
    comparison = _rows(con, """
        SELECT team, previous_audit, previous_team, avg_caseload, previous_avg_caseload,
               change, direction, previous_source,
               -- computed here rather than read, so the percentage basis is certain
               CASE WHEN previous_avg_caseload <> 0
                    THEN 100 * change / previous_avg_caseload END AS change_pct
        FROM audit_comparison WHERE audit = ?
        ORDER BY avg_caseload DESC NULLS LAST, team""", [audit])
    return ReportData(
        audit=this,
        audit_number=number,
        earlier_audits=audits[: number - 1],
        previous=by_name.get(this.previous_audit) if this.previous_audit else None,
        window_months=_month_range(this.first_month, this.last_month),
        months_with_data=months_with_data,
        teams=teams,
        roles=roles,
        comparison=comparison,
        bands=_bands(con, window),
        reassignment=_reassignment(con, window),
        reassignment_reasons=_reasons(con, window),
        survey=_survey(con, this.last_month) if optional["staff_survey"] else [],
        trend=_rows(con, """
            SELECT month, team, workers, fte, cases, avg_caseload, avg_caseload_per_fte,
                   avg_weighted_caseload, median_caseload, max_caseload, reassigned_cases,
                   reassignment_rate
            FROM team_monthly WHERE month BETWEEN ? AND ? ORDER BY team, month""", window),
        spread_month=months_with_data[-1] if months_with_data else None,
        spread=_spread(con, months_with_data[-1], [t["team"] for t in teams])
        if months_with_data else [],
        department=_department(con, window),
        benchmarks=_benchmarks(con, benchmark_areas) if optional["benchmarks"]
        else Benchmarks(provided=False),
        data_quality=_data_quality(con, window) if optional["data_quality"] else [],
        early_warning=load_early_warning(con, this.first_month, this.last_month),
    )


# Case-holding workers only, as in the team averages. worker_monthly may also
# list non-case-holding staff; the roster flag in `staff` tells them apart.
_CASE_HOLDING_WORKERS = """
    FROM worker_monthly w
    LEFT JOIN staff s ON s.month = w.month AND s.worker_key = w.worker_key
    WHERE coalesce(s.case_holding, true)
"""


def _bands(con: duckdb.DuckDBPyConnection, window: list) -> list[dict]:
    # Worker-months over the whole window, not one month, so a team's share
    # reflects the audit period the same way its average does.
    return _rows(con, f"""
        SELECT w.team,
               count(*) FILTER (WHERE w.band = 'green') AS green,
               count(*) FILTER (WHERE w.band = 'amber') AS amber,
               count(*) FILTER (WHERE w.band = 'red') AS red,
               count(*) FILTER (WHERE w.band IN ('green', 'amber', 'red')) AS total
        {_CASE_HOLDING_WORKERS} AND w.month BETWEEN ? AND ?
        GROUP BY w.team ORDER BY w.team""", window)


def _spread(con: duckdb.DuckDBPyConnection, month: dt.date,
            team_order: list[str]) -> list[tuple[str, list[float]]]:
    rows = _rows(con, f"""
        SELECT w.team, list(w.cases ORDER BY w.cases) AS cases
        {_CASE_HOLDING_WORKERS} AND w.month = ?
        GROUP BY w.team""", [month])
    by_team = {r["team"]: [float(c) for c in r["cases"] if c is not None] for r in rows}
    ordered = [t for t in team_order if t in by_team]
    ordered += sorted(t for t in by_team if t not in ordered)
    return [(t, by_team[t]) for t in ordered]


def _reassignment(con: duckdb.DuckDBPyConnection, window: list) -> list[dict]:
    return _rows(con, """
        SELECT team, sum(cases) AS cases, sum(reassigned_cases) AS reassigned_cases,
               CASE WHEN sum(cases) > 0 THEN sum(reassigned_cases) / sum(cases) END
                   AS reassignment_rate,
               count(*) AS months
        FROM team_monthly WHERE month BETWEEN ? AND ?
        GROUP BY team ORDER BY reassignment_rate DESC NULLS LAST, team""", window)


def _reasons(con: duckdb.DuckDBPyConnection, window: list) -> list[dict]:
    return _rows(con, """
        SELECT coalesce(nullif(trim(reassignment_reason), ''), 'not recorded') AS reason,
               count(*) AS allocations
        FROM allocations
        WHERE month BETWEEN ? AND ? AND reassigned AND rostered
        GROUP BY 1 ORDER BY allocations DESC, reason""", window)


def _survey(con: duckdb.DuckDBPyConnection, last_month: dt.date) -> list[dict]:
    # Years are text ("2017", "2022/23"): order by the year they start in, and
    # leave out surveys that began after the window, so a report regenerated for
    # an old audit shows what was known then.
    return _rows(con, """
        SELECT year, pct_fair_and_manageable FROM staff_survey
        WHERE coalesce(try_cast(left(year, 4) AS INTEGER) <= ?, true)
        ORDER BY try_cast(left(year, 4) AS INTEGER) NULLS LAST, year""", [last_month.year])


def _department(con: duckdb.DuckDBPyConnection, window: list) -> dict:
    # The same "mean of the monthly figures" as the team averages, for the
    # whole department: each month's cases over its case-holding workers / FTE.
    rows = _rows(con, """
        SELECT avg(cases / workers) AS avg_caseload,
               avg(cases / nullif(fte, 0)) AS avg_caseload_per_fte,
               count(*) AS months
        FROM (
            SELECT month, sum(cases) AS cases, sum(workers) AS workers, sum(fte) AS fte
            FROM team_monthly WHERE month BETWEEN ? AND ?
            GROUP BY month HAVING sum(workers) > 0
        )""", window)
    return rows[0]


def _benchmarks(con: duckdb.DuckDBPyConnection, areas: list[str] | None) -> Benchmarks:
    latest = _rows(con, "SELECT max(year) AS year, any_value(source_file) AS source_file, "
                        "count(*) AS n FROM benchmarks")[0]
    if not latest["n"]:
        return Benchmarks(provided=False)
    columns = """area_name, area_code, geographic_level, year, case_holders_fte,
                 case_holders_fte_code, cases, cases_code, caseload_fte, caseload_fte_code"""
    if areas is None:
        # No choice made: the national figure is the one comparison always available.
        rows = _rows(con, f"SELECT {columns} FROM benchmarks WHERE year = ? "
                          "AND geographic_level = 'National' ORDER BY area_name",
                     [latest["year"]])
        missing: list[str] = []
    else:
        found = _rows(con, f"SELECT {columns} FROM benchmarks WHERE year = ? "
                           "AND lower(area_name) IN (SELECT lower(unnest(?::VARCHAR[])))",
                      [latest["year"], list(areas)])
        by_name = {r["area_name"].lower(): r for r in found}
        rows = [by_name[a.lower()] for a in areas if a.lower() in by_name]
        missing = [a for a in areas if a.lower() not in by_name]
    return Benchmarks(provided=True, source_file=latest["source_file"], year=latest["year"],
                      rows=rows, missing_areas=missing)


def _data_quality(con: duckdb.DuckDBPyConnection, window: list) -> list[dict]:
    # A month may have been checked more than once (fixed and reloaded): only
    # the latest result of each check is a current note.
    return _rows(con, """
        SELECT month, file, rule, severity, unexpected_count, example_lines, message, checked_at
        FROM data_quality
        WHERE month BETWEEN ? AND ?
        QUALIFY row_number() OVER (
            PARTITION BY month, file, rule ORDER BY checked_at DESC NULLS LAST) = 1
            AND NOT passed AND severity IN ('error', 'warning')
        ORDER BY month, CASE severity WHEN 'error' THEN 0 ELSE 1 END, file, rule""", window)
