"""Cases month to month: continuity, closure, reassignment and co-allocation.

Each month every case-holding worker must end with exactly the number of
allocations the plan gives them (that is what makes the audit figures come
out). Cases carry over from the previous month; some close, some move to
another worker of the team (reassigned, with a reason code), leavers' cases
are reallocated, and the rest of each worker's plan is met with new cases.
"""

from __future__ import annotations

import datetime as dt
import random
from functools import cache
from typing import NamedTuple

from .casemix import Case, geometric_age, new_case, reassess, severity
from .department import BUSY_REASSIGNMENT, ERAS, TEAM_BY_NAME
from .months import parse_month, snapshot_day
from .plan import Plan
from .roster import Worker

CO_ALLOCATION = 0.02  # share of new cases given to two workers
REASSIGNMENT = 0.02  # monthly chance a case moves worker for workload or absence
BUSY_REASSIGNMENT_RATE = 0.14  # hospital discharge and OT in 2022/23 (see department.py)
RESTRUCTURE_HANDOVER = 0.2  # of a moved worker's cases, handed to a colleague in the new team
GHOST_CHANCE = 0.12  # a leaver's cases still show under them at the snapshot


class Allocation(NamedTuple):
    case_id: str
    worker_id: str
    team: str  # as the case system shows it (it lags a restructure by a month)
    complexity: str | None
    risk: str | None
    travel_minutes: int | None
    allocated_on: dt.date
    reassignment_reason: str | None


class CaseSimulation:
    def __init__(self, plan: Plan, rng: random.Random):
        self.plan = plan
        self.rng = rng
        self.cases: dict[str, Case] = {}
        self.holdings: dict[str, dict[str, None]] = {}  # worker -> ordered set of case ids
        self.team_of: dict[str, str] = {}
        self.ghosts: list[str] = []
        self.next_case = 12_000
        self.first_month = min(plan.targets)
        self.era_starts = {parse_month(era.start) for era in ERAS}
        self.busy = (
            parse_month(BUSY_REASSIGNMENT["first_month"]),
            parse_month(BUSY_REASSIGNMENT["last_month"]),
        )

    # -- helpers -------------------------------------------------------------

    def _case_id(self) -> str:
        # Case systems number cases in sequence; gaps are cases of other services.
        self.next_case += self.rng.randint(1, 3)
        return f"C{self.next_case:07d}"

    def _day(self, month: int) -> dt.date:
        last = _snapshot(month)
        return last.replace(day=self.rng.randint(1, last.day))

    def _severity(self, month: int, worker: Worker) -> float:
        planned = self.plan.cell_average.get((month, worker.team, worker.role), 0.0)
        return severity(worker.team, worker.role, planned, month)

    def _release(self, worker_id: str, case_id: str, pool: list, reason: str | None) -> None:
        """Take a case off a worker; with a reason it waits in the pool for a colleague."""
        del self.holdings[worker_id][case_id]
        del self.cases[case_id].workers[worker_id]
        if reason:
            pool.append((case_id, reason))
        elif not self.cases[case_id].workers:
            del self.cases[case_id]

    def _close(self, case_id: str) -> None:
        for worker_id in self.cases.pop(case_id).workers:
            del self.holdings[worker_id][case_id]

    def _reassignment_rate(self, team: str, month: int) -> float:
        if team in BUSY_REASSIGNMENT["teams"] and self.busy[0] <= month <= self.busy[1]:
            return BUSY_REASSIGNMENT_RATE
        return REASSIGNMENT

    # -- one month -------------------------------------------------------------

    def month(self, month: int, staff: list[Worker]) -> list[Allocation]:
        """Move the caseload on to this month's snapshot and return its rows."""
        targets = self.plan.targets[month]
        on_roster = {w.worker_id: w for w in staff if w.case_holding}
        # A reason shows only in the month a case changes hands.
        for case in self.cases.values():
            for worker_id, (allocated_on, _) in case.workers.items():
                case.workers[worker_id] = (allocated_on, None)
        held_before = {(c, w) for w, cases in self.holdings.items() for c in cases}
        pools = _Pools(month)

        self._hand_back(month, on_roster, pools)
        for worker in on_roster.values():
            self.holdings.setdefault(worker.worker_id, {})
            self.team_of[worker.worker_id] = worker.team
        self._carry_over(month, on_roster, pools)
        self._trim(on_roster, targets, pools)
        self._fill(month, on_roster, targets, pools, held_before)
        for pool in pools.values():
            for case_id, _ in pool:
                if case_id in self.cases and not self.cases[case_id].workers:
                    del self.cases[case_id]  # nobody picked it up: closed
        return self._rows(staff)

    def _hand_back(self, month: int, on_roster: dict[str, Worker], pools: _Pools) -> None:
        """Last month's ghosts, then this month's leavers: their cases go back to the team."""
        for worker_id in self.ghosts:
            for case_id in list(self.holdings[worker_id]):
                self._release(worker_id, case_id, pools.of(self.team_of[worker_id]), "LEFTRL")
            del self.holdings[worker_id]
        self.ghosts = []
        for worker_id in [w for w in self.holdings if w not in on_roster]:
            held = list(self.holdings[worker_id])
            keep = 0
            quiet = month + 1 not in self.era_starts and not self.ghosts  # one a month at most
            if held and quiet and self.rng.random() < GHOST_CHANCE:
                keep = min(len(held), self.rng.randint(2, 5))
                self.ghosts.append(worker_id)
            for case_id in held[keep:]:
                self._release(worker_id, case_id, pools.of(self.team_of[worker_id]), "LEFTRL")
            if not keep:
                del self.holdings[worker_id]

    def _carry_over(self, month: int, on_roster: dict[str, Worker], pools: _Pools) -> None:
        """Closures, restructure handovers and reassignments of the cases held."""
        rng = self.rng
        for worker in on_roster.values():
            pool = pools.of(worker.team)
            closure_rate = TEAM_BY_NAME[worker.team].closure_rate
            reassignment_rate = self._reassignment_rate(worker.team, month)
            mix = self._severity(month, worker)
            for case_id in list(self.holdings[worker.worker_id]):
                if case_id not in self.holdings[worker.worker_id]:
                    continue  # closed by a co-worker earlier in this loop
                if rng.random() < closure_rate:
                    self._close(case_id)
                elif worker.previous_team and rng.random() < RESTRUCTURE_HANDOVER:
                    self._release(worker.worker_id, case_id, pool, "ORGRST")
                elif rng.random() < reassignment_rate:
                    reason = "MANAGE" if rng.random() < 0.6 else "ABSENC"
                    self._release(worker.worker_id, case_id, pool, reason)
                else:
                    reassess(self.cases[case_id], mix, rng)

    def _trim(self, on_roster: dict[str, Worker], targets, pools: _Pools) -> None:
        """Workers above their plan pass cases on (MANAGE) or close them."""
        for worker in on_roster.values():
            held = list(self.holdings[worker.worker_id])
            excess = len(held) - targets[worker.worker_id]
            if excess > 0:
                for i in sorted(self.rng.sample(range(len(held)), excess)):
                    reason = "MANAGE" if self.rng.random() < 0.5 else None
                    self._release(worker.worker_id, held[i], pools.of(worker.team), reason)

    def _fill(self, month: int, on_roster: dict[str, Worker], targets, pools, held_before) -> None:
        """Bring every worker up to plan: first cases waiting in the team's pool, then new ones."""
        rng = self.rng
        by_team: dict[str, list[Worker]] = {}
        for worker in on_roster.values():
            by_team.setdefault(worker.team, []).append(worker)
        for team, members in by_team.items():
            need = {
                w.worker_id: targets[w.worker_id] - len(self.holdings[w.worker_id]) for w in members
            }
            pool = pools.get(team, [])
            waiting = rng.sample(pool, len(pool))
            for worker in members:
                wid = worker.worker_id
                for entry in list(waiting):
                    if need[wid] <= 0:
                        break
                    case_id, reason = entry
                    case = self.cases.get(case_id)
                    if case is None or wid in case.workers or (case_id, wid) in held_before:
                        continue  # closed meanwhile, or not a change of hands
                    case.workers[wid] = (self._day(month), reason)
                    self.holdings[wid][case_id] = None
                    need[wid] -= 1
                    waiting.remove(entry)
            for worker in members:
                while need[worker.worker_id] > 0:
                    self._new_case(month, worker, members, need)
            pools[team] = waiting

    def _new_case(self, month: int, worker: Worker, members: list[Worker], need) -> None:
        rng = self.rng
        case = new_case(self._case_id(), worker.team, self._severity(month, worker), rng)
        holders = [worker]
        if rng.random() < CO_ALLOCATION:
            partners = [w for w in members if w is not worker and need[w.worker_id] > 0]
            if partners:
                holders.append(rng.choice(partners))
        first = month == self.first_month
        for holder in holders:
            allocated = self._opening_date(month, worker.team) if first else self._day(month)
            case.workers[holder.worker_id] = (allocated, None)
            self.holdings[holder.worker_id][case.case_id] = None
            need[holder.worker_id] -= 1
        self.cases[case.case_id] = case

    def _opening_date(self, month: int, team: str) -> dt.date:
        """Cases open when the history starts were allocated over the months before."""
        age = min(geometric_age(TEAM_BY_NAME[team].closure_rate, self.rng), 60)
        return self._day(month - age)

    def _rows(self, staff: list[Worker]) -> list[Allocation]:
        shown: list[tuple[str, str]] = []
        for worker in staff:
            if worker.case_holding:
                # The case system picks up a restructure a month after HR does.
                shown.append((worker.worker_id, worker.previous_team or worker.team))
        shown += [(ghost, self.team_of[ghost]) for ghost in self.ghosts]
        rows = []
        for worker_id, team in shown:
            for case_id in self.holdings[worker_id]:
                case = self.cases[case_id]
                allocated_on, reason = case.workers[worker_id]
                rows.append(
                    Allocation(
                        case_id,
                        worker_id,
                        team,
                        case.complexity,
                        case.risk,
                        case.travel_minutes,
                        allocated_on,
                        reason,
                    )
                )
        return rows


class _Pools(dict[str, list[tuple[str, str]]]):
    """Cases waiting for a colleague, by team, with the reason they move."""

    def __init__(self, month: int):
        super().__init__()
        self.month = month

    def of(self, team: str) -> list[tuple[str, str]]:
        return self.setdefault(_successor(team, self.month), [])


@cache
def _snapshot(month: int) -> dt.date:
    return snapshot_day(month)


@cache
def _successor(team: str, month: int) -> str:
    """The team that takes over a team's cases if the team has gone in a restructure."""
    era = max((e for e in ERAS if parse_month(e.start) <= month), key=lambda e: e.start)
    if team in era.teams:
        return team
    for name, plan in era.teams.items():
        if team in plan.sources:
            return name
    return next(iter(era.teams))
