"""Staff rosters month by month: hiring, leaving and restructures.

The roster is simulated before any case exists, because the audit
calibration (plan.py) needs to know how many case-holding workers each team
has in every month before it can decide how many cases they hold.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .department import AUDITS, ERAS, SW, TM, Era
from .months import parse_month

FTE_CHOICES = np.array([1.0, 0.9, 0.8, 0.6, 0.5])
FTE_WEIGHTS = np.array([0.64, 0.07, 0.14, 0.10, 0.05])
LEAVE_RATE = 0.011  # a month: about 13 % staff turnover a year
MANAGER_LEAVE_RATE = 0.006
HIRE_RATE = 0.32  # chance a vacancy is filled in a month: posts stay open a few months
ASYE_SHARE = 0.35  # of newly hired social workers
ASYE_MONTHS = 12
MIN_TEAM = 3
MAX_TEAM = 15


@dataclass(frozen=True)
class Worker:
    worker_id: str
    team: str
    role: str
    fte: float
    start: int  # month index of the first month in post
    asye: bool  # newly qualified: a protected caseload for the first year
    load: float  # personal share of the team's work (experience, specialism)
    senior: bool  # HR lists the post as "Senior social worker" (a role alias)
    previous_team: str | None = None  # the team before the latest restructure

    @property
    def case_holding(self) -> bool:
        return self.role != TM

    def protected(self, month: int) -> bool:
        return self.asye and month - self.start < ASYE_MONTHS


class _Ids:
    """Worker ids W1000..W9999 in a shuffled but reproducible order."""

    def __init__(self, rng: np.random.Generator):
        self._pool = [f"W{n}" for n in rng.permutation(np.arange(1000, 10000))]

    def take(self) -> str:
        return self._pool.pop()


@dataclass(frozen=True)
class _Balance:
    """Keeps a roster able to reproduce team and role averages at once.

    In a month, (workers x average) summed over teams and summed over roles
    both count the department's cases, so a roster can meet every published
    team and role average only if the sum over its workers of (team average -
    role average) is about zero over the window. Recruitment steers that sum:
    a post whose appointment brings it closer to zero is filled sooner.
    (history.py still rejects a roster that ends too far out.)
    """

    team_averages: dict[str, float]
    role_averages: dict[str, float]

    def effect(self, team: str, role: str) -> float:
        return self.team_averages[team] - self.role_averages[role]

    def gap(self, staff: list[Worker]) -> float:
        return sum(self.effect(w.team, w.role) for w in staff if w.case_holding)

    def hire_rate(self, team: str, role: str, gap: float) -> float:
        helps = abs(gap + self.effect(team, role)) < abs(gap)
        return 0.7 if helps else 0.05


def _balances(era_starts: dict[int, Era]) -> dict[int, _Balance]:
    """Months (from the structure's start to the window's end) that recruit with balance."""
    result = {}
    for audit in AUDITS:
        if audit.role_averages:
            first, last = parse_month(audit.first_month), parse_month(audit.last_month)
            start = max(m for m in era_starts if m <= first)
            for month in range(start, last + 1):
                result[month] = _Balance(audit.team_averages, audit.role_averages)
    return result


class RosterSimulation:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.ids = _Ids(rng)
        self.era_starts = {parse_month(era.start): era for era in ERAS}
        self.balance = _balances(self.era_starts)

    def run(self, first: int, last: int) -> dict[int, list[Worker]]:
        """Rosters for every month first..last (inclusive), in a stable order."""
        rosters: dict[int, list[Worker]] = {}
        staff = self._initial(first, self.era_starts[first])
        rosters[first] = staff
        for month in range(first + 1, last + 1):
            if month in self.era_starts:
                staff = self._restructure(staff, self.era_starts[month], month)
            else:
                staff = [replace(w, previous_team=None) if w.previous_team else w for w in staff]
                staff = self._turnover(staff, self._era_at(month), month)
            rosters[month] = staff
        return rosters

    def _era_at(self, month: int) -> Era:
        return self.era_starts[max(m for m in self.era_starts if m <= month)]

    # -- people ------------------------------------------------------------

    def _new_worker(self, team: str, role: str, month: int, *, tenure: int = 0) -> Worker:
        rng = self.rng
        fte = float(rng.choice(FTE_CHOICES, p=FTE_WEIGHTS))
        if role == TM:
            fte = 1.0 if rng.random() < 0.85 else 0.8
        asye = role == SW and rng.random() < ASYE_SHARE and tenure < ASYE_MONTHS
        return Worker(
            worker_id=self.ids.take(),
            team=team,
            role=role,
            fte=fte,
            start=month - tenure,
            asye=asye,
            load=float(np.exp(rng.normal(0.0, 0.12))),
            senior=role == SW and rng.random() < 0.3,
        )

    def _initial(self, month: int, era: Era) -> list[Worker]:
        staff = []
        for team, plan in era.teams.items():
            staff.append(self._new_worker(team, TM, month, tenure=int(self.rng.integers(12, 120))))
            for role, posts in plan.posts.items():
                for _ in range(posts):
                    if self.rng.random() < 0.06:
                        continue  # a vacancy carried into the first month
                    # Mostly established staff; a few started recently, one or two this month.
                    tenure = int(
                        self.rng.choice([0, 3, 8, 20, 40, 90], p=[0.03, 0.07, 0.1, 0.3, 0.3, 0.2])
                    )
                    staff.append(self._new_worker(team, role, month, tenure=tenure))
        return staff

    # -- month to month ----------------------------------------------------

    def _turnover(self, staff: list[Worker], era: Era, month: int) -> list[Worker]:
        rng = self.rng
        kept = []
        for worker in staff:
            rate = MANAGER_LEAVE_RATE if worker.role == TM else LEAVE_RATE
            if month - worker.start >= 3 and rng.random() < rate:
                continue
            if rng.random() < 0.003:  # a change of hours (return from leave, flexible working)
                worker = replace(worker, fte=float(rng.choice(FTE_CHOICES, p=FTE_WEIGHTS)))
            kept.append(worker)
        return kept + self._hires(kept, era, month)

    def _hires(
        self, staff: list[Worker], era: Era, month: int, *, transfers: bool = False
    ) -> list[Worker]:
        """Appointments to open posts; transfers come from elsewhere in the council."""
        rng = self.rng
        balance = self.balance.get(month)
        gap = balance.gap(staff) if balance else 0.0
        hires = []
        for team, plan in era.teams.items():
            members = [w for w in staff if w.team == team]
            if not any(w.role == TM for w in members):
                hires.append(self._new_worker(team, TM, month, tenure=int(rng.integers(0, 2))))
            holding = sum(w.case_holding for w in members)
            open_posts = [
                role
                for role, posts in plan.posts.items()
                for _ in range(posts - sum(w.role == role for w in members))
            ][: max(0, sum(plan.posts.values()) - holding)]
            for role in open_posts:
                chance = balance.hire_rate(team, role, gap) if balance else HIRE_RATE
                # A team about to drop below a workable size recruits (or borrows) at once.
                if holding < MIN_TEAM or rng.random() < chance:
                    tenure = int(rng.integers(12, 60)) if transfers else 0
                    hires.append(self._new_worker(team, role, month, tenure=tenure))
                    holding += 1
                    gap += balance.effect(team, role) if balance else 0.0
        return hires

    def _restructure(self, staff: list[Worker], era: Era, month: int) -> list[Worker]:
        """Move everyone into the new structure; people with no post leave."""
        rng = self.rng
        unplaced = list(staff)
        placed: list[Worker] = []

        def place(worker: Worker, team: str) -> None:
            unplaced.remove(worker)
            moved = team != worker.team
            placed.append(replace(worker, team=team, previous_team=worker.team if moved else None))

        def pick(candidates: list[Worker], count: int) -> list[Worker]:
            order = rng.permutation(len(candidates))[:count]
            return [candidates[i] for i in sorted(order)]

        # A team that keeps its name keeps its people first, then new teams fill
        # their posts from the teams they replace, then the rest find any post.
        for team, plan in era.teams.items():
            for role, posts in {**plan.posts, TM: 1}.items():
                for worker in pick(
                    [w for w in unplaced if w.team == team and w.role == role], posts
                ):
                    place(worker, team)
        for team, plan in era.teams.items():
            for role, posts in {**plan.posts, TM: 1}.items():
                open_posts = max(0, posts - sum(w.team == team and w.role == role for w in placed))
                pool = [w for w in unplaced if w.team in plan.sources and w.role == role]
                for worker in pick(pool, open_posts):
                    place(worker, team)
        for worker in list(unplaced):
            for team, plan in era.teams.items():
                role_posts = {**plan.posts, TM: 1}.get(worker.role, 0)
                if sum(w.team == team and w.role == worker.role for w in placed) < role_posts:
                    place(worker, team)
                    break
        # Whoever is still unplaced takes voluntary redundancy. New teams appoint a
        # manager and fill posts with experienced staff moving in from other
        # services, so a new team starts with a caseload rather than empty.
        return placed + self._hires(placed, era, month, transfers=True)


def window_gap(rosters: dict[int, list[Worker]]) -> float:
    """The largest mean imbalance (see _Balance) over the windows that publish role averages."""
    worst = 0.0
    for audit in AUDITS:
        if audit.role_averages:
            balance = _Balance(audit.team_averages, audit.role_averages)
            months = range(parse_month(audit.first_month), parse_month(audit.last_month) + 1)
            gap = sum(balance.gap(rosters[m]) for m in months) / len(months)
            worst = max(worst, abs(gap))
    return worst
