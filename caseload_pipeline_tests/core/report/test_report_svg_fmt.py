"""The SVG helper escapes everything; rounding matches DuckDB's round(x, 1)."""

from __future__ import annotations

import datetime as dt

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from caseload_pipeline.core.report import svg
from caseload_pipeline.core.report.fmt import fmt1, round1, signed1

from .htmlreport import parse

# One in-memory connection for all examples: connecting per example is slow.
_DUCKDB = duckdb.connect()


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    # Halves and near-halves are where rounding rules differ.
    st.integers(min_value=-100_000, max_value=100_000).map(lambda n: n / 20),
    st.integers(min_value=-100_000, max_value=100_000).map(lambda n: n / 40),
))
def test_round1_matches_duckdb(value):
    expected = _DUCKDB.execute("SELECT round(?::DOUBLE, 1)", [value]).fetchall()[0][0]
    assert round1(value) == expected


def test_formatting():
    assert fmt1(14.25) == "14.3" and fmt1(0.15) == "0.1"  # 0.15 is just below a half
    assert fmt1(None) == "\u2013"
    assert fmt1(-0.04) == "0.0"  # never "-0.0"
    assert signed1(5.0) == "+5.0" and signed1(-0.8) == "-0.8" and signed1(0.01) == "0.0"


def test_text_and_attributes_are_escaped():
    chart = svg.Svg(100, 50, 'T <b>"&', "D <i>")
    chart.text(1, 2, "<script>alert(1)</script>", tip="</title><script>")
    chart.add("rect", x=0, y=0, width=1, height=1, fill='red" onload="alert(1)')
    out = str(chart.render())
    assert "<script" not in out and "<b>" not in out and "<i>" not in out
    assert 'onload="' not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert out.startswith('<svg viewBox="0 0 100 50"') and 'role="img"' in out
    assert 'aria-label="T &lt;b&gt;&#34;&amp;"' in out
    assert "<title>T &lt;b&gt;&#34;&amp;</title><desc>D &lt;i&gt;</desc>" in out


def test_nice_scale():
    assert svg.nice_scale(32.9) == (40, 10)
    assert svg.nice_scale(7.3) == (8, 2)
    assert svg.nice_scale(0) == (1.0, 0.25)
    assert svg.nice_scale(100) == (100, 25)


def test_small_multiples_break_the_line_at_a_missing_month():
    months = [dt.date(2023, m, 1) for m in range(1, 7)]
    out = str(svg.small_multiples([("Team A", [10, 11, 12, None, 13, 14])], months,
                                  title="t", desc="d"))
    assert out.count("<polyline") == 2
    assert out.count("<circle") == 5
    assert "Jan 2023" in out and "Jun 2023" in out


def test_charts_have_accessible_names_and_are_well_formed():
    charts = [
        svg.paired_bars([("A", 10.0, 8.0), ("B", 5.0, None)], current="2023/24",
                        previous="2019/20", title="paired", desc="d"),
        svg.stacked_shares([("A", [3, 1, 0]), ("B", [0, 0, 0])],
                           [("green", svg.GREEN), ("amber", svg.ORANGE), ("red", svg.VERMILLION)],
                           title="stacked", desc="d"),
        svg.strip_plot([("A", [1.0, 1.0, 1.0, 4.0]), ("B", [])], title="strip", desc="d",
                       axis_label="cases"),
        svg.columns_chart([("2017", 43.0), ("2019", None)], title="columns", desc="d"),
        svg.bars([("A", 15.2, None, True), ("B", None, "x", False)], title="bars", desc="d",
                 axis_label="per FTE"),
    ]
    for chart in charts:
        page = parse(str(chart))
        assert len(page.svgs) == 1
        assert page.svgs[0]["role"] == "img" and page.svgs[0]["first_child"] == "title"
    assert "no 2019/20 figure" in str(charts[0])
