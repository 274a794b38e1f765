"""What a new case looks like: complexity, risk and travel.

Teams with small caseloads carry heavier cases, so a team's case mix is drawn
towards the utilisation the department runs at ("pressure" in department.py):
the expected weight of a case (SPEC 5 default weights) is solved from the
planned caseload and the role's capacity. Where even the heaviest or lightest
mix cannot get there (hospital discharge's many short cases), the team simply
runs hot or cold, as real teams do.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from functools import cache

from .department import PRESSURE_DRIFT, ROLE_BY_NAME, TEAM_BY_NAME
from .months import parse_month

COMPLEXITY_POINTS = (2, 3, 5)
RISK_POINTS = (0, 1, 2)
# The two ends of the case mix: mostly simple, low-risk work ... mostly complex, high-risk.
LIGHT_COMPLEXITY = (0.80, 0.17, 0.03)
HEAVY_COMPLEXITY = (0.06, 0.39, 0.55)
LIGHT_RISK = (0.80, 0.17, 0.03)
HEAVY_RISK = (0.08, 0.42, 0.50)
UNASSESSED_AT_ALLOCATION = 0.22  # complexity not yet assessed on a brand-new case
MEAN_FTE = 0.88
# New starters and protected caseloads hold less than their share, so the
# experienced workers the bands are mostly about carry a little more than
# the team's planned average.
EXPERIENCED_LOAD = 1.07
TRAVEL_CAP_MINUTES = 120


@dataclass
class Case:
    case_id: str
    complexity: str | None
    risk: str | None
    travel_minutes: int | None
    # worker_id -> (allocated_on, reassignment reason shown this month or None)
    workers: dict[str, tuple[dt.date, str | None]]


def travel_minutes(team: str, rng: random.Random) -> int:
    """A round trip in whole minutes, recorded to the nearest five."""
    minutes = rng.gammavariate(2.0, TEAM_BY_NAME[team].travel_minutes / 2.0)
    return min(TRAVEL_CAP_MINUTES, 5 * round(minutes / 5))


def _travel_points() -> dict[str, float]:
    """Expected travel points per case by team (blank travel scores nothing).

    Travel is Gamma(2, mean / 2) minutes rounded to 5, so a case scores at
    least k points when the unrounded time is at least 30k - 2.5 minutes, and
    P(T >= x) = exp(-x / theta) * (1 + x / theta) for that distribution.
    """
    points = {}
    for team, spec in TEAM_BY_NAME.items():
        theta = spec.travel_minutes / 2.0
        expected = sum(
            math.exp(-(30 * k - 2.5) / theta) * (1 + (30 * k - 2.5) / theta) for k in (1, 2, 3)
        )
        points[team] = (1 - spec.travel_blank) * expected
    return points


TRAVEL_POINTS = _travel_points()


def _mix_weight(s: float) -> float:
    """Expected complexity + risk points of a case drawn with severity s."""
    total = 0.0
    for light, heavy, points in (
        (LIGHT_COMPLEXITY, HEAVY_COMPLEXITY, COMPLEXITY_POINTS),
        (LIGHT_RISK, HEAVY_RISK, RISK_POINTS),
    ):
        total += sum(
            ((1 - s) * lo + s * hi) * p for lo, hi, p in zip(light, heavy, points, strict=True)
        )
    return total


LIGHTEST, HEAVIEST = _mix_weight(0.0), _mix_weight(1.0)


def pressure(team: str, month: int) -> float:
    """The utilisation the team's case mix is drawn towards this month."""
    points = [(parse_month(label), value) for label, value in PRESSURE_DRIFT.get(team, ())]
    if not points or not points[0][0] <= month <= points[-1][0]:
        return TEAM_BY_NAME[team].pressure
    for (start, low), (end, high) in zip(points, points[1:], strict=False):
        if start <= month <= end:
            return low + (high - low) * (month - start) / (end - start)
    raise AssertionError("unreachable: the month lies between two points")


@cache
def severity(team: str, role: str, planned_average: float, month: int) -> float:
    """0 (lightest mix) .. 1 (heaviest) for new cases of this team and role."""
    if planned_average <= 0:
        return 0.5
    capacity = ROLE_BY_NAME[role].capacity_points_per_fte * MEAN_FTE
    per_case = pressure(team, month) * capacity / (planned_average * EXPERIENCED_LOAD)
    wanted = per_case - TRAVEL_POINTS[team]
    return min(1.0, max(0.0, (wanted - LIGHTEST) / (HEAVIEST - LIGHTEST)))


def _draw(light: tuple, heavy: tuple, s: float, rng: random.Random) -> str:
    low = (1 - s) * light[0] + s * heavy[0]
    medium = (1 - s) * light[1] + s * heavy[1]
    u = rng.random()
    return "low" if u < low else "medium" if u < low + medium else "high"


def new_case(case_id: str, team: str, s: float, rng: random.Random) -> Case:
    spec = TEAM_BY_NAME[team]
    complexity = _draw(LIGHT_COMPLEXITY, HEAVY_COMPLEXITY, s, rng)
    risk = _draw(LIGHT_RISK, HEAVY_RISK, s, rng)
    if rng.random() < UNASSESSED_AT_ALLOCATION:
        complexity = None
    if rng.random() < 0.04:
        risk = None
    travel = None if rng.random() < spec.travel_blank else travel_minutes(team, rng)
    return Case(case_id, complexity, risk, travel, {})


def reassess(case: Case, s: float, rng: random.Random) -> None:
    """Unassessed cases get assessed within a month or two; a few are re-graded."""
    if case.complexity is None:
        if rng.random() < 0.6:
            case.complexity = _draw(LIGHT_COMPLEXITY, HEAVY_COMPLEXITY, s, rng)
    elif rng.random() < 0.02:
        case.complexity = _draw(LIGHT_COMPLEXITY, HEAVY_COMPLEXITY, s, rng)
    if case.risk is None and rng.random() < 0.5:
        case.risk = _draw(LIGHT_RISK, HEAVY_RISK, s, rng)


def geometric_age(closure_rate: float, rng: random.Random) -> int:
    """Months a case has been open, for a case closing with this monthly probability."""
    return int(math.log(1.0 - rng.random()) / math.log(1.0 - closure_rate))
