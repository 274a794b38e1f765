"""How many allocations each worker holds each month.

A team's monthly average caseload follows a smooth path through the published
audit figures (linear between audits, seasonal winter pressure on hospital
teams, a little month-to-month noise). Inside an audit window the cell totals
(team x role x month) are then calibrated so that the mean over the window of
cases / workers equals every published team figure and, for 2024/25, every
published role figure: first continuously (iterative proportional fitting),
then in whole cases by a small greedy search.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from .department import (
    AUDITS,
    ERAS,
    EXTRA_LEVELS,
    HOSPITAL,
    LINEAGE,
    ROLE_BY_NAME,
    TEAM_BY_NAME,
    Audit,
)
from .months import calendar_month, parse_month
from .roster import Worker

MAX_CASES = 55  # per worker; the contract warns above 60
TOLERANCE = 0.02  # the published figures are to one decimal: stay well inside rounding


class CalibrationError(RuntimeError):
    """The roster drawn cannot carry the published figures; draw another."""


Cell = tuple[int, str, str]  # (month, team, role)


@dataclass(frozen=True)
class Plan:
    targets: dict[int, dict[str, int]]  # month -> worker_id -> allocations held
    cell_average: dict[Cell, float]  # planned cases per case-holding worker


def build_plan(rosters: dict[int, list[Worker]], seed: np.random.SeedSequence) -> Plan:
    # Two streams, each drawn month by month, so the months already generated
    # never change when the history is generated further ahead.
    level_rng, worker_rng = (np.random.default_rng(s) for s in seed.spawn(2))
    months = sorted(rosters)
    counts = {m: _cell_counts(rosters[m], m) for m in months}
    raw = _raw_totals(counts, level_rng)
    totals = {cell: round(value) for cell, value in raw.items()}
    for audit in AUDITS:
        first, last = parse_month(audit.first_month), parse_month(audit.last_month)
        if first in rosters and last in rosters:
            window = {cell: value for cell, value in raw.items() if first <= cell[0] <= last}
            totals.update(_calibrate(audit, window, counts))
    targets = {m: _worker_targets(rosters[m], m, totals, worker_rng) for m in months}
    average = {cell: totals[cell] / counts[cell[0]][cell[1:]][0] for cell in totals}
    return Plan(targets, average)


def _cell_counts(staff: list[Worker], month: int) -> dict[tuple[str, str], tuple[int, int]]:
    """(team, role) -> (case-holding workers, of whom in post before this month)."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for worker in staff:
        if worker.case_holding:
            entry = counts[(worker.team, worker.role)]
            entry[0] += 1
            entry[1] += worker.start < month
    return {key: (n, eligible) for key, (n, eligible) in counts.items()}


# -- the smooth path -------------------------------------------------------


def _lines() -> dict[str, list[tuple[int, float]]]:
    """Level anchors per team; teams linked by lineage share one line."""
    parent = {name: name for name in TEAM_BY_NAME}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    for team, predecessor, _ in LINEAGE:
        parent[root(team)] = root(predecessor)
    anchors: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for audit in AUDITS:
        for team, value in audit.team_averages.items():
            anchors[root(team)] += [
                (parse_month(audit.first_month), value),
                (parse_month(audit.last_month), value),
            ]
    for team, points in EXTRA_LEVELS.items():
        anchors[root(team)] += [(parse_month(month), value) for month, value in points]
    return {name: sorted(anchors[root(name)]) for name in TEAM_BY_NAME}


LINES = _lines()


def team_level(team: str, month: int) -> float:
    points = LINES[team]
    return float(np.interp(month, [p[0] for p in points], [p[1] for p in points]))


def _role_shares() -> dict[int, dict[tuple[str, str], float]]:
    """Per structure, each role's caseload relative to its team's average.

    By default a role's load factor. Where an audit publishes role averages as
    well, the shares are fitted on the structure's establishment so that team
    and role averages agree, which keeps the window calibration small and the
    months either side of the window on the same footing as the window.
    """
    shares: dict[int, dict[tuple[str, str], float]] = {}
    for era in ERAS:
        cells = [(t, r, n) for t, plan in era.teams.items() for r, n in plan.posts.items()]
        share = {(t, r): ROLE_BY_NAME[r].load_factor for t, r, _ in cells}
        audit = next(
            (a for a in AUDITS if a.role_averages and set(a.team_averages) == set(era.teams)), None
        )
        if audit:
            value = {(t, r): audit.team_averages[t] * share[(t, r)] for t, r, _ in cells}
            for _ in range(200):
                for group, target in (*audit.team_averages.items(), *audit.role_averages.items()):
                    members = [(t, r, n) for t, r, n in cells if group in (t, r)]
                    mean = sum(value[(t, r)] * n for t, r, n in members) / sum(
                        n for *_, n in members
                    )
                    for t, r, _ in members:
                        value[(t, r)] *= target / mean
            share = {(t, r): value[(t, r)] / audit.team_averages[t] for t, r, _ in cells}
        shares[parse_month(era.start)] = share
    return shares


ROLE_SHARES = _role_shares()


def _shares_at(month: int) -> dict[tuple[str, str], float]:
    return ROLE_SHARES[max(m for m in ROLE_SHARES if m <= month)]


def _raw_totals(counts, rng: np.random.Generator) -> dict[Cell, float]:
    noise = dict.fromkeys(TEAM_BY_NAME, 0.0)
    raw: dict[Cell, float] = {}
    for month in sorted(counts):
        # Drawn for every team every month, so a month's figures never depend
        # on how far ahead the history is generated.
        for team in TEAM_BY_NAME:
            noise[team] = 0.6 * noise[team] + rng.normal(0.0, 0.03)
        shares = _shares_at(month)
        by_team: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
        for (team, role), value in counts[month].items():
            by_team[team][role] = value
        for team, roles in by_team.items():
            level = team_level(team, month) * (1 + noise[team])
            if TEAM_BY_NAME[team].service_area == HOSPITAL:
                level *= 1 + 0.05 * math.cos(2 * math.pi * (calendar_month(month) - 1) / 12)
            share = {r: shares.get((team, r), ROLE_BY_NAME[r].load_factor) for r in roles}
            workers = sum(n for n, _ in roles.values())
            mean_share = sum(share[r] * n for r, (n, _) in roles.items()) / workers
            for role, (n, eligible) in roles.items():
                # A cell's new starters hold nothing yet, so the others carry the
                # cell's work, up to a safe ceiling.
                expected = level * share[role] / mean_share * n
                raw[(month, team, role)] = min(expected, 0.85 * MAX_CASES * eligible)
    return raw


# -- audit calibration -----------------------------------------------------


def _calibrate(audit: Audit, window: dict[Cell, float], counts) -> dict[Cell, int]:
    cells = sorted(window)
    teams = sorted({team for _, team, _ in cells})
    if teams != sorted(audit.team_averages):
        raise CalibrationError(f"{audit.name}: teams on the roster {teams} differ from the audit")
    roles = sorted({role for _, _, role in cells})
    team_ix = np.array([teams.index(t) for _, t, _ in cells])
    role_ix = np.array([roles.index(r) for _, _, r in cells])
    team_workers, role_workers = defaultdict(int), defaultdict(int)
    for month, team, role in cells:
        n = counts[month][(team, role)][0]
        team_workers[(month, team)] += n
        role_workers[(month, role)] += n
    # SPEC 5 averages over the months in which the team (role) has workers.
    team_months = Counter(team for _, team in team_workers)
    role_months = Counter(role for _, role in role_workers)
    # Coefficients turning a cell total into its share of the window mean.
    a = np.array([1 / (team_workers[(m, t)] * team_months[t]) for m, t, _ in cells])
    has_role_target = np.array([r in audit.role_averages for _, _, r in cells])
    b = np.array([1 / (role_workers[(m, r)] * role_months[r]) for m, _, r in cells])
    b = b * has_role_target
    team_target = np.array([audit.team_averages[t] for t in teams])
    role_target = np.array([audit.role_averages.get(r, 0.0) for r in roles])
    hi = np.array([MAX_CASES * counts[m][(t, r)][1] for m, t, r in cells], dtype=float)

    # Iterative proportional fitting: scale each team, then each role with a
    # published figure, until both sets of means sit on their targets.
    x = np.array([window[c] for c in cells])
    for _ in range(500):
        x *= (team_target / np.bincount(team_ix, a * x))[team_ix]
        role_mean = np.bincount(role_ix, b * x, minlength=len(roles))
        fitted = role_target > 0
        role_scale = np.ones(len(roles))
        role_scale[fitted] = role_target[fitted] / role_mean[fitted]
        x = np.minimum(x * role_scale[role_ix], hi)
    whole = _round_to_targets(x, hi, a, b, team_ix, role_ix, team_target, role_target)

    team_error = np.bincount(team_ix, a * whole) - team_target
    role_error = np.bincount(role_ix, b * whole, minlength=len(roles)) - role_target
    role_error = role_error * (role_target > 0)
    worst = max(np.abs(team_error).max(), np.abs(role_error).max())
    if worst > TOLERANCE:
        raise CalibrationError(
            f"{audit.name}: calibration missed a published figure by {worst:.3f}"
        )
    return {cell: int(v) for cell, v in zip(cells, whole, strict=True)}


def _round_to_targets(x, hi, a, b, team_ix, role_ix, team_target, role_target) -> np.ndarray:
    """Whole cases near x whose window means sit on the targets.

    Greedy descent on the squared errors with two kinds of step: one case more
    or fewer in a cell, or one case moved between two cells of the same team
    (which keeps the team total and moves its mean by a fraction of a case).
    A small penalty on straying from x spreads the steps over many cells
    rather than piling them into the smallest one.
    """
    c = np.round(x)
    has_role = role_target > 0
    penalty = 2e-5

    def stray(i, step):
        return penalty * (2 * step * (c[i] - x[i]) + 1)

    for _ in range(3000):
        e_team = (np.bincount(team_ix, a * c, minlength=len(team_target)) - team_target)[team_ix]
        e_role = np.bincount(role_ix, b * c, minlength=len(role_target)) - role_target
        e_role = (e_role * has_role)[role_ix]
        if max(np.abs(e_team).max(), np.abs(e_role).max()) < 0.004:
            break
        best_gain, best_move = -1e-12, None
        for step in (1, -1):
            allowed = (c + step >= 0) & (c + step <= hi)
            gain = (e_team + step * a) ** 2 - e_team**2 + (e_role + step * b) ** 2 - e_role**2
            gain = np.where(allowed, gain + stray(slice(None), step), np.inf)
            i = int(np.argmin(gain))
            if gain[i] < best_gain:
                best_gain, best_move = gain[i], ((i, step),)
        for team in range(len(team_target)):
            idx = np.flatnonzero(team_ix == team)
            up, down = idx[c[idx] + 1 <= hi[idx]], idx[c[idx] >= 1]
            if not len(up) or not len(down):
                continue
            et = e_team[up[0]]
            gain = (et + a[up][:, None] - a[down][None, :]) ** 2 - et**2
            er_up, er_down = e_role[up][:, None], e_role[down][None, :]
            bu, bd = b[up][:, None], b[down][None, :]
            same_role = role_ix[up][:, None] == role_ix[down][None, :]
            gain += np.where(
                same_role,
                (er_up + bu - bd) ** 2 - er_up**2,
                (er_up + bu) ** 2 - er_up**2 + (er_down - bd) ** 2 - er_down**2,
            )
            gain += stray(up, 1)[:, None] + stray(down, -1)[None, :]
            gain[up[:, None] == down[None, :]] = np.inf
            i, j = np.unravel_index(int(np.argmin(gain)), gain.shape)
            if gain[i, j] < best_gain:
                best_gain, best_move = gain[i, j], ((up[i], 1), (down[j], -1))
        if best_move is None:
            break
        for i, step in best_move:
            c[i] += step
    return c


# -- from cell totals to workers -------------------------------------------


def _worker_targets(staff: list[Worker], month: int, totals, rng) -> dict[str, int]:
    targets: dict[str, int] = {}
    members: dict[tuple[str, str], list[tuple[Worker, float]]] = defaultdict(list)
    for worker in staff:
        if not worker.case_holding:
            continue
        jitter = float(np.exp(rng.normal(0.0, 0.06)))
        tenure = month - worker.start
        if tenure == 0:
            weight = 0.0  # a new starter holds no cases in the first month
        else:
            weight = worker.fte * worker.load * jitter
            weight *= 0.7 if worker.protected(month) else 1.0
            weight *= 0.55 if tenure == 1 else 1.0
        members[(worker.team, worker.role)].append((worker, weight))
    for (team, role), group in members.items():
        shares = _split(totals[(month, team, role)], [w for _, w in group])
        targets.update({worker.worker_id: k for (worker, _), k in zip(group, shares, strict=True)})
    return targets


def _split(total: int, weights: list[float]) -> list[int]:
    """Share total out in proportion to weights, none above MAX_CASES (largest remainder)."""
    result = [0] * len(weights)
    open_ix = [i for i, w in enumerate(weights) if w > 0]
    remaining = total
    while remaining and open_ix:
        weight_sum = sum(weights[i] for i in open_ix)
        exact = {i: remaining * weights[i] / weight_sum for i in open_ix}
        over = [i for i in open_ix if result[i] + exact[i] > MAX_CASES]
        if over:
            for i in over:
                remaining -= MAX_CASES - result[i]
                result[i] = MAX_CASES
            open_ix = [i for i in open_ix if i not in over]
            continue
        floors = {i: math.floor(exact[i]) for i in open_ix}
        left = remaining - sum(floors.values())
        by_remainder = sorted(open_ix, key=lambda i: (floors[i] - exact[i], i))
        for rank, i in enumerate(by_remainder):
            result[i] += floors[i] + (1 if rank < left else 0)
        remaining = 0
    if remaining:
        raise RuntimeError("more cases planned than the team's workers can hold")
    return result
