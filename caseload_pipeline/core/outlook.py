"""Where each team's utilisation is heading: projections one to three months
ahead, and a rolling-origin backtest saying whether they are worth showing.

Team utilisation in a month is the team's weighted caseload over its capacity
(sql/early_warning/team_utilisation.sql). Three ways to project it from month
m, h months ahead:

* ``naive``: it stays where it is this month.
* ``trend``: this month's value plus the straight-line trend through the
  team's last 12 loaded months, tapered: the first month ahead adds 80 % of
  the monthly trend, the second 64 %, the third 51 %. Trends rarely carry on
  at full pace, and the taper keeps one odd year from running away. A team
  with fewer than 6 months in that window has no trend yet (naive).
* ``trend_seasonal``: the trend plus the usual difference between the target's
  month of the year and this one (each month's average gap to the centred
  12-month average in the team's earlier years).

The backtest takes every loaded month in turn as "now", projects from what
was known then and compares with what happened (rolling origin). A method
other than naive is shown only when its mean absolute error beat naive's at
+1 and at +3 months, on the errors known by the month shown; otherwise the
projection is naive and says so. The low-high range is the 10th to 90th
percentile of the shown method's past errors at that horizon, so about eight
months in ten landed inside it.

Everything here works on plain numbers (month index -> utilisation), so the
machinery can be checked by hand; early_warning.py reads and writes the tables.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

NAIVE, TREND, TREND_SEASONAL = "naive", "trend", "trend_seasonal"
METHODS = (NAIVE, TREND, TREND_SEASONAL)
HORIZONS = (1, 2, 3)
JUDGED_HORIZONS = (1, 3)  # a method must beat naive at both to be shown
TREND_MONTHS = 12  # the window the trend line is drawn through
MIN_TREND_MONTHS = 6  # loaded months in that window needed for a trend
DAMPING = 0.8  # each month ahead adds this share of the previous month's step
MIN_ERRORS = 24  # past errors needed to judge a method or to give a range
RANGE_QUANTILES = (0.1, 0.9)

History = Mapping[int, float]  # month index -> the team's utilisation that month
Series = Mapping[str, History]  # team -> its history


def month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_date(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Bands:
    """Utilisation limits from weights.yaml: green up to `green`, amber up to `amber`."""

    green: float
    amber: float

    def of(self, utilisation: float | None) -> str | None:
        if utilisation is None:
            return None
        if utilisation <= self.green:
            return "green"
        return "amber" if utilisation <= self.amber else "red"


# -- projecting ------------------------------------------------------------


def trend_step(history: History, origin: int) -> float | None:
    """The least-squares slope (per month) through the loaded months of the last
    TREND_MONTHS up to `origin`; None when fewer than MIN_TREND_MONTHS are loaded."""
    points = [(m, v) for m, v in history.items() if origin - TREND_MONTHS < m <= origin]
    if len(points) < MIN_TREND_MONTHS:
        return None
    mean_x = sum(m for m, _ in points) / len(points)
    mean_y = sum(v for _, v in points) / len(points)
    spread = sum((m - mean_x) ** 2 for m, _ in points)
    return sum((m - mean_x) * (v - mean_y) for m, v in points) / spread


def tapered(horizon: int) -> float:
    """How many months of trend `horizon` months ahead adds: 0.8 + 0.64 + ..."""
    return sum(DAMPING**k for k in range(1, horizon + 1))


def seasonal_gaps(history: History, origin: int) -> dict[int, float]:
    """Calendar month (0 = January) -> its average gap to the centred 12-month
    average, from months whose whole centred window was known by `origin`."""
    gaps: dict[int, list[float]] = defaultdict(list)
    for month, value in history.items():
        if month + 6 > origin:
            continue
        window = [history.get(k) for k in range(month - 6, month + 7)]
        if any(v is None for v in window):
            continue
        # the usual centred average of an even span: half weight at both ends
        centred = (window[0] / 2 + sum(window[1:12]) + window[12] / 2) / 12
        gaps[month % 12].append(value - centred)
    return {calendar: sum(values) / len(values) for calendar, values in gaps.items()}


def project(history: History, origin: int, methods: Iterable[str] = METHODS,
            horizons: Iterable[int] = HORIZONS) -> dict[tuple[str, int], float]:
    """(method, horizon) -> projected utilisation, from the months up to `origin`."""
    now = history[origin]
    step = trend_step(history, origin)
    methods = list(methods)
    gaps = seasonal_gaps(history, origin) if TREND_SEASONAL in methods else {}
    out = {}
    for horizon in horizons:
        trend = now if step is None else now + step * tapered(horizon)
        start, target = origin % 12, (origin + horizon) % 12
        season = gaps[target] - gaps[start] if start in gaps and target in gaps else 0.0
        for method in methods:
            if method == NAIVE:
                out[(method, horizon)] = now
            elif method == TREND:
                out[(method, horizon)] = trend
            elif method == TREND_SEASONAL:
                out[(method, horizon)] = trend + (season if step is not None else 0.0)
            else:
                raise ValueError(f"unknown method {method!r}")
    return out


# -- the backtest ------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    team: str
    origin: int  # month index the projection was made from
    horizon: int
    method: str
    value: float
    actual: float | None  # None: the target month is not loaded for the team

    @property
    def target(self) -> int:
        return self.origin + self.horizon

    @property
    def error(self) -> float | None:
        """What happened minus what was projected."""
        return None if self.actual is None else self.actual - self.value


def backtest(series: Series, methods: Iterable[str] = METHODS,
             horizons: Iterable[int] = HORIZONS) -> list[Projection]:
    """Every team's projections from every month it has (rolling origin)."""
    methods, horizons = list(methods), list(horizons)
    out = []
    for team in sorted(series):
        history = series[team]
        for origin in sorted(history):
            for (method, horizon), value in project(history, origin, methods, horizons).items():
                out.append(Projection(team, origin, horizon, method, value,
                                      history.get(origin + horizon)))
    return out


@dataclass(frozen=True)
class Score:
    method: str
    horizon: int
    forecasts: int  # projections whose target month is known
    mean_absolute_error: float | None


def scores(projections: Iterable[Projection], through: int | None = None
           ) -> dict[tuple[str, int], Score]:
    """Mean absolute error by (method, horizon) over projections whose target
    month is known, and not later than `through` when given."""
    errors: dict[tuple[str, int], list[float]] = defaultdict(list)
    for p in projections:
        if p.error is not None and (through is None or p.target <= through):
            errors[(p.method, p.horizon)].append(abs(p.error))
    return {key: Score(*key, len(values), sum(values) / len(values))
            for key, values in errors.items()}


def shown_method(judged: Mapping[tuple[str, int], Score], min_errors: int = MIN_ERRORS) -> str:
    """The method to show: of those beating naive's mean absolute error at every
    judged horizon, each judged on at least `min_errors` projections, the one
    with the smallest total error; naive when none does."""

    def error(method: str, horizon: int) -> float | None:
        score = judged.get((method, horizon))
        return score.mean_absolute_error if score and score.forecasts >= min_errors else None

    best, best_total = NAIVE, math.inf
    for method in METHODS:
        if method == NAIVE:
            continue
        pairs = [(error(method, h), error(NAIVE, h)) for h in JUDGED_HORIZONS]
        if any(mine is None or naive is None for mine, naive in pairs):
            continue
        total = sum(mine for mine, _ in pairs)
        if all(mine < naive for mine, naive in pairs) and total < best_total:
            best, best_total = method, total
    return best


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between the two nearest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


# -- the outlook ---------------------------------------------------------------


@dataclass(frozen=True)
class Outlook:
    as_of: int  # month index of the month projected from
    team: str
    horizon: int
    method: str
    utilisation: float  # this month's
    projected: float
    low: float | None
    high: float | None

    @property
    def month(self) -> int:
        return self.as_of + self.horizon


def outlook(series: Series, min_errors: int = MIN_ERRORS) -> list[Outlook]:
    """For every loaded month and every team that has it, the projection shown
    then: the method chosen, and its range, from the errors known by that month
    (so an older month's outlook is what the pipeline would have said at the time)."""
    projections = backtest(series)
    by_origin: dict[int, list[Projection]] = defaultdict(list)
    for p in projections:
        by_origin[p.origin].append(p)
    known = sorted((p for p in projections if p.error is not None), key=lambda p: p.target)
    errors: dict[tuple[str, int], list[float]] = defaultdict(list)
    out, next_known = [], 0
    for origin in sorted(by_origin):
        while next_known < len(known) and known[next_known].target <= origin:
            p = known[next_known]
            errors[(p.method, p.horizon)].append(p.error)
            next_known += 1
        judged = {key: Score(*key, len(v), sum(abs(e) for e in v) / len(v))
                  for key, v in errors.items()}
        method = shown_method(judged, min_errors)
        ranges = {}
        for horizon in HORIZONS:
            past = errors.get((method, horizon), [])
            ranges[horizon] = ((quantile(past, RANGE_QUANTILES[0]),
                                quantile(past, RANGE_QUANTILES[1]))
                               if len(past) >= min_errors else None)
        for p in sorted(by_origin[origin], key=lambda p: (p.team, p.horizon)):
            if p.method != method:
                continue
            spread = ranges[p.horizon]
            out.append(Outlook(origin, p.team, p.horizon, method,
                               series[p.team][origin], p.value,
                               None if spread is None else p.value + spread[0],
                               None if spread is None else p.value + spread[1]))
    return out
