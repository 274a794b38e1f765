"""The metric SQL (SPEC 5) on the hand-made department, against figures worked
out by hand from department.py.

Weights (weights.yaml): complexity low 2 / medium 3 / high 5, risk low 0 /
medium 1 / high 2, unassessed = medium, travel points = min(3, floor(min / 30)).

May (caseload_rows):            points
  C1 W1 low,low,0          2 + 0 + 0 =  2
  C2 W1 high,high,95       5 + 2 + 3 = 10
  C3 W1 -,-,-              3 + 1 + 0 =  4   (unassessed = medium, no travel)
  C3 W2 medium,medium,30   3 + 1 + 1 =  5   (co-allocated: once for each worker)
  C4 W2 MEDIUM,Low,45      3 + 0 + 1 =  4
  C5 W5 high,medium,200    5 + 1 + 3 =  9   (travel capped at 3)
  C6 W5 low,-,10           2 + 1 + 0 =  3
  C7 W9 low,low,0          2 + 0 + 0 =  2   (W9 is not on the roster)
Capacity: W1 SW 20 x 1 = 20; W2 SW 20 x 0.5 x 0.9 (protected) = 9; W3 20;
W5 OT 25 x 0.8 = 20; W4 is a team manager who holds no cases.

June (reassignment_rows): C1 moves to W3 (reassigned), W2 takes C8 (low,low,0: 2),
W5 takes C9 (high,high,60: 5 + 2 + 2 = 9).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import duckdb
import pytest

from caseload_pipeline_tests.conftest import KEY, TwoMonths

MAY, JUNE = dt.date(2022, 5, 1), dt.date(2022, 6, 1)


def key(raw: str) -> str:
    return hmac.new(KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()


def rows(two_months: TwoMonths, query: str, params=()) -> list[dict]:
    with duckdb.connect(str(two_months.project.analyst_path), read_only=True) as con:
        cursor = con.execute(query, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def by(rows_: list[dict], column: str) -> dict:
    return {r.pop(column): r for r in rows_}


def approx(d: dict) -> dict:
    return {k: pytest.approx(v) if isinstance(v, float) else v for k, v in d.items()}


def test_case_weights(two_months):
    weights = {
        (r["case_key"], r["worker_key"]): r["case_weight"]
        for r in rows(two_months, "SELECT case_key, worker_key, case_weight FROM allocations"
                                  " WHERE month = ?", [MAY])
    }
    expected = {("C1", "W1"): 2, ("C2", "W1"): 10, ("C3", "W1"): 4, ("C3", "W2"): 5,
                ("C4", "W2"): 4, ("C5", "W5"): 9, ("C6", "W5"): 3, ("C7", "W9"): 2}
    assert weights == {(key(c), key(w)): float(p) for (c, w), p in expected.items()}


@pytest.mark.parametrize(("month", "expected"), [
    (MAY, {
        "W1": dict(team="Review Team", role="Social worker", fte=1.0, cases=3,
                   weighted_caseload=16.0, capacity_points=20.0, utilisation=0.8, band="green"),
        "W2": dict(team="Review Team", role="Social worker", fte=0.5, cases=2,
                   weighted_caseload=9.0, capacity_points=9.0, utilisation=1.0, band="green"),
        "W3": dict(team="Review Team", role="Social worker", fte=1.0, cases=0,
                   weighted_caseload=0.0, capacity_points=20.0, utilisation=0.0, band="green"),
        "W5": dict(team="Hospital Discharge Team", role="Occupational therapist", fte=0.8,
                   cases=2, weighted_caseload=12.0, capacity_points=20.0, utilisation=0.6,
                   band="green"),
    }),
    (JUNE, {
        "W1": dict(team="Review Team", role="Social worker", fte=1.0, cases=2,
                   weighted_caseload=14.0, capacity_points=20.0, utilisation=0.7, band="green"),
        "W2": dict(team="Review Team", role="Social worker", fte=0.5, cases=3,
                   weighted_caseload=11.0, capacity_points=9.0, utilisation=11 / 9, band="red"),
        "W3": dict(team="Review Team", role="Social worker", fte=1.0, cases=1,
                   weighted_caseload=2.0, capacity_points=20.0, utilisation=0.1, band="green"),
        "W5": dict(team="Hospital Discharge Team", role="Occupational therapist", fte=0.8,
                   cases=3, weighted_caseload=21.0, capacity_points=20.0, utilisation=1.05,
                   band="amber"),
    }),
])
def test_worker_monthly(two_months, month, expected):
    got = by(rows(two_months, "SELECT * EXCLUDE (month) FROM worker_monthly WHERE month = ?",
                  [month]), "worker_key")
    # W4 holds no cases (not case-holding) and W9 is not on the roster: neither has a row
    assert got == {key(w): approx(v) for w, v in expected.items()}


@pytest.mark.parametrize(("month", "expected"), [
    (MAY, {
        "Review Team": dict(workers=3, fte=2.5, cases=5, avg_caseload=5 / 3,
                            avg_caseload_per_fte=2.0, avg_weighted_caseload=25 / 3,
                            median_caseload=2.0, max_caseload=3, reassigned_cases=0,
                            reassignment_rate=0.0),
        "Hospital Discharge Team": dict(workers=1, fte=0.8, cases=2, avg_caseload=2.0,
                                        avg_caseload_per_fte=2.5, avg_weighted_caseload=12.0,
                                        median_caseload=2.0, max_caseload=2,
                                        reassigned_cases=0, reassignment_rate=0.0),
    }),
    (JUNE, {
        "Review Team": dict(workers=3, fte=2.5, cases=6, avg_caseload=2.0,
                            avg_caseload_per_fte=2.4, avg_weighted_caseload=9.0,
                            median_caseload=2.0, max_caseload=3, reassigned_cases=1,
                            reassignment_rate=1 / 6),
        "Hospital Discharge Team": dict(workers=1, fte=0.8, cases=3, avg_caseload=3.0,
                                        avg_caseload_per_fte=3.75, avg_weighted_caseload=21.0,
                                        median_caseload=3.0, max_caseload=3,
                                        reassigned_cases=0, reassignment_rate=0.0),
    }),
])
def test_team_monthly(two_months, month, expected):
    got = by(rows(two_months, "SELECT * EXCLUDE (month) FROM team_monthly WHERE month = ?",
                  [month]), "team")
    assert got == {t: approx(v) for t, v in expected.items()}


@pytest.mark.parametrize(("month", "expected"), [
    (MAY, {"Social worker": dict(workers=3, fte=2.5, cases=5, avg_caseload=5 / 3,
                                 avg_caseload_per_fte=2.0),
           "Occupational therapist": dict(workers=1, fte=0.8, cases=2, avg_caseload=2.0,
                                          avg_caseload_per_fte=2.5)}),
    (JUNE, {"Social worker": dict(workers=3, fte=2.5, cases=6, avg_caseload=2.0,
                                  avg_caseload_per_fte=2.4),
            "Occupational therapist": dict(workers=1, fte=0.8, cases=3, avg_caseload=3.0,
                                           avg_caseload_per_fte=3.75)}),
])
def test_role_monthly(two_months, month, expected):
    got = by(rows(two_months, "SELECT * EXCLUDE (month) FROM role_monthly WHERE month = ?",
                  [month]), "role")
    # the team manager holds no cases, so there is no row for the role
    assert got == {r: approx(v) for r, v in expected.items()}


def test_unrostered_allocation_is_kept_but_not_averaged(two_months):
    got = rows(two_months, "SELECT month, team, role, rostered, case_system_team, case_weight"
                           " FROM allocations WHERE worker_key = ? ORDER BY month",
               [key("W9")])
    assert got == [
        dict(month=m, team="Review Team", role=None, rostered=False,
             case_system_team="Review Team", case_weight=2.0) for m in (MAY, JUNE)
    ]
    assert rows(two_months, "SELECT count(*) AS n FROM allocations WHERE rostered")[0]["n"] == 16
    assert rows(two_months, "SELECT count(*) AS n FROM worker_monthly WHERE worker_key = ?",
                [key("W9")])[0]["n"] == 0


def test_reassignment_flags(two_months):
    got = rows(two_months, "SELECT month, case_key, worker_key, reassignment_reason"
                           " FROM allocations WHERE reassigned")
    assert got == [dict(month=JUNE, case_key=key("C1"), worker_key=key("W3"),
                        reassignment_reason="MANAGE")]
    # new cases (C8, C9) and the co-allocation that stayed (C3) are not reassignments
    assert rows(two_months, "SELECT count(*) AS n FROM allocations WHERE month = ?",
                [JUNE])[0]["n"] == 10


def test_audit_team_averages_are_the_mean_of_monthly_averages(two_months):
    got = by(rows(two_months, "SELECT * EXCLUDE (audit) FROM audit_team_averages"
                              " WHERE audit = '2022/23'"), "team")
    assert got == {
        "Review Team": approx(dict(months_expected=2, months_covered=2,
                                   avg_caseload=(5 / 3 + 2) / 2,
                                   avg_caseload_per_fte=(2.0 + 2.4) / 2,
                                   avg_weighted_caseload=(25 / 3 + 9) / 2, source="monthly")),
        "Hospital Discharge Team": approx(dict(months_expected=2, months_covered=2,
                                               avg_caseload=2.5, avg_caseload_per_fte=3.125,
                                               avg_weighted_caseload=16.5, source="monthly")),
    }
    # the 2023/24 window has no month loaded and no baseline: no rows, no comparison
    assert rows(two_months, "SELECT count(*) AS n FROM audit_team_averages"
                            " WHERE audit = '2023/24'")[0]["n"] == 0
    assert rows(two_months, "SELECT count(*) AS n FROM audit_comparison")[0]["n"] == 0


def test_audit_role_averages(two_months):
    got = by(rows(two_months, "SELECT * EXCLUDE (audit) FROM audit_role_averages"
                              " WHERE audit = '2022/23'"), "role")
    assert got == {
        "Social worker": approx(dict(months_expected=2, months_covered=2,
                                     avg_caseload=(5 / 3 + 2) / 2, avg_caseload_per_fte=2.2,
                                     source="monthly")),
        "Occupational therapist": approx(dict(months_expected=2, months_covered=2,
                                              avg_caseload=2.5, avg_caseload_per_fte=3.125,
                                              source="monthly")),
    }
