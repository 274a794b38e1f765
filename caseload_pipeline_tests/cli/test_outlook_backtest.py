"""`caseload outlook-backtest` on the hand-made early-warning department.

Team utilisation by hand (alerts_department.py), Review Team: May 135/110,
June 114/90, August 105/90, September 88/90; Hospital Discharge Team (A4 alone
from August): 30/20 in August and September. July is not loaded, so the
projections into or from July are not scored. Naive errors:
  +1: May->June 0.0394, August->September -0.1889 and 0 (HDT): mean 0.0761
  +2: June->August -0.1: mean 0.1
  +3: May->August -0.0606, June->September -0.2889: mean 0.1747
With at most four months no team has a trend (six needed): every method is naive.
"""

from __future__ import annotations

from caseload_pipeline_tests.conftest import Project


def test_prints_the_mean_absolute_errors_worked_out_by_hand(alerts_project: Project):
    result = alerts_project.cli("outlook-backtest")
    assert result.code == 0, result.text
    lines = result.out.splitlines()
    assert lines[0] == ("Team utilisation, projected from every loaded month in turn "
                        "(2022-05 to 2022-09, 4 months, 2 teams).")
    assert lines[3].split() == ["naive", "7.61", "10.00", "17.47", "3"]
    assert lines[4].split() == ["trend", "7.61", "10.00", "17.47", "3"]
    assert lines[6].startswith("Shown in team_outlook: naive.")


def test_without_a_database_exits_2(project: Project):
    result = project.cli("outlook-backtest")
    assert result.code == 2, result.text
    assert "no analysts' database at" in result.err
