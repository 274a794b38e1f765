"""The department's whole history: rosters, the caseload plan and the cases.

Everything is drawn from one seed. A roster that cannot carry the published
figures (see roster._Balance and plan.CalibrationError) is drawn again with
the next attempt number, so the result is still fully determined by the seed.
Only the audit windows are looked at to accept a roster, and every stream is
drawn month by month, so a month's files are the same whatever the last month
generated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from .cases import Allocation, CaseSimulation
from .department import AUDITS, ERAS
from .months import parse_month
from .plan import CalibrationError, build_plan
from .roster import RosterSimulation, Worker, window_gap

SEED = 20190701
MAX_ATTEMPTS = 400
BALANCE_TOLERANCE = 1.0  # cases a month; the calibration absorbs this much
FIRST_MONTH = ERAS[0].start
LAST_AUDIT_MONTH = max(audit.last_month for audit in AUDITS)


@dataclass(frozen=True)
class History:
    first: int
    last: int
    rosters: dict[int, list[Worker]]
    allocations: dict[int, list[Allocation]]
    attempt: int


def simulate(last_month: str) -> History:
    first, last = parse_month(FIRST_MONTH), parse_month(last_month)
    if last < first:
        raise ValueError(f"the demo history starts in {FIRST_MONTH}; got last month {last_month}")
    # The roster always runs to the end of the last audit so the windows are calibrated
    # the same way whatever the last month asked for.
    horizon = max(last, parse_month(LAST_AUDIT_MONTH))
    for attempt in range(MAX_ATTEMPTS):
        roster_seed, plan_seed, case_seed = np.random.SeedSequence([SEED, attempt]).spawn(3)
        rosters = RosterSimulation(np.random.default_rng(roster_seed)).run(first, horizon)
        if window_gap(rosters) > BALANCE_TOLERANCE:
            continue
        try:
            plan = build_plan(rosters, plan_seed)
        except CalibrationError:
            continue
        break
    else:
        raise RuntimeError("no roster reproduced the published figures; see demo/department.py")
    # Python's generator: the case simulation draws one number at a time, where
    # numpy's per-call overhead would dominate.
    cases = CaseSimulation(plan, random.Random(int(case_seed.generate_state(1)[0])))
    allocations = {m: cases.month(m, rosters[m]) for m in range(first, last + 1)}
    return History(first, last, {m: rosters[m] for m in allocations}, allocations, attempt)
