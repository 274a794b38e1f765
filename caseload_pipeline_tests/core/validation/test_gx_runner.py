"""Great Expectations' error path: an expectation that cannot run is a blocking
failure carrying its error text, never a silent pass."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from caseload_pipeline.core.extract import ExtractedFile
from caseload_pipeline.core.findings import ERROR
from caseload_pipeline.core.validation import gx_runner
from caseload_pipeline.core.validation.rules import Rule
from caseload_pipeline.core.validation.suites import run_file_rules

FRAME = pd.DataFrame({"case_id": ["C1", "C2", None], "worker_id": ["W1", "W1", "W2"]},
                     index=pd.Index([2, 3, 4]))


def test_an_erroring_expectation_reports_its_error():
    gxe = gx_runner.expectations()
    suite = [
        gxe.ExpectColumnValuesToNotBeNull(column="no_such_column", meta={"rule_id": "0"}),
        gxe.ExpectColumnValuesToNotBeNull(column="worker_id", meta={"rule_id": "1"}),
        gxe.ExpectColumnValuesToNotBeNull(column="case_id", meta={"rule_id": "2"}),
    ]
    broken, fine, failing = gx_runner.run_suite("caseload", FRAME, suite)

    assert broken.success is False
    error = gx_runner.error_of(broken)
    assert error is not None and "no_such_column" in error
    # the others ran normally, in the order given
    assert fine.success is True and gx_runner.error_of(fine) is None
    assert failing.success is False and gx_runner.error_of(failing) is None
    assert failing.result["unexpected_index_list"] == [4]


def test_an_erroring_rule_becomes_a_blocking_finding_with_the_error_text():
    file = ExtractedFile(path=Path("caseload_2022-06.csv"), kind="caseload", frame=FRAME)
    rules = [
        # a warning-level rule whose check cannot run is still blocking
        Rule("travel must be known", "travel_minutes", "ExpectColumnValuesToBeBetween",
             {"column": "_travel", "min_value": 0, "max_value": 600}, severity="warning"),
        Rule("case_id must not be blank", "case_id", "ExpectColumnValuesToNotBeNull",
             {"column": "case_id"}),
    ]
    broken, blank = run_file_rules(file, FRAME, rules)

    assert broken.severity == ERROR and broken.blocking and not broken.passed
    assert "the check could not run" in broken.message and "_travel" in broken.message
    assert broken.message.startswith("caseload_2022-06.csv: travel must be known "
                                     "(column travel_minutes): the check could not run: ")
    assert blank.blocking and blank.message == (
        "caseload_2022-06.csv: case_id must not be blank (column case_id): 1 row, line 4")
