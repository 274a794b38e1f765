"""`caseload lookup WORKER_ID`: with the department's key it prints the
worker's months; a wrong or missing key, an unknown id or a wrong --months is
refused plainly with the exit code documented in README (SPEC 8)."""

from __future__ import annotations

import pytest

from caseload_pipeline_tests.alerts_department import wid
from caseload_pipeline_tests.conftest import KEY, Project


@pytest.fixture
def alerts(alerts_project: Project) -> Project:
    """The loaded department; a test may change this copy's key."""
    return Project(alerts_project.root, alerts_project.key)


def test_with_the_key_prints_the_workers_months_newest_first(alerts):
    result = alerts.cli("lookup", wid("A4"))
    assert result.code == 0, result.text
    lines = result.out.splitlines()
    assert lines[0] == f"Worker {wid('A4')}: the last 4 month(s) held as a case-holding worker"
    rows = [line.split() for line in lines[2:6]]
    assert [r[0] for r in rows] == ["2022-09", "2022-08", "2022-06", "2022-05"]
    assert "Hospital Discharge Team" in lines[2] and "Review Team" in lines[5]
    # month, team..., role..., fte, cases, weighted, share of capacity, band
    assert rows[0][-5:] == ["1", "3", "30.0", "150%", "red"]
    assert lines[6] == ("In 2022-09: red for 4 loaded month(s) in a row, since 2022-05; "
                        "over green for 4, since 2022-05.")
    assert lines[7] == "Sustained overload: red for 3 months or more."


def test_months_limits_the_rows_and_the_id_is_trimmed(alerts):
    result = alerts.cli("lookup", f"  {wid('A2')} ", "--months", "2")
    assert result.code == 0, result.text
    rows = [line.split() for line in result.out.splitlines()[2:4]]
    assert [r[0] for r in rows] == ["2022-09", "2022-08"]
    assert rows[0][-5:] == ["0.5", "2", "12.0", "120%", "red"]  # half time: capacity 10


def test_an_unknown_id_exits_1_and_says_the_key_is_right(alerts):
    result = alerts.cli("lookup", "W404")
    assert result.code == 1, result.text
    assert result.err == ("caseload lookup: no worker W404 in any loaded month (the key is "
                          "the database's, so the id is unknown: check it against the staff "
                          "file)\n")
    assert result.out == ""


def test_a_team_manager_has_no_caseload_figures(alerts):
    result = alerts.cli("lookup", wid("A7"))
    assert result.code == 1, result.text
    assert "on the roster in 4 month(s) but never as a case-holding worker" in result.err


def test_a_wrong_key_exits_2_naming_the_key(alerts):
    result = alerts.cli("lookup", wid("A1"), CASELOAD_PSEUDONYM_KEY="not-the-department-key-42")
    assert result.code == 2, result.text
    assert "this pseudonym key is not the one the database was built with" in result.err
    assert "Traceback" not in result.text


def test_no_key_exits_2_and_never_creates_a_key_file(alerts):
    alerts.key = None
    assert not alerts.key_file.exists()
    result = alerts.cli("lookup", wid("A1"))
    assert result.code == 2, result.text
    assert result.err.startswith("caseload lookup: no pseudonym key: set CASELOAD_PSEUDONYM_KEY")
    assert str(alerts.key_file) in result.err
    assert not alerts.key_file.exists()


def test_a_key_file_works_like_the_variable(alerts):
    alerts.key = None
    alerts.key_file.parent.mkdir(parents=True, exist_ok=True)
    alerts.key_file.write_text(f"{KEY}\n")
    try:
        result = alerts.cli("lookup", wid("A1"), "--months", "1")
    finally:
        alerts.key_file.unlink()
    assert result.code == 0, result.text
    assert result.out.splitlines()[2].split()[0] == "2022-09"


@pytest.mark.parametrize("months", ["0", "-3"])
def test_months_must_be_positive(alerts, months):
    result = alerts.cli("lookup", wid("A1"), "--months", months)
    assert result.code == 2, result.text
    assert result.err == "caseload: --months must be 1 or more\n"


def test_no_database_exits_2(project: Project):
    result = project.cli("lookup", "W1")
    assert result.code == 2, result.text
    assert "no analysts' database at" in result.err
    assert not project.analyst_path.exists()
