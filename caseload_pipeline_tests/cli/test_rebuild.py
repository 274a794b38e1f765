"""A damaged working database (issue 8, points 2 and 7) gets a plain message
naming the file and the way back, and `caseload rebuild` is that way: from the
analysts' copy, or from the files in incoming/."""

from __future__ import annotations

import pytest

from caseload_pipeline_tests import department as dep
from caseload_pipeline_tests.conftest import (
    VOLATILE,
    Project,
    assert_same_tables,
    new_project,
    read_tables,
)

ROW_COUNT_RULE = "the row count should be within 50 %"


@pytest.fixture
def damaged(tmp_path) -> tuple[Project, dict]:
    """May and June loaded, then the working database cut short (a full disk or a
    copy that stopped half way does that)."""
    project = new_project(tmp_path)
    project.write_month("2022-05")
    project.write_month("2022-06", caseload=dep.reassignment_rows("2022-06"))
    for month in ("2022-05", "2022-06"):
        assert project.materialize("--month", month).code == 0
    before = read_tables(project.analyst_path, exclude_columns=VOLATILE)
    with project.working_path.open("r+b") as f:
        f.truncate(project.working_path.stat().st_size // 2)
    return project, before


def test_a_damaged_working_database_gets_a_plain_message_naming_the_way_back(damaged):
    project, before = damaged
    project.write_month("2022-07")

    result = project.materialize("--month", "2022-07")

    assert result.code == 1, result.text
    assert f"The pipeline's working database {project.working_path} is damaged" in result.err
    assert "caseload rebuild" in result.err and "--from-files" in result.err
    assert "Traceback" not in result.text
    # the analysts' copy is untouched
    assert_same_tables(before, read_tables(project.analyst_path, exclude_columns=VOLATILE))


def test_rebuild_from_the_analysts_copy(damaged):
    project, before = damaged
    project.write_month("2022-06", caseload=dep.caseload_rows("2022-06"))  # changed since

    result = project.cli("rebuild")

    assert result.code == 0, result.text
    assert "Rebuilt" in result.err and "2 month(s)" in result.err
    assert "2022-06 are not what it holds" in result.err  # June's file changed since
    aside = list(project.working_path.parent.glob("working.duckdb.damaged-*"))
    assert len(aside) == 1 and str(aside[0]) in result.err  # kept, not deleted
    assert_same_tables(before, read_tables(project.working_path, exclude_columns=VOLATILE))
    # and runs go on from it
    project.write_month("2022-07")
    assert project.materialize("--month", "2022-07").code == 0
    months = read_tables(project.analyst_path)["team_monthly"]["month"].astype(str)
    assert sorted(set(months)) == ["2022-05-01", "2022-06-01", "2022-07-01"]


@pytest.mark.slow  # loads the month a second time, from the files
def test_rebuild_from_the_files(damaged):
    project, before = damaged

    result = project.cli("rebuild", "--from-files")

    assert result.code == 0, result.text
    after = read_tables(project.analyst_path, exclude_columns=VOLATILE)
    # The months loaded in one run rather than one by one: June's row count was
    # not compared with May's (the rule compares with load_log before the run).
    for tables in (before, after):
        quality = tables["data_quality"]
        tables["data_quality"] = quality[~quality["rule"].str.startswith(ROW_COUNT_RULE)
                                         ].reset_index(drop=True)
    assert_same_tables(before, after)


def test_rebuild_without_an_analysts_copy_says_what_to_do(damaged):
    project, _ = damaged
    project.analyst_path.unlink()

    result = project.cli("rebuild")

    assert result.code == 1, result.text
    assert "rebuild --from-files" in result.err and "Traceback" not in result.text
