"""The outlook's machinery (core/outlook.py) on series small enough to work
out by hand: the trend, its taper, the seasonal gaps, the rolling-origin
backtest and its scores, the choice of method and the range."""

from __future__ import annotations

import pytest

from caseload_pipeline.core import outlook as ol

# A team rising two points a month for six months (month indices 100..105).
RISING = {100 + i: 0.80 + 0.02 * i for i in range(6)}


def test_trend_is_the_least_squares_slope_of_the_last_twelve_months():
    assert ol.trend_step(RISING, 105) == pytest.approx(0.02)
    # Fewer than six loaded months in the window: no trend.
    assert ol.trend_step(RISING, 104) is None
    # Only the last twelve months count: an old jump twenty months before is ignored.
    older = {**RISING, 85: 5.0}
    assert ol.trend_step(older, 105) == pytest.approx(0.02)
    # A month missing inside the window: the line goes through the months there are.
    gappy = {m: v for m, v in {**RISING, 106: 0.92, 107: 0.94}.items() if m != 103}
    assert ol.trend_step(gappy, 107) == pytest.approx(0.02)


def test_the_trend_is_tapered_month_by_month():
    assert [ol.tapered(h) for h in (1, 2, 3)] == pytest.approx([0.8, 1.44, 1.952])
    projected = ol.project(RISING, 105)
    assert projected[(ol.NAIVE, 3)] == pytest.approx(0.90)
    assert projected[(ol.TREND, 1)] == pytest.approx(0.90 + 0.02 * 0.8)
    assert projected[(ol.TREND, 3)] == pytest.approx(0.90 + 0.02 * 1.952)
    # No trend yet: every method is naive.
    assert list(ol.project(RISING, 104).values()) == pytest.approx([0.88] * 9)


def test_seasonal_gaps_against_the_centred_twelve_month_average():
    # Flat at 1.0 except 1.1 every January (index % 12 == 0), for three years.
    series = {m: 1.1 if m % 12 == 0 else 1.0 for m in range(24_000, 24_036)}
    # Any centred window holds one January at full weight or two at half weight:
    # (0.5 + 10 + 1.1 + 0.5) / 12 = 12.1 / 12 = 1.008333...
    gaps = ol.seasonal_gaps(series, 24_035)
    assert gaps[0] == pytest.approx(1.1 - 12.1 / 12)
    assert gaps[5] == pytest.approx(1.0 - 12.1 / 12)
    # Only months whose whole window was known by the origin count.
    assert ol.seasonal_gaps(series, 24_011) == {}
    # From December one month ahead: the trend (flat) plus January's usual rise.
    december = 24_035 - 12
    projected = ol.project(series, december, horizons=(1,))
    assert projected[(ol.TREND_SEASONAL, 1)] - projected[(ol.TREND, 1)] == pytest.approx(0.1)


def test_backtest_scores_only_months_that_were_loaded():
    series = {
        "A": {0: 1.0, 1: 1.1, 2: 1.0, 3: 1.2},
        "B": {0: 0.5, 1: 0.5, 3: 0.8},  # month 2 never loaded for B
    }
    naive = [p for p in ol.backtest(series, methods=[ol.NAIVE]) if p.error is not None]
    by = {(p.team, p.origin, p.horizon): round(p.error, 10) for p in naive}
    assert by == {
        ("A", 0, 1): 0.1, ("A", 1, 1): -0.1, ("A", 2, 1): 0.2,
        ("A", 0, 2): 0.0, ("A", 1, 2): 0.1, ("A", 0, 3): 0.2,
        ("B", 0, 1): 0.0, ("B", 1, 2): 0.3, ("B", 0, 3): 0.3,
    }
    scores = ol.scores(naive)
    assert scores[(ol.NAIVE, 1)].forecasts == 4
    assert scores[(ol.NAIVE, 1)].mean_absolute_error == pytest.approx((0.1 + 0.1 + 0.2) / 4)
    assert scores[(ol.NAIVE, 3)].mean_absolute_error == pytest.approx(0.25)
    # Scored as known by month 2: only targets up to month 2.
    early = ol.scores(naive, through=2)
    assert early[(ol.NAIVE, 1)].forecasts == 3 and (ol.NAIVE, 3) not in early


def _score(method: str, horizon: int, mae: float, n: int = 30) -> tuple:
    return (method, horizon), ol.Score(method, horizon, n, mae)


def test_a_method_is_shown_only_when_it_beats_naive_at_one_and_three_months():
    naive = [_score(ol.NAIVE, 1, 0.03), _score(ol.NAIVE, 3, 0.05)]
    beats_both = dict(naive + [_score(ol.TREND, 1, 0.02), _score(ol.TREND, 3, 0.04)])
    assert ol.shown_method(beats_both) == ol.TREND
    worse_at_three = dict(naive + [_score(ol.TREND, 1, 0.02), _score(ol.TREND, 3, 0.06)])
    assert ol.shown_method(worse_at_three) == ol.NAIVE
    tie = dict(naive + [_score(ol.TREND, 1, 0.03), _score(ol.TREND, 3, 0.04)])
    assert ol.shown_method(tie) == ol.NAIVE
    too_few = dict(naive + [_score(ol.TREND, 1, 0.02, n=5), _score(ol.TREND, 3, 0.04, n=5)])
    assert ol.shown_method(too_few) == ol.NAIVE
    both = dict(naive + [_score(ol.TREND, 1, 0.02), _score(ol.TREND, 3, 0.04),
                         _score(ol.TREND_SEASONAL, 1, 0.01), _score(ol.TREND_SEASONAL, 3, 0.04)])
    assert ol.shown_method(both) == ol.TREND_SEASONAL


def test_quantile_interpolates_between_ranks():
    values = [0.3, -0.1, 0.0, 0.1, 0.2]  # sorted: -0.1, 0.0, 0.1, 0.2, 0.3
    assert ol.quantile(values, 0.1) == pytest.approx(-0.06)  # 0.4 of the way 0 -> 1
    assert ol.quantile(values, 0.9) == pytest.approx(0.26)
    assert ol.quantile([0.5], 0.9) == 0.5


def test_a_steady_trend_is_shown_once_it_has_proved_itself():
    # Rising exactly one point a month: the tapered trend misses by 0.2, 0.56 and
    # 1.048 points at +1, +2, +3 once it has six months; naive by 1, 2 and 3.
    series = {"T": {m: 0.5 + 0.01 * m for m in range(40)}}
    rows = {(o.as_of, o.horizon): o for o in ol.outlook(series, min_errors=10)}
    # Month 5: too few past errors to judge anything or to give a range.
    assert rows[(5, 1)].method == ol.NAIVE and rows[(5, 1)].low is None
    late = rows[(39, 3)]
    assert late.method == ol.TREND
    assert late.projected == pytest.approx(0.89 + 0.01 * 1.952)
    # Past errors at +3 known by month 39 (from months 0 to 36): 1.048 points from
    # month 5 on, 3 points from the five months before the trend had six months.
    # 10th percentile: rank 3.6 of 37 -> 1.048; 90th: rank 32.4 -> 3.
    assert late.low == pytest.approx(late.projected + 0.01048)
    assert late.high == pytest.approx(late.projected + 0.03)
    assert late.month == 42


def test_an_earlier_months_outlook_uses_only_what_was_known_then():
    series = {"A": {m: 0.8 + 0.05 * ((m * 7) % 5) / 4 for m in range(60)},
              "B": {m: 0.7 + 0.004 * m + 0.03 * ((m * 3) % 4) / 3 for m in range(60)}}
    cut = {team: {m: v for m, v in history.items() if m <= 40}
           for team, history in series.items()}
    full = [o for o in ol.outlook(series, min_errors=12) if o.as_of <= 40]
    assert full == ol.outlook(cut, min_errors=12)


def test_bands():
    bands = ol.Bands(1.0, 1.1)
    assert [bands.of(v) for v in (0.5, 1.0, 1.05, 1.1, 1.1000001, None)] == [
        "green", "green", "amber", "amber", "red", None]
