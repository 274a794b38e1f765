"""The HTML audit report: one self-contained file rendered from a Jinja2 template.

Autoescaping is on, so every value from the warehouse (team names, messages)
is escaped; the only markup passed through unescaped is the SVG built in
svg.py, which escapes its own text.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import jinja2

from caseload_pipeline.core import benchmarks

from . import fmt
from .charts import build_charts
from .outlook_chart import outlook_chart
from .queries import ReportData


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("caseload_pipeline.core.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt field fails loudly, never blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        d1=fmt.fmt1,
        signed1=fmt.signed1,
        pct1=lambda f: fmt.fmt1(fmt.pct1(f)),
        month=fmt.month_name,
        code=benchmarks.describe_code,
    )
    return env


def render_html(data: ReportData, weights: dict, *, generated: dt.date | None = None) -> str:
    template = _environment().get_template("audit_report.html.j2")
    directions = {d: [c for c in data.comparison if c["direction"] == d]
                  for d in ("increased", "decreased", "unchanged", "new")}
    return template.render(
        d=data,
        a=data.audit,
        ordinal=fmt.ordinal(data.audit_number),
        weights=weights or {},
        directions=directions,
        charts=build_charts(data),
        outlook_chart=outlook_chart(data.early_warning, weights or {}),
        generated=(generated or dt.date.today()).isoformat(),
        missing=fmt.MISSING,
        source_label=benchmarks.SOURCE_LABEL,
        population_label=benchmarks.POPULATION_LABEL,
    )
