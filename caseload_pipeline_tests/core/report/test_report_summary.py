"""The findings `caseload demo` prints, on a department loaded by the pipeline:
each audit's window and months loaded, averages by role and team (a published
baseline marked as such) and the change since the previous audit, in the
published audits' words. The 88-month demo checks them against the council's
own figures (test_demo_acceptance.py, marked slow)."""

from __future__ import annotations

import duckdb

from caseload_pipeline.core.report.summary import print_findings
from caseload_pipeline.core.settings import load_settings
from caseload_pipeline_tests.conftest import AUDIT_BASELINES, Project

# audit_project: 2022/23 known only from AUDIT_BASELINES (1.65 prints as 1.6,
# 1.02 as 1.0); 2023/24 loaded for May and June, July refused.
EXPECTED = """\
Caseload and workload audit 2022/23: May 2022 to June 2022 (0 of 2 months loaded)
  By role:
    Social worker average 1.5
  By team:
    Review Team average 1.6 (baseline)
    Hospital Team average 3.0 (baseline)
    Carers Team average 1.0 (baseline)

Caseload and workload audit 2023/24: May 2023 to July 2023 (2 of 3 months loaded)
  By role:
    Social worker average {Social worker}
    Occupational therapist average {Occupational therapist}
  By team:
    Review Team average {Review Team}
    Hospital Discharge Team average {Hospital Discharge Team}
    Carers Team average {Carers Team}
  Change since 2022/23:
    increased: Review Team 1.6 -> {Review Team}
    decreased: Hospital Discharge Team (was Hospital Team) 3.0 -> {Hospital Discharge Team}
    unchanged: Carers Team 1.0 -> {Carers Team}
"""


def test_findings_of_a_baseline_audit_and_a_loaded_one(audit_project: Project, capsys):
    assert ["2022/23", "team", "Review Team", "1.65"] in AUDIT_BASELINES
    with duckdb.connect(str(audit_project.analyst_path), read_only=True) as con:
        averages = dict(con.execute(
            "SELECT team, avg_caseload FROM audit_team_averages WHERE audit = '2023/24'"
            " UNION ALL SELECT role, avg_caseload FROM audit_role_averages"
            " WHERE audit = '2023/24'").fetchall())

    print_findings(load_settings(audit_project.env()))

    expected = EXPECTED
    for name, value in averages.items():
        expected = expected.replace("{" + name + "}", f"{value:.1f}")
    assert capsys.readouterr().out == expected
