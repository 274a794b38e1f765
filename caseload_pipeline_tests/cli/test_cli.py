"""The `caseload` command's usage errors exit 2 with a plain message (SPEC 8),
and `caseload validate` reports files it cannot check by name."""

from __future__ import annotations

import pytest

from caseload_pipeline.core.months import last_complete_month
from caseload_pipeline_tests.conftest import Project

NEXT_MONTH = str(last_complete_month().next())

USAGE = [
    ("no months", ["materialize"], "give --month, --from and --to, or --all"),
    ("from only", ["materialize", "--from", "2022-05"], "give --month, --from and --to"),
    ("from after to", ["materialize", "--from", "2022-06", "--to", "2022-05"],
     "--from must not be after --to"),
    ("not a month", ["materialize", "--month", "2022-13"], "'2022-13' is not a month"),
    ("month and range", ["materialize", "--month", "2022-05", "--to", "2022-06"],
     "cannot be combined"),
    ("before the first month", ["materialize", "--month", "2022-04"],
     "months run from 2022-05"),
    ("not complete yet", ["materialize", "--month", NEXT_MONTH], "the last complete month"),
    ("all with no files", ["materialize", "--all"], "no monthly files"),
    ("unknown audit", ["report", "--audit", "1999/00"], "no audit '1999/00' in audits.yaml"),
]


@pytest.mark.parametrize(("args", "words"), [(a, w) for _, a, w in USAGE],
                         ids=[i for i, _, _ in USAGE])
def test_usage_errors_exit_2(project: Project, args, words):
    result = project.cli(*args)
    assert result.code == 2, result.text
    assert words in result.err, result.err
    assert result.err.startswith("caseload: ")
    assert "Traceback" not in result.text
    assert not project.analyst_path.exists()
    assert not project.working_path.exists()


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["validate"],
                                  ["materialize", "--month"], ["report"]],
                         ids=["nothing", "unknown command", "validate nothing",
                              "month without value", "report without audit"])
def test_argument_errors_exit_2(project: Project, args):
    result = project.cli(*args)
    assert result.code == 2, result.text
    assert "usage: caseload" in result.err
    assert "Traceback" not in result.text


def test_validate_names_files_it_cannot_check(project: Project, tmp_path):
    misnamed = tmp_path / "caseload June.csv"
    misnamed.write_text("case_id,worker_id\nC1,W1\n")
    missing = tmp_path / "staff_2022-06.csv"

    result = project.cli("validate", str(misnamed), str(missing))

    assert result.code == 1, result.text
    assert "ERROR: caseload June.csv: the file name must be like caseload_2023-06.csv" in result.out
    assert f"ERROR: staff_2022-06.csv: the file must exist: not found: {missing}" in result.out
    assert "2 file(s) checked: 2 blocking problem(s)" in result.out
