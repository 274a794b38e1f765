"""The early-warning chart: for each team heading for a higher band, its actual
utilisation over the last year and the projection for the next three months
with its range, drawn over the amber and red zones. Inline SVG like the other
charts (svg.py), escaped by construction, with every value also in the text."""

from __future__ import annotations

import math

from markupsafe import Markup

from caseload_pipeline.core.outlook import month_index

from . import svg
from .early_warning import EarlyWarningSection
from .fmt import month_name, month_short

AMBER_ZONE = "#fbe3b5"
RED_ZONE = "#f6cdb8"
RANGE_FILL = "#bdbdbd"
PROJECTION = "#1a1a1a"


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def describe(section: EarlyWarningSection) -> str:
    parts = []
    for t in section.teams:
        line = (f"{t['team']}: {_pct(t['utilisation'])} of capacity in "
                f"{month_name(section.as_of)} ({t['band']}); projected {_pct(t['projected'][-1])}"
                f" in {month_name(t['months'][-1])}")
        if t["low"][-1] is not None:
            line += f", range {_pct(t['low'][-1])} to {_pct(t['high'][-1])}"
        if t["red_from"]:
            line += f"; red possible from {month_name(t['red_from'])}"
        parts.append(line)
    return "; ".join(parts)


def outlook_chart(section: EarlyWarningSection, weights: dict) -> Markup | None:
    if not section.teams or section.as_of is None:
        return None
    bands = weights.get("bands") or {}
    green, amber = float(bands.get("green", 1.0)), float(bands.get("amber", 1.1))
    values = [green, amber]
    for t in section.teams:
        values += [v for _, v in t["actual"]] + t["projected"]
        values += [v for v in t["low"] + t["high"] if v is not None]
    bottom = math.floor(min(values) * 10 - 0.5) / 10
    top = math.ceil(max(values) * 10 + 0.5) / 10
    columns = min(3, len(section.teams))
    pw, ph, gap = 310.0, 200.0, 16.0
    left, top_pad, bottom_pad, right = 40.0, 28.0, 34.0, 44.0
    rows_n = math.ceil(len(section.teams) / columns)
    # at least as wide as the legend above the panels
    chart = svg.Svg(max(columns * (pw + gap), 480.0), rows_n * (ph + gap) + 24,
                    f"Teams heading for a higher band: utilisation over the last year and "
                    f"projected for the next three months, as of {month_name(section.as_of)}",
                    "Each panel is one team. The solid line is the team's weighted caseload "
                    "as a share of its capacity each month; the dashed line is the projection "
                    "and the grey area its range. Shaded: amber and red zones. "
                    + describe(section) + ".")
    legend = [("actual", svg.BLUE), ("projected", PROJECTION), ("range", RANGE_FILL),
              ("amber zone", AMBER_ZONE), ("red zone", RED_ZONE)]
    x = 4.0
    for name, colour in legend:
        chart.add("rect", x=x, y=6, width=12, height=12, fill=colour)
        chart.text(x + 16, 16, name, font_size=11)
        x += 16 + len(name) * 6.5 + 14
    inner_w, inner_h = pw - left - right, ph - top_pad - bottom_pad
    for i, team in enumerate(section.teams):
        ox = (i % columns) * (pw + gap)
        oy = 24 + (i // columns) * (ph + gap)
        _panel(chart, team, section, ox, oy, left, top_pad, inner_w, inner_h,
               (bottom, top), (green, amber))
    return chart.render()


def _panel(chart: svg.Svg, team: dict, section: EarlyWarningSection, ox: float, oy: float,
           left: float, top_pad: float, inner_w: float, inner_h: float,
           scale: tuple[float, float], limits: tuple[float, float]) -> None:
    bottom, top = scale
    green, amber = limits
    now = month_index(section.as_of)
    first = min([month_index(m) for m, _ in team["actual"]] or [now])
    last = now + len(team["projected"])
    base = oy + top_pad + inner_h

    def x_at(month: int) -> float:
        return ox + left + inner_w * (month - first) / max(1, last - first)

    def y_at(value: float) -> float:
        return base - inner_h * (min(max(value, bottom), top) - bottom) / (top - bottom)

    chart.text(ox + 4, oy + 14, svg.truncate(team["team"], 38), font_weight="bold",
               tip=team["team"])
    x0, x1 = ox + left, ox + left + inner_w
    chart.add("rect", x=x0, y=y_at(amber), width=inner_w, height=y_at(green) - y_at(amber),
              fill=AMBER_ZONE)
    chart.add("rect", x=x0, y=y_at(top), width=inner_w, height=y_at(amber) - y_at(top),
              fill=RED_ZONE)
    step = 0.1 if top - bottom <= 0.6 else 0.2
    tick = math.ceil(bottom / step - 1e-9) * step
    while tick <= top + 1e-9:
        y = y_at(tick)
        chart.add("line", x1=x0, y1=y, x2=x1, y2=y, stroke=svg.LIGHT)
        chart.text(x0 - 4, y + 4, _pct(tick), text_anchor="end", fill=svg.GREY, font_size=10)
        tick += step
    chart.add("line", x1=x_at(now), y1=oy + top_pad, x2=x_at(now), y2=base, stroke=svg.GREY,
              stroke_dasharray="2 3")
    chart.text(ox + left, base + 14, month_short(team["actual"][0][0]) if team["actual"]
               else month_short(section.as_of), fill=svg.GREY, font_size=10)
    chart.text(x1, base + 14, month_short(team["months"][-1]), fill=svg.GREY, font_size=10,
               text_anchor="end")
    chart.text(x_at(now), base + 26, "now", fill=svg.GREY, font_size=10, text_anchor="middle")

    months = [now + k for k in range(1, len(team["projected"]) + 1)]
    if all(v is not None for v in team["low"] + team["high"]):
        upper = [f"{x_at(m):.1f},{y_at(v):.1f}" for m, v in zip(months, team["high"],
                                                                 strict=True)]
        lower = [f"{x_at(m):.1f},{y_at(v):.1f}" for m, v in zip(months, team["low"],
                                                                 strict=True)]
        start = f"{x_at(now):.1f},{y_at(team['utilisation']):.1f}"
        chart.add("polygon", points=" ".join([start, *upper, *reversed(lower)]),
                  fill=RANGE_FILL, fill_opacity=0.7)
    # actual months: a month with no figure breaks the line
    segments: list[list[str]] = [[]]
    by_month = {month_index(m): v for m, v in team["actual"]}
    for month in range(first, now + 1):
        if month in by_month:
            segments[-1].append(f"{x_at(month):.1f},{y_at(by_month[month]):.1f}")
        elif segments[-1]:
            segments.append([])
    for segment in segments:
        if segment:
            chart.add("polyline", points=" ".join(segment), fill="none", stroke=svg.BLUE,
                      stroke_width=2)
    projected = [f"{x_at(now):.1f},{y_at(team['utilisation']):.1f}"] + [
        f"{x_at(m):.1f},{y_at(v):.1f}" for m, v in zip(months, team["projected"], strict=True)]
    chart.add("polyline", points=" ".join(projected), fill="none", stroke=PROJECTION,
              stroke_width=2, stroke_dasharray="5 3")
    chart.add("circle", cx=x_at(now), cy=y_at(team["utilisation"]), r=3, fill=svg.BLUE,
              tip=f"{team['team']}, {month_short(section.as_of)}: {_pct(team['utilisation'])}")
    chart.text(x_at(now) - 4, y_at(team["utilisation"]) - 7, _pct(team["utilisation"]),
               text_anchor="end", font_size=11, font_weight="bold")
    end = team["projected"][-1]
    chart.add("circle", cx=x_at(months[-1]), cy=y_at(end), r=3, fill="#ffffff",
              stroke=PROJECTION, stroke_width=1.5,
              tip=f"{team['team']}, projected {month_short(team['months'][-1])}: {_pct(end)}")
    chart.text(x_at(months[-1]) + 5, y_at(end) + 4, _pct(end), font_size=11)
