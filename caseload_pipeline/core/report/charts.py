"""The report's charts: ReportData -> inline SVG (see svg.py for the drawing)."""

from __future__ import annotations

from markupsafe import Markup

from . import svg
from .fmt import fmt1, month_name
from .queries import ReportData


def build_charts(data: ReportData) -> dict[str, Markup | None]:
    """Each chart, or None when there is nothing to draw."""
    a = data.audit
    window = f"{month_name(a.first_month)} to {month_name(a.last_month)}"
    return {
        "trend": _trend(data, window),
        "spread": _spread(data),
        "bands": _bands(data, window),
        "comparison": _comparison(data),
        "survey": _survey(data),
        "benchmarks": _benchmarks(data),
    }


def _trend(data: ReportData, window: str) -> Markup | None:
    if not data.trend:
        return None
    series: dict[str, dict] = {}
    for row in data.trend:
        series.setdefault(row["team"], {})[row["month"]] = row["avg_caseload"]
    order = [t["team"] for t in data.teams if t["team"] in series]
    order += sorted(t for t in series if t not in order)
    panels = [(team, [series[team].get(m) for m in data.window_months]) for team in order]
    return svg.small_multiples(
        panels, data.window_months,
        title=f"Average caseload per worker by month and team, {window}",
        desc="One small line chart per team, all on the same scale; the last month's value "
             "is labelled. A gap in a line is a month with no figure.",
    )


def _spread(data: ReportData) -> Markup | None:
    if not data.spread:
        return None
    month = month_name(data.spread_month)
    counts = ", ".join(f"{team}: {len(vs)} workers" for team, vs in data.spread)
    return svg.strip_plot(
        data.spread,
        title=f"Cases held by each case-holding worker, {month}",
        desc=f"Each dot is one worker's number of allocated cases at the end of {month}; "
             f"the bar marks the team average. {counts}.",
        axis_label="cases held",
    )


def _bands(data: ReportData, window: str) -> Markup | None:
    rows = [(b["team"], [b["green"], b["amber"], b["red"]]) for b in data.bands if b["total"]]
    if not rows:
        return None
    shares = "; ".join(
        f"{team}: {g} green, {am} amber, {r} red" for team, (g, am, r) in rows
    )
    return svg.stacked_shares(
        rows,
        [("green: within capacity", svg.GREEN), ("amber: up to the amber limit", svg.ORANGE),
         ("red: over", svg.VERMILLION)],
        title=f"Capacity bands by team, share of worker-months, {window}",
        desc=f"Worker-months in each band. {shares}.",
    )


def _comparison(data: ReportData) -> Markup | None:
    if not data.comparison:
        return None
    prev = data.audit.previous_audit or "previous audit"
    rows = [(c["team"], c["avg_caseload"], c["previous_avg_caseload"]) for c in data.comparison]
    text = "; ".join(f"{t}: {fmt1(n)} (was {fmt1(p)})" for t, n, p in rows)
    return svg.paired_bars(
        rows, current=data.audit.name, previous=prev,
        title=f"Average caseload by team, {data.audit.name} against {prev}",
        desc=f"Paired bars per team; the previous figure is the team's own or its "
             f"predecessor's. {text}.",
    )


def _survey(data: ReportData) -> Markup | None:
    if not data.survey:
        return None
    items = [(str(r["year"]), r["pct_fair_and_manageable"]) for r in data.survey]
    text = "; ".join(f"{y}: {fmt1(v)}%" for y, v in items)
    return svg.columns_chart(
        items,
        title="Staff saying their caseload is fair and manageable, by survey year",
        desc=f"Percentage of staff survey respondents. {text}.",
    )


def _benchmarks(data: ReportData) -> Markup | None:
    b = data.benchmarks
    dept = data.department.get("avg_caseload_per_fte")
    if not b.provided or not b.rows or dept is None:
        return None
    items = [(f"This department, {data.audit.name}", dept, None, True)]
    for r in b.rows:
        code = r["caseload_fte_code"]
        items.append((f"{r['area_name']}, {b.year}",
                      r["caseload_fte"], f"not published (code {code})" if code else None,
                      False))
    text = "; ".join(f"{label}: {fmt1(v) if v is not None else note}"
                     for label, v, note, _ in items)
    return svg.bars(
        items, title="Cases per case-holding FTE: this department beside published figures",
        desc=f"Horizontal bars. The department covers adult social care; the other areas are "
             f"children's social workers at 30 September. {text}.",
        axis_label="cases per case-holding FTE",
    )
