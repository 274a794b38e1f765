"""What loads is what was validated (issue 8, point 3), on the pipeline's own
steps with a real DuckDB working database and real Great Expectations runs:
staging belongs to a run, the load checks the hashes validation saw, and
load_log records the hash of the bytes that were loaded."""

from __future__ import annotations

import pandas as pd
import pytest

from caseload_pipeline.core.load import load_validated
from caseload_pipeline.core.months import parse_month
from caseload_pipeline.core.reference import load_reference
from caseload_pipeline.core.settings import load_settings
from caseload_pipeline.core.staging import NotStaged, StagedFileChanged, stage_month
from caseload_pipeline.core.validate import validate_staged_months
from caseload_pipeline.core.warehouse import Warehouse
from caseload_pipeline_tests.conftest import Project, file_digest
from caseload_pipeline_tests.department import caseload_rows

MONTH = parse_month("2022-06")


class Steps:
    def __init__(self, project: Project):
        self.project = project
        self.settings = load_settings(project.env())
        self.reference = load_reference(self.settings.reference_dir)
        self.warehouse = Warehouse(self.settings)

    def stage_and_validate(self, run_id: str):
        stage_month(self.settings, MONTH, run_id)
        with self.warehouse.connect(self.reference) as con:
            [staged] = validate_staged_months(con, self.settings, self.reference, [MONTH],
                                              run_id)
        return staged

    def load(self, run_id: str) -> None:
        with self.warehouse.connect(self.reference) as con:
            con.execute("BEGIN TRANSACTION")  # the caller owns it (core/update.py)
            try:
                load_validated(con, self.settings, [MONTH], run_id)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def query(self, sql: str):
        with self.warehouse.connect() as con:
            return con.execute(sql).fetchall()


@pytest.fixture
def steps(project: Project) -> Steps:
    project.write_month(str(MONTH))
    return Steps(project)


def test_another_runs_extraction_never_replaces_what_a_run_validated(steps: Steps):
    good = file_digest(steps.project.incoming / f"caseload_{MONTH}.csv")
    assert not steps.stage_and_validate("run-a").blocking
    # the file is replaced with a bad one and run B extracts and validates it
    bad = [[*row[:4], "extreme", *row[5:]] for row in caseload_rows(str(MONTH))]
    steps.project.write_month(str(MONTH), caseload=bad)
    assert steps.stage_and_validate("run-b").blocking

    steps.load("run-a")  # A loads what A validated

    assert steps.query("SELECT count(*), count(*) FILTER (complexity = 'extreme')"
                       " FROM allocations") == [(len(bad), 0)]
    assert steps.query(f"SELECT sha256 FROM load_log WHERE file = 'caseload_{MONTH}.csv'"
                       ) == [(good,)]
    with pytest.raises(RuntimeError, match="failed validation"):
        steps.load("run-b")


def test_a_staged_file_changed_after_validation_is_refused_naming_the_file(steps: Steps):
    staged = steps.stage_and_validate("run-a")
    path = staged.parquet("caseload")
    frame = pd.read_parquet(path)
    frame.loc[frame.index[0], "complexity"] = "extreme"
    frame.to_parquet(path, index=False)

    with pytest.raises(StagedFileChanged) as refused:
        steps.load("run-a")

    assert str(refused.value).startswith(
        f"caseload_{MONTH}.csv: the staged copy of this file changed after it was validated")
    assert f"nothing of {MONTH} was loaded" in str(refused.value)
    assert steps.query("SELECT count(*) FROM allocations") == [(0,)]
    assert steps.query("SELECT count(*) FROM load_log") == [(0,)]


def test_a_month_the_run_did_not_validate_or_stage_is_not_loaded(steps: Steps):
    stage_month(steps.settings, MONTH, "run-a")  # extracted, never validated
    with pytest.raises(StagedFileChanged, match="was not validated in this run"):
        steps.load("run-a")
    with pytest.raises(NotStaged, match=f"{MONTH} was not extracted in this run"):
        steps.load("run-c")
    assert steps.query("SELECT count(*) FROM allocations") == [(0,)]


def test_staging_is_a_folder_per_run_holding_the_hashes(steps: Steps):
    staged = steps.stage_and_validate("run-a")
    assert staged.folder == steps.settings.staging_dir / "run-a" / str(MONTH)
    info = staged.files["caseload"]
    assert info["sha256"] == file_digest(steps.project.incoming / f"caseload_{MONTH}.csv")
    assert info["staged_sha256"] == file_digest(staged.parquet("caseload"))
    assert staged.validated == {"caseload": info["staged_sha256"],
                                "staff": staged.files["staff"]["staged_sha256"]}
    assert not (staged.folder / "source").exists()  # the copies read are gone
