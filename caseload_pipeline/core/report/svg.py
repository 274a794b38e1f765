"""Small inline-SVG charts for the audit report.

The report must open offline as one file, so charts are SVG markup written
here rather than images or a JavaScript library. Every piece of text and every
attribute value goes through `markupsafe.escape`, so a team name such as
`<script>` is inert inside the SVG as well as in the HTML around it.

Colours are the Okabe-Ito palette, which stays distinguishable with the
common forms of colour blindness; values are also written as text labels so
nothing is conveyed by colour alone.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from .fmt import fmt1, month_short

BLUE = "#0072B2"
SKY = "#56B4E9"
GREEN = "#009E73"
ORANGE = "#E69F00"
VERMILLION = "#D55E00"
GREY = "#595959"
LIGHT = "#d9d9d9"
BAND_COLOURS = {"green": GREEN, "amber": ORANGE, "red": VERMILLION}

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
CHAR_WIDTH = 7.0  # generous average glyph width at 12px, for sizing label columns


def _attr_name(name: str) -> str:
    # Python keywords need a trailing underscore (class_); SVG uses hyphens.
    return name.rstrip("_").replace("_", "-")


def _attr_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


class Svg:
    """An SVG document built element by element, escaped by construction."""

    def __init__(self, width: float, height: float, title: str, desc: str) -> None:
        self.width = width
        self.height = height
        self.title = title
        self.desc = desc
        self._parts: list[str] = []

    def _open(self, tag: str, attrs: dict[str, object]) -> str:
        rendered = "".join(
            f' {_attr_name(k)}="{escape(_attr_value(v))}"'
            for k, v in attrs.items()
            if v is not None
        )
        return f"<{tag}{rendered}"

    def add(self, tag: str, text: str | None = None, *, tip: str | None = None, **attrs) -> None:
        """Append an element; `text` is its content, `tip` a hover tooltip (<title>)."""
        start = self._open(tag, attrs)
        inner = ""
        if tip is not None:
            inner += f"<title>{escape(tip)}</title>"
        if text is not None:
            inner += str(escape(text))
        self._parts.append(f"{start}>{inner}</{tag}>" if inner else f"{start}/>")

    def raw(self, markup: str) -> None:
        """Append markup built (and escaped) by the caller."""
        self._parts.append(markup)

    def text(self, x: float, y: float, text: str, **attrs) -> None:
        attrs.setdefault("font_size", 12)
        attrs.setdefault("fill", "#1a1a1a")
        self.add("text", text, x=x, y=y, **attrs)

    def render(self) -> Markup:
        head = self._open(
            "svg",
            {
                "viewBox": f"0 0 {_attr_value(float(self.width))} "
                f"{_attr_value(float(self.height))}",
                "width": self.width,
                "height": self.height,
                "role": "img",
                "aria_label": self.title,
                "font_family": FONT,
                "style": f"max-width:100%;height:auto;width:{self.width}px",
            },
        )
        body = "".join(self._parts)
        return Markup(
            f"{head}><title>{escape(self.title)}</title><desc>{escape(self.desc)}</desc>"
            f"{body}</svg>"
        )


def nice_scale(max_value: float, steps: int = 4) -> tuple[float, float]:
    """A round axis maximum and tick step covering max_value (at least 1)."""
    max_value = max(max_value, 1.0)
    raw = max_value / steps
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return math.ceil(max_value / step - 1e-9) * step, step


def _tick_label(value: float) -> str:
    return f"{value:g}"


def truncate(label: str, max_chars: int) -> str:
    return label if len(label) <= max_chars else label[: max_chars - 1] + "\u2026"


def _label_width(labels: Sequence[str], max_chars: int = 34) -> float:
    longest = max((min(len(s), max_chars) for s in labels), default=8)
    return longest * CHAR_WIDTH + 16


def _x_axis(svg: Svg, left: float, width: float, top: float, bottom: float,
            axis_max: float, step: float, label: str | None = None) -> None:
    """Vertical gridlines with tick labels under a horizontal chart."""
    value = 0.0
    while value <= axis_max + 1e-9:
        x = left + width * value / axis_max
        svg.add("line", x1=x, y1=top, x2=x, y2=bottom, stroke=LIGHT, stroke_width=1)
        svg.text(x, bottom + 14, _tick_label(value), text_anchor="middle", fill=GREY,
                 font_size=11)
        value += step
    if label:
        svg.text(left + width / 2, bottom + 30, label, text_anchor="middle", fill=GREY,
                 font_size=11)


def _legend(svg: Svg, x: float, y: float, items: Sequence[tuple[str, str]]) -> None:
    for name, colour in items:
        svg.add("rect", x=x, y=y - 10, width=12, height=12, fill=colour)
        svg.text(x + 17, y, name)
        x += 17 + len(name) * CHAR_WIDTH + 18


def paired_bars(rows: Sequence[tuple[str, float | None, float | None]], *, current: str,
                previous: str, title: str, desc: str) -> Markup:
    """Horizontal bars per team: this audit (dark) beside the previous one (light)."""
    label_w = _label_width([r[0] for r in rows])
    plot_w, row_h, top = 380.0, 34.0, 34.0
    values = [v for r in rows for v in r[1:] if v is not None]
    axis_max, step = nice_scale(max(values, default=1.0))
    height = top + row_h * len(rows) + 40
    svg = Svg(label_w + plot_w + 60, height, title, desc)
    _legend(svg, label_w, 16, [(current, BLUE), (previous, SKY)])
    bottom = top + row_h * len(rows)
    _x_axis(svg, label_w, plot_w, top, bottom, axis_max, step, "average caseload")
    for i, (name, now, before) in enumerate(rows):
        y = top + i * row_h
        svg.text(label_w - 8, y + row_h / 2 + 4, truncate(name, 34), text_anchor="end", tip=name)
        for offset, value, colour, series in ((4, now, BLUE, current),
                                              (17, before, SKY, previous)):
            if value is None:
                svg.text(label_w + 4, y + offset + 10, f"no {series} figure", fill=GREY,
                         font_size=11, font_style="italic")
                continue
            w = plot_w * value / axis_max
            svg.add("rect", x=label_w, y=y + offset, width=w, height=12, fill=colour,
                    tip=f"{name}, {series}: {fmt1(value)}")
            svg.text(label_w + w + 4, y + offset + 10, fmt1(value), font_size=11)
    return svg.render()


def stacked_shares(rows: Sequence[tuple[str, Sequence[int]]],
                   series: Sequence[tuple[str, str]], *, title: str, desc: str) -> Markup:
    """100 % stacked horizontal bars: the share of each series per row, labelled."""
    label_w = _label_width([r[0] for r in rows])
    plot_w, row_h, top = 420.0, 28.0, 34.0
    svg = Svg(label_w + plot_w + 70, top + row_h * len(rows) + 30, title, desc)
    _legend(svg, label_w, 16, series)
    for i, (name, counts) in enumerate(rows):
        y = top + i * row_h
        total = sum(counts)
        svg.text(label_w - 8, y + 15, truncate(name, 34), text_anchor="end", tip=name)
        svg.text(label_w + plot_w + 6, y + 15, f"n={total}", fill=GREY, font_size=11)
        x = label_w
        for count, (series_name, colour) in zip(counts, series, strict=True):
            if not total or not count:
                continue
            w = plot_w * count / total
            share = 100 * count / total
            svg.add("rect", x=x, y=y + 2, width=w, height=20, fill=colour,
                    stroke="#ffffff", stroke_width=1,
                    tip=f"{name}, {series_name}: {count} ({fmt1(share)}%)")
            if w >= 34:
                svg.text(x + w / 2, y + 16, f"{share:.0f}%", text_anchor="middle",
                         fill="#000000", font_size=11)
            x += w
    return svg.render()


def strip_plot(rows: Sequence[tuple[str, Sequence[float]]], *, title: str, desc: str,
               axis_label: str) -> Markup:
    """One dot per worker on a line per team, with the team mean as a bar."""
    label_w = _label_width([r[0] for r in rows])
    plot_w, row_h, top = 420.0, 30.0, 34.0
    values = [v for _, vs in rows for v in vs]
    axis_max, step = nice_scale(max(values, default=1.0))
    bottom = top + row_h * len(rows)
    svg = Svg(label_w + plot_w + 30, bottom + 40, title, desc)
    svg.add("circle", cx=label_w + 6, cy=12, r=4, fill=BLUE, fill_opacity=0.7)
    svg.text(label_w + 14, 16, "one worker")
    svg.add("rect", x=label_w + 100, y=4, width=3, height=16, fill="#000000")
    svg.text(label_w + 108, 16, "team average")
    _x_axis(svg, label_w, plot_w, top, bottom, axis_max, step, axis_label)
    for i, (name, vs) in enumerate(rows):
        mid = top + i * row_h + row_h / 2
        svg.text(label_w - 8, mid + 4, truncate(name, 34), text_anchor="end", tip=name)
        seen: dict[float, int] = {}
        # One dot per worker (tens of thousands in a big department): the markup
        # svg.add would write, with the team's name escaped once for all its dots.
        dot_tip = escape(name)
        for v in sorted(vs):
            # Workers with the same caseload are spread vertically so each shows.
            k = seen.get(v, 0)
            seen[v] = k + 1
            dy = (k + 1) // 2 * 4 * (1 if k % 2 else -1)
            cx = _attr_value(label_w + plot_w * v / axis_max)
            cy = _attr_value(mid + max(-12, min(12, dy)))
            svg.raw(f'<circle cx="{cx}" cy="{cy}" r="4" fill="{BLUE}" fill-opacity="0.7">'
                    f"<title>{dot_tip}: {v:g} cases</title></circle>")
        if vs:
            mean = sum(vs) / len(vs)
            svg.add("rect", x=label_w + plot_w * mean / axis_max - 1.5, y=mid - 11, width=3,
                    height=22, fill="#000000", tip=f"{name} average: {fmt1(mean)}")
    return svg.render()


def small_multiples(panels: Sequence[tuple[str, Sequence[float | None]]],
                    months: Sequence[dt.date], *, title: str, desc: str,
                    columns: int = 3) -> Markup:
    """One small line chart per team over the window, all on the same y scale."""
    pw, ph, gap = 250.0, 150.0, 18.0
    left, top, bottom_pad = 30.0, 26.0, 22.0
    rows_n = max(1, math.ceil(len(panels) / columns))
    values = [v for _, vs in panels for v in vs if v is not None]
    axis_max, step = nice_scale(max(values, default=1.0), steps=2)
    svg = Svg(columns * (pw + gap), rows_n * (ph + gap), title, desc)
    inner_w = pw - left - 10
    inner_h = ph - top - bottom_pad
    for idx, (name, vs) in enumerate(panels):
        ox = (idx % columns) * (pw + gap)
        oy = (idx // columns) * (ph + gap)
        svg.text(ox + 4, oy + 14, truncate(name, 36), font_weight="bold", tip=name)
        base = oy + top + inner_h
        tick = 0.0
        while tick <= axis_max + 1e-9:
            y = base - inner_h * tick / axis_max
            svg.add("line", x1=ox + left, y1=y, x2=ox + left + inner_w, y2=y, stroke=LIGHT)
            svg.text(ox + left - 4, y + 4, _tick_label(tick), text_anchor="end", fill=GREY,
                     font_size=10)
            tick += step
        if months:
            svg.text(ox + left, base + 15, month_short(months[0]), fill=GREY, font_size=10)
            svg.text(ox + left + inner_w, base + 15, month_short(months[-1]), fill=GREY,
                     font_size=10, text_anchor="end")

        def x_at(j: int, ox: float = ox) -> float:
            return ox + left + (inner_w * j / (len(months) - 1) if len(months) > 1 else inner_w / 2)

        # A month without data breaks the line instead of being drawn as zero.
        segment: list[str] = []
        segments: list[list[str]] = []
        for j, v in enumerate(vs):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{x_at(j):.1f},{base - inner_h * v / axis_max:.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            svg.add("polyline", points=" ".join(seg), fill="none", stroke=BLUE, stroke_width=2)
        for j, v in enumerate(vs):
            if v is not None:
                svg.add("circle", cx=x_at(j), cy=base - inner_h * v / axis_max, r=2.5, fill=BLUE,
                        tip=f"{name}, {month_short(months[j])}: {fmt1(v)}")
        last = next(((j, v) for j, v in reversed(list(enumerate(vs))) if v is not None), None)
        if last is not None:
            svg.text(x_at(last[0]), base - inner_h * last[1] / axis_max - 7, fmt1(last[1]),
                     text_anchor="end", font_size=11, font_weight="bold")
    return svg.render()


def columns_chart(items: Sequence[tuple[str, float | None]], *, title: str, desc: str,
                  axis_max: float = 100.0, suffix: str = "%") -> Markup:
    """Vertical columns with their values on top (the staff survey trend)."""
    col_w, gap, left, top, chart_h = 56.0, 28.0, 36.0, 14.0, 180.0
    width = left + len(items) * (col_w + gap) + gap
    svg = Svg(max(width, 240.0), top + chart_h + 36, title, desc)
    base = top + chart_h
    for tick in range(0, int(axis_max) + 1, int(axis_max // 4) or 1):
        y = base - chart_h * tick / axis_max
        svg.add("line", x1=left, y1=y, x2=width, y2=y, stroke=LIGHT)
        svg.text(left - 4, y + 4, f"{tick}{suffix}", text_anchor="end", fill=GREY, font_size=10)
    for i, (label, value) in enumerate(items):
        x = left + gap + i * (col_w + gap)
        svg.text(x + col_w / 2, base + 16, label, text_anchor="middle")
        if value is None:
            continue
        h = chart_h * min(value, axis_max) / axis_max
        svg.add("rect", x=x, y=base - h, width=col_w, height=h, fill=BLUE,
                tip=f"{label}: {fmt1(value)}{suffix}")
        svg.text(x + col_w / 2, base - h - 5, f"{fmt1(value)}{suffix}", text_anchor="middle",
                 font_weight="bold")
    return svg.render()


def bars(items: Sequence[tuple[str, float | None, str | None, bool]], *, title: str,
         desc: str, axis_label: str) -> Markup:
    """Horizontal bars (label, value, note when no value, highlighted?)."""
    label_w = _label_width([i[0] for i in items], max_chars=44)
    plot_w, row_h, top = 380.0, 26.0, 8.0
    values = [i[1] for i in items if i[1] is not None]
    axis_max, step = nice_scale(max(values, default=1.0))
    bottom = top + row_h * len(items)
    svg = Svg(label_w + plot_w + 50, bottom + 40, title, desc)
    _x_axis(svg, label_w, plot_w, top, bottom, axis_max, step, axis_label)
    for i, (label, value, note, highlight) in enumerate(items):
        y = top + i * row_h
        svg.text(label_w - 8, y + 17, truncate(label, 44), text_anchor="end", tip=label,
                 font_weight="bold" if highlight else None)
        if value is None:
            svg.text(label_w + 4, y + 17, note or "no figure", fill=GREY, font_style="italic",
                     font_size=11)
            continue
        w = plot_w * value / axis_max
        svg.add("rect", x=label_w, y=y + 5, width=w, height=16,
                fill=ORANGE if highlight else BLUE, tip=f"{label}: {fmt1(value)}")
        svg.text(label_w + w + 4, y + 17, fmt1(value), font_size=11)
    return svg.render()
