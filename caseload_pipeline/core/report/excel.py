"""The Excel audit workbook: one sheet per report section.

Analysts paste from and filter these sheets, so numbers are real numbers
(rounded to one decimal place like the HTML, shown with format 0.0), every
sheet has a bold frozen header row, and text is always written with
`write_string`. A team or message starting with =, +, - or @ therefore stays
text and can never run as a formula when the workbook is opened (CSV/formula
injection); the workbook options switch off xlsxwriter's own guessing too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from caseload_pipeline.core import benchmarks

from .fmt import month_name, pct1, round1
from .queries import ReportData

WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
    "remove_timezone": True,
}
MAX_WIDTH = 60


@dataclass(frozen=True)
class Col:
    header: str
    get: Callable[[dict], Any]
    kind: str = "text"  # text | num1 | pct1 | int | month | datetime


def _col(header: str, key: str, kind: str = "text") -> Col:
    return Col(header, lambda row, key=key: row.get(key), kind)


class _Writer:
    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self.wb = workbook
        self.formats = {
            "header": workbook.add_format({"bold": True, "bg_color": "#E8E8E8", "bottom": 1,
                                           "text_wrap": True, "valign": "top"}),
            "num1": workbook.add_format({"num_format": "0.0"}),
            "pct1": workbook.add_format({"num_format": "0.0"}),
            "int": workbook.add_format({"num_format": "0"}),
            "month": workbook.add_format({"num_format": "mmm yyyy", "align": "left"}),
            "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm",
                                             "align": "left"}),
            "text": workbook.add_format({"valign": "top"}),
            "bold": workbook.add_format({"bold": True}),
        }

    def cell(self, ws, row: int, col: int, value: Any, kind: str = "text") -> int:
        """Write one value as its kind; return the width it needs."""
        if value is None:
            ws.write_blank(row, col, None)
            return 0
        if kind in ("num1", "pct1", "int") and isinstance(value, int | float | Decimal):
            number = {"num1": round1, "pct1": pct1, "int": int}[kind](value)
            ws.write_number(row, col, number, self.formats[kind])
            return len(f"{number:.1f}") if kind != "int" else len(str(number))
        if kind == "month" and isinstance(value, dt.date):
            ws.write_datetime(row, col, value, self.formats["month"])
            return 9
        if kind == "datetime" and isinstance(value, dt.datetime):
            ws.write_datetime(row, col, value, self.formats["datetime"])
            return 16
        # Everything else is text, and text is never a formula.
        text = str(value)
        ws.write_string(row, col, text, self.formats["text"])
        return len(text)

    def table(self, ws, cols: Sequence[Col], rows: Sequence[dict], start_row: int = 0,
              widths: list[int] | None = None) -> int:
        """Write a header and rows from start_row; return the next free row.

        `widths` (one per column, grown in place) lets a second table on the same
        sheet widen columns without shrinking the ones above it.
        """
        widths = widths if widths is not None else [0] * len(cols)
        widths.extend([0] * (len(cols) - len(widths)))
        for c, col in enumerate(cols):
            ws.write_string(start_row, c, col.header, self.formats["header"])
            widths[c] = max(widths[c], min(len(col.header), 28))
        for r, row in enumerate(rows, start=start_row + 1):
            for c, col in enumerate(cols):
                widths[c] = max(widths[c], self.cell(ws, r, c, col.get(row), col.kind))
        for c, width in enumerate(widths):
            ws.set_column(c, c, min(MAX_WIDTH, max(8, width + 2)))
        return start_row + 1 + len(rows)

    def sheet(self, name: str, cols: Sequence[Col], rows: Sequence[dict]):
        """A sheet holding one table; returns it and its column widths (for a block below)."""
        ws = self.wb.add_worksheet(name)
        widths = [0] * len(cols)
        end = self.table(ws, cols, rows, widths=widths)
        ws.freeze_panes(1, 0)
        if rows:
            ws.autofilter(0, 0, end - 1, len(cols) - 1)
        return ws, widths


def write_workbook(path: Path, data: ReportData, weights: dict) -> None:
    wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    try:
        w = _Writer(wb)
        _summary(w, data)
        _teams(w, data)
        _roles(w, data)
        _comparison(w, data)
        _weighting(w, data, weights or {})
        _reassignment(w, data)
        w.sheet("Survey", [_col("Survey year", "year"),
                           _col("% fair and manageable", "pct_fair_and_manageable", "num1")],
                data.survey)
        w.sheet("Trend", [
            _col("Month", "month", "month"), _col("Team", "team"),
            _col("Workers", "workers", "int"), _col("FTE", "fte", "num1"),
            _col("Cases", "cases", "int"), _col("Average caseload", "avg_caseload", "num1"),
            _col("Average per FTE", "avg_caseload_per_fte", "num1"),
            _col("Average weighted caseload", "avg_weighted_caseload", "num1"),
            _col("Median caseload", "median_caseload", "num1"),
            _col("Largest caseload", "max_caseload", "int"),
            _col("Reassigned cases", "reassigned_cases", "int"),
            _col("Reassignment rate %", "reassignment_rate", "pct1"),
        ], data.trend)
        _benchmarks(w, data)
        w.sheet("Data quality", [
            _col("Month", "month", "month"), _col("File", "file"), _col("Severity", "severity"),
            _col("Rule", "rule"), _col("Rows", "unexpected_count", "int"),
            _col("Example lines", "example_lines"), _col("Message", "message"),
            _col("Checked at", "checked_at", "datetime"),
        ], data.data_quality)
        _early_warning(w, data)
    finally:
        wb.close()


def _summary(w: _Writer, data: ReportData) -> None:
    a = data.audit
    dept = data.department
    items = [
        ("Audit", a.name, "text"),
        ("Audit number", data.audit_number, "int"),
        ("First month", a.first_month, "month"),
        ("Last month", a.last_month, "month"),
        ("Months expected", a.months_expected, "int"),
        ("Months with data", len(data.months_with_data), "int"),
        ("Months without data", ", ".join(month_name(m) for m in data.months_missing)
         if data.has_monthly_data else "no monthly data loaded", "text"),
        ("Previous audit", a.previous_audit or "none", "text"),
        ("Teams", len(data.teams), "int"),
        ("Department average caseload per worker", dept.get("avg_caseload"), "num1"),
        ("Department average caseload per FTE", dept.get("avg_caseload_per_fte"), "num1"),
        ("Benchmark file", data.benchmarks.source_file or "no benchmark file was provided",
         "text"),
        ("Early warning as of", data.early_warning.as_of or "no early warning for this window",
         "month" if data.early_warning.as_of else "text"),
        ("Note", "Figures rounded to one decimal place; unrounded values are in the "
                 "warehouse tables.", "text"),
    ]
    ws = w.wb.add_worksheet("Summary")
    ws.write_string(0, 0, "Item", w.formats["header"])
    ws.write_string(0, 1, "Value", w.formats["header"])
    width = 12
    for r, (label, value, kind) in enumerate(items, start=1):
        ws.write_string(r, 0, label, w.formats["bold"])
        width = max(width, w.cell(ws, r, 1, value, kind))
    ws.set_column(0, 0, 42)
    ws.set_column(1, 1, min(MAX_WIDTH, width + 2))
    ws.freeze_panes(1, 0)


def _teams(w: _Writer, data: ReportData) -> None:
    w.sheet("Teams", [
        _col("Team", "team"), _col("Average caseload", "avg_caseload", "num1"),
        _col("Average per FTE", "avg_caseload_per_fte", "num1"),
        _col("Average weighted caseload", "avg_weighted_caseload", "num1"),
        _col("Months covered", "months_covered", "int"),
        _col("Months expected", "months_expected", "int"), _col("Source", "source"),
    ], data.teams)


def _roles(w: _Writer, data: ReportData) -> None:
    w.sheet("Roles", [
        _col("Role", "role"), _col("Average caseload", "avg_caseload", "num1"),
        _col("Average per FTE", "avg_caseload_per_fte", "num1"),
        _col("Months covered", "months_covered", "int"),
        _col("Months expected", "months_expected", "int"), _col("Source", "source"),
    ], data.roles)


def _comparison(w: _Writer, data: ReportData) -> None:
    w.sheet("Comparison", [
        _col("Team", "team"), _col("Previous audit", "previous_audit"),
        _col("Compared with team", "previous_team"),
        _col("Average caseload", "avg_caseload", "num1"),
        _col("Previous average caseload", "previous_avg_caseload", "num1"),
        _col("Change", "change", "num1"), _col("Change %", "change_pct", "num1"),
        _col("Direction", "direction"), _col("Previous figure source", "previous_source"),
    ], data.comparison)


def _weighting(w: _Writer, data: ReportData, weights: dict) -> None:
    bands = {b["team"]: b for b in data.bands}
    rows = [{**bands.get(t["team"], {}), **t} for t in data.teams]

    def share(band: str) -> Callable[[dict], float | None]:
        return lambda r: r[band] / r["total"] if r.get("total") else None

    cols = [
        _col("Team", "team"), _col("Average caseload", "avg_caseload", "num1"),
        _col("Average weighted caseload", "avg_weighted_caseload", "num1"),
        _col("Worker-months green", "green", "int"), _col("Worker-months amber", "amber", "int"),
        _col("Worker-months red", "red", "int"), _col("Worker-months", "total", "int"),
        Col("Green %", share("green"), "pct1"), Col("Amber %", share("amber"), "pct1"),
        Col("Red %", share("red"), "pct1"),
    ]
    ws, widths = w.sheet("Weighting", cols, rows)
    # The scheme goes below the table: the frozen header stays the table's.
    w.table(ws, [_col("Weighting setting", "setting"), _col("Value", "value")],
            _scheme_rows(weights), start_row=len(rows) + 2, widths=widths)


def _scheme_rows(weights: dict) -> list[dict]:
    rows = []
    for factor in ("complexity", "risk"):
        for level, points in (weights.get(factor) or {}).items():
            rows.append({"setting": f"{factor} {level} (points per case)", "value": points})
    for key, value in (weights.get("travel") or {}).items():
        rows.append({"setting": f"travel {key}", "value": value})
    if "protected_caseload_factor" in weights:
        rows.append({"setting": "protected caseload factor",
                     "value": weights["protected_caseload_factor"]})
    for band, limit in (weights.get("bands") or {}).items():
        rows.append({"setting": f"band {band} up to utilisation", "value": limit})
    # Settings are written as text: they are a record of the scheme, not figures.
    return [{"setting": r["setting"], "value": str(r["value"])} for r in rows]


def _reassignment(w: _Writer, data: ReportData) -> None:
    cols = [
        _col("Team", "team"), _col("Allocations (all months)", "cases", "int"),
        _col("Reassigned", "reassigned_cases", "int"),
        _col("Reassignment rate %", "reassignment_rate", "pct1"),
        _col("Months", "months", "int"),
    ]
    ws, widths = w.sheet("Reassignment", cols, data.reassignment)
    w.table(ws, [_col("Reason", "reason"), _col("Reassigned allocations", "allocations", "int")],
            data.reassignment_reasons, start_row=len(data.reassignment) + 2, widths=widths)


def _benchmarks(w: _Writer, data: ReportData) -> None:
    b = data.benchmarks
    cols = [
        _col("Area", "area_name"), _col("Level", "geographic_level"), _col("Year", "year"),
        _col("Case-holding FTE", "case_holders_fte", "num1"),
        _col("Case-holding FTE code", "case_holders_fte_code"),
        _col("Cases", "cases", "int"), _col("Cases code", "cases_code"),
        _col("Cases per FTE", "caseload_fte", "num1"),
        _col("Cases per FTE code", "caseload_fte_code"),
        _col("Population", "population"), _col("Source", "source"),
    ]
    if not b.provided:
        rows = [{"area_name": "No benchmark file was provided"}]
    else:
        source = f"{benchmarks.SOURCE_LABEL} ({b.source_file})"
        rows = [{
            "area_name": "This department", "geographic_level": "department",
            "year": data.audit.name,
            "caseload_fte": data.department.get("avg_caseload_per_fte"),
            "population": "adult social care, all case-holding roles, mean over the audit window",
            "source": "caseload warehouse",
        }]
        rows += [{**r, "year": str(r["year"]), "population": benchmarks.POPULATION_LABEL,
                  "source": source,
                  **{f"{m}_code": benchmarks.describe_code(r[f"{m}_code"]) or None
                     for m in benchmarks.MEASURES}}
                 for r in b.rows]
        rows += [{"area_name": a, "population": f"not found in the file for {b.year}"}
                 for a in b.missing_areas]
    w.sheet("Benchmarks", cols, rows)


def _early_warning(w: _Writer, data: ReportData) -> None:
    """Teams heading for a higher band, then sustained overload by team and role,
    then the backtest behind the projection. Utilisation in % of capacity."""
    ew = data.early_warning

    def percent(value: float | None) -> float | None:
        return None if value is None else value * 100

    def at(key: str, horizon: int) -> Callable[[dict], float | None]:
        return lambda t: percent(t[key][horizon - 1]) if len(t.get(key, [])) >= horizon else None

    cols = [
        _col("Team", "team"), Col("Utilisation now %", lambda t: percent(t.get("utilisation")),
                                  "num1"),
        _col("Band now", "band"), _col("Method", "method"),
        Col("Projected +1 month %", at("projected", 1), "num1"),
        Col("Projected +2 months %", at("projected", 2), "num1"),
        Col("Projected +3 months %", at("projected", 3), "num1"),
        Col("Low +3 months %", at("low", 3), "num1"),
        Col("High +3 months %", at("high", 3), "num1"),
        _col("Red possible from", "red_from", "month"),
    ]
    if not ew.available or ew.as_of is None:
        rows = [{"team": "No early warning for this audit's window"}]
    elif not ew.teams:
        rows = [{"team": f"No team was heading for a higher band as of "
                         f"{month_name(ew.as_of)}"}]
    else:
        rows = ew.teams
    ws, widths = w.sheet("Early warning", cols, rows)
    below = len(rows) + 2
    below = w.table(ws, [
        _col("Team", "team"), _col("Role", "role"),
        _col(f"Workers red {ew.sustained_months}+ months", "red_workers", "int"),
        _col(f"Workers amber or red {ew.sustained_months}+ months", "above_green_workers",
             "int"),
    ], ew.sustained, start_row=below, widths=widths) + 1
    w.table(ws, [
        _col("Projection method", "method"),
        Col("Mean absolute error +1 month (points)", lambda b: percent(b["errors"].get(1)),
            "num1"),
        Col("Mean absolute error +2 months (points)", lambda b: percent(b["errors"].get(2)),
            "num1"),
        Col("Mean absolute error +3 months (points)", lambda b: percent(b["errors"].get(3)),
            "num1"),
        _col("Projections (+1)", "forecasts", "int"),
        Col("Shown in the latest outlook", lambda b: "yes" if b["shown"] else "no"),
    ], ew.backtest_by_method, start_row=below, widths=widths)
