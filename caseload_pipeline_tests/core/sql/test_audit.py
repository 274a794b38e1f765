"""Audit tables against a previous audit known only from its published figures
(audit_baselines.csv), compared through team lineage (SPEC 5).

Audit 2023/24 (May to July 2023; May and June loaded):
  Review Team              May 5/3, June 2  -> 11/6
  Hospital Discharge Team  May 2,   June 3  -> 2.5   (replaced Hospital Team, lineage)
  Carers Team              May -,   June 1  -> 1.0   (starts in June: 1 month covered)
Audit 2022/23 baselines: Hospital Team 3.0, Review Team 1.65, Carers Team 1.02.
"""

from __future__ import annotations

import duckdb
import pytest

from caseload_pipeline_tests.conftest import Project


def rows(project: Project, query: str) -> list[dict]:
    with duckdb.connect(str(project.analyst_path), read_only=True) as con:
        cursor = con.execute(query)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def approx(d: dict) -> dict:
    return {k: pytest.approx(v) if isinstance(v, float) else v for k, v in d.items()}


def test_audit_team_averages_from_months_and_from_baselines(audit_project):
    got = {(r.pop("audit"), r.pop("team")): r
           for r in rows(audit_project, "SELECT * FROM audit_team_averages")}
    baseline = dict(months_expected=2, months_covered=0, avg_caseload_per_fte=None,
                    avg_weighted_caseload=None, source="baseline")
    monthly = dict(months_expected=3, months_covered=2, source="monthly")
    assert got == {
        ("2022/23", "Hospital Team"): approx(baseline | dict(avg_caseload=3.0)),
        ("2022/23", "Review Team"): approx(baseline | dict(avg_caseload=1.65)),
        ("2022/23", "Carers Team"): approx(baseline | dict(avg_caseload=1.02)),
        ("2023/24", "Review Team"): approx(monthly | dict(
            avg_caseload=11 / 6, avg_caseload_per_fte=2.2,
            avg_weighted_caseload=(25 / 3 + 9) / 2)),
        ("2023/24", "Hospital Discharge Team"): approx(monthly | dict(
            avg_caseload=2.5, avg_caseload_per_fte=3.125, avg_weighted_caseload=16.5)),
        # C10: low complexity (2), unassessed risk (1), no travel (0)
        ("2023/24", "Carers Team"): approx(monthly | dict(
            months_covered=1, avg_caseload=1.0, avg_caseload_per_fte=1.0,
            avg_weighted_caseload=3.0)),
    }


def test_audit_role_averages(audit_project):
    got = {(r.pop("audit"), r.pop("role")): r
           for r in rows(audit_project, "SELECT * FROM audit_role_averages")}
    assert got == {
        ("2022/23", "Social worker"): approx(dict(
            months_expected=2, months_covered=0, avg_caseload=1.5, avg_caseload_per_fte=None,
            source="baseline")),
        # social workers: May W1-W3 (2.5 fte) 5 cases, June also W6 (3.5 fte) 7 cases
        ("2023/24", "Social worker"): approx(dict(
            months_expected=3, months_covered=2, avg_caseload=(5 / 3 + 7 / 4) / 2,
            avg_caseload_per_fte=2.0, source="monthly")),
        ("2023/24", "Occupational therapist"): approx(dict(
            months_expected=3, months_covered=2, avg_caseload=2.5,
            avg_caseload_per_fte=3.125, source="monthly")),
    }


def test_audit_comparison_through_lineage_with_a_baseline(audit_project):
    got = {r.pop("team"): r for r in rows(
        audit_project, "SELECT * FROM audit_comparison WHERE audit = '2023/24'")}
    common = dict(audit="2023/24", previous_audit="2022/23", previous_source="baseline")
    assert got == {
        "Hospital Discharge Team": approx(common | dict(
            previous_team="Hospital Team", avg_caseload=2.5, previous_avg_caseload=3.0,
            change=-0.5, pct_change=-100 / 6, direction="decreased")),
        "Review Team": approx(common | dict(
            previous_team="Review Team", avg_caseload=11 / 6, previous_avg_caseload=1.65,
            change=11 / 6 - 1.65, pct_change=100 * (11 / 6 - 1.65) / 1.65,
            direction="increased")),
        "Carers Team": approx(common | dict(
            previous_team="Carers Team", avg_caseload=1.0, previous_avg_caseload=1.02,
            change=-0.02, pct_change=-100 * 0.02 / 1.02, direction="unchanged")),
    }
    # the baseline-only audit has nothing before it
    assert rows(audit_project, "SELECT count(*) AS n FROM audit_comparison"
                               " WHERE audit = '2022/23'") == [{"n": 0}]
