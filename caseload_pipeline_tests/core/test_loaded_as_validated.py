"""What validation accepted is what loads (issue 8, item 4).

Team names with a no-break space or a tab in or around them (as Excel exports
carry) are the names validation accepts, so every staff row must load and the
figures must be those of the clean names. And should a join ever drop a
validated row anyway (here: teams.csv loses a team between validation and the
load), the load is refused with a message naming the file and lines, and
nothing changes."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from caseload_pipeline.core.completeness import RowsNotLoaded, rows_not_loaded
from caseload_pipeline.core.load import load_validated
from caseload_pipeline.core.months import parse_month
from caseload_pipeline.core.reference import load_reference
from caseload_pipeline.core.settings import load_settings
from caseload_pipeline.core.staging import read_staged, stage_month
from caseload_pipeline.core.validate import validate_staged_months
from caseload_pipeline.core.warehouse import Warehouse
from caseload_pipeline_tests import department as dep
from caseload_pipeline_tests.conftest import (
    VOLATILE,
    Project,
    assert_same_tables,
    read_tables,
)

MAY = "2022-05"

# department.STAFF with the names: W1 and W3 in "Review\u00a0Team", W2 in
# "\tReview Team", W5 in "Hospital Discharge Team\t", W4 in "Review  Team\u2003"
ODD_STAFF = [
    ["W1", "Review\u00a0Team", "Social worker", "1", "yes", "no"],
    ["W2", "\tReview Team", "SW", "0.5", "yes", "yes"],
    ["W3", "Review\u00a0Team", "Social\u00a0worker", "1", "yes", "no"],
    ["W4", "Review  Team\u2003", "Team manager", "1", "no", "no"],
    ["W5", "Hospital Discharge Team\t", "OT", "0.8", "y", "n"],
]


def _odd_caseload(month: str) -> list[list]:
    rows = dep.caseload_rows(month)
    rows[0][3] = "Review\u00a0Team"
    rows[5][3] = "\tHDT"
    return rows


def test_names_with_no_break_spaces_and_tabs_load_every_row(project: Project):
    project.write_month(MAY, caseload=_odd_caseload(MAY), staff=ODD_STAFF)
    files = sorted(str(p) for p in project.incoming.iterdir())
    checked = project.cli("validate", *files)
    assert checked.code == 0 and "0 blocking problem(s)" in checked.out, checked.text

    result = project.materialize("--month", MAY)

    assert result.code == 0, result.text
    with duckdb.connect(str(project.analyst_path), read_only=True) as con:
        staff = con.execute("SELECT team, role, count(*) FROM staff GROUP BY ALL"
                            " ORDER BY ALL").fetchall()
        teams = con.execute("SELECT team, workers, cases FROM team_monthly ORDER BY team"
                            ).fetchall()
        allocations = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE rostered),"
            " count(DISTINCT case_system_team) FROM allocations").fetchone()
    assert staff == [("Hospital Discharge Team", "Occupational therapist", 1),
                     ("Review Team", "Social worker", 3), ("Review Team", "Team manager", 1)]
    # the figures of department.py's clean names (test_metrics.py): nothing vanished
    assert teams == [("Hospital Discharge Team", 1, 2), ("Review Team", 3, 5)]
    assert allocations == (8, 7, 2)


@pytest.fixture
def staged_may(project: Project):
    """May loaded, then staged and validated again from the same files."""
    project.write_month(MAY)
    assert project.materialize("--month", MAY).code == 0
    settings = load_settings(project.env())
    reference = load_reference(settings.reference_dir)
    month = parse_month(MAY)
    stage_month(settings, month, "run-1")  # run-1's own staging, as a run's
    with Warehouse(settings).connect(reference) as con:
        [staged] = validate_staged_months(con, settings, reference, [month], "run-1")
    assert not staged.blocking
    return settings, reference, month


def test_a_load_that_would_drop_validated_rows_is_refused(staged_may):
    settings, reference, month = staged_may
    # teams.csv loses the Hospital Discharge Team between validation and the load
    edited = dataclasses.replace(reference, team_aliases={
        k: v for k, v in reference.team_aliases.items() if v != "Hospital Discharge Team"})
    warehouse = Warehouse(settings)
    before = read_tables(settings.working_db_path, exclude_tables=("data_quality",))

    with warehouse.connect(edited) as con:
        con.execute("BEGIN TRANSACTION")  # the caller's (core/update.py), as in a run
        with pytest.raises(RowsNotLoaded) as refused:
            load_validated(con, settings, [month], "run-1")
        con.execute("ROLLBACK")

    # W5 (line 6 of the staff file) had the team the load could no longer resolve
    assert str(refused.value) == ("staff_2022-05.csv: every validated row must be loaded into"
                                  " staff: 1 row, line 6, 5 rows validated, 4 loaded")
    assert_same_tables(before, read_tables(settings.working_db_path,
                                           exclude_tables=("data_quality",)))


@pytest.mark.slow  # a whole run; the load-level tests here stay in the fast loop
def test_a_run_refuses_a_month_whose_rows_a_join_drops(project: Project, monkeypatch):
    """The same refusal in a run: should the staging SQL ever drop validated rows (here
    it is made to, by a filter added to stg_staff.sql), the month is refused by the
    completeness check of `staff`, stored in data_quality, and nothing changes."""
    from dagster import AssetCheckKey, AssetKey, DagsterInstance

    from caseload_pipeline.core import load

    project.write_month(MAY)
    assert project.materialize("--month", MAY).code == 0
    before = read_tables(project.analyst_path, exclude_tables=("data_quality",),
                         exclude_columns=VOLATILE)
    original = load.sql

    def dropping(name: str) -> str:
        text = original(name)
        if name == "staging/stg_staff":
            return f"SELECT * FROM ({text}) WHERE team <> 'Hospital Discharge Team'"
        return text

    monkeypatch.setattr(load, "sql", dropping)
    result = project.materialize("--month", MAY)

    message = ("staff_2022-05.csv: every validated row must be loaded into staff: 1 row,"
               " line 6, 5 rows validated, 4 loaded")
    assert result.code == 1, result.text
    assert message in result.lines
    assert_same_tables(before, read_tables(project.analyst_path,
                                           exclude_tables=("data_quality",),
                                           exclude_columns=VOLATILE))
    with duckdb.connect(str(project.analyst_path), read_only=True) as con:
        stored = con.execute("SELECT message FROM data_quality WHERE NOT passed"
                             " AND severity = 'error'").fetchall()
    assert stored == [(message,)]
    instance = DagsterInstance.from_config(str(project.root / "dagster_home"))
    try:
        check = instance.get_latest_asset_check_evaluation_record(
            AssetCheckKey(AssetKey("staff"), "holds_every_validated_row"))
        evaluation = check.event.dagster_event.event_specific_data
        assert evaluation.passed is False and evaluation.blocking
        assert evaluation.description == message
    finally:
        instance.dispose()


def test_rows_not_loaded_counts_each_table_per_month(staged_may):
    settings, reference, month = staged_may
    staged = read_staged(settings, month, "run-1")
    with Warehouse(settings).connect(reference) as con:
        assert rows_not_loaded(con, [staged]) == []
        con.execute("DELETE FROM allocations WHERE month = ? AND case_key IN"
                    " (SELECT pseudonym(unnest(['C2', 'C5'])))", [month.first_day])
        con.execute("INSERT INTO staff SELECT * FROM staff WHERE month = ?", [month.first_day])
        found = [f.message for f in rows_not_loaded(con, [staged])]
    assert found == [
        "staff_2022-05.csv: every validated row must be loaded into staff: "
        "5 rows validated, 10 loaded: a name or id matched more than once",
        "caseload_2022-05.csv: every validated row must be loaded into allocations: "
        "2 rows, lines 3, 7, 8 rows validated, 6 loaded",
    ]
