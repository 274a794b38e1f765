"""Great Expectations' error path (an expectation that cannot run is a blocking
failure carrying its error text, never a silent pass), and the worker process
GX runs in: it never outlives the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from caseload_pipeline.core.extract import ExtractedFile
from caseload_pipeline.core.findings import ERROR
from caseload_pipeline.core.validation import gx_runner
from caseload_pipeline.core.validation.rules import Rule
from caseload_pipeline.core.validation.suites import run_file_rules

FRAME = pd.DataFrame({"case_id": ["C1", "C2", None], "worker_id": ["W1", "W1", "W2"]},
                     index=pd.Index([2, 3, 4]))


def test_an_erroring_expectation_reports_its_error():
    suite = [
        gx_runner.Expectation("ExpectColumnValuesToNotBeNull", {"column": "no_such_column"}),
        gx_runner.Expectation("ExpectColumnValuesToNotBeNull", {"column": "worker_id"}),
        gx_runner.Expectation("ExpectColumnValuesToNotBeNull", {"column": "case_id"}),
    ]
    broken, fine, failing = gx_runner.run_suite("caseload", FRAME, suite)

    assert broken.success is False
    assert broken.error is not None and "no_such_column" in broken.error
    # the others ran normally, in the order given
    assert fine.success is True and fine.error is None
    assert failing.success is False and failing.error is None
    assert failing.unexpected_index_list == [4]


def test_a_row_condition_limits_an_expectation_to_its_rows():
    frame = FRAME.assign(part=[0, 0, 1])
    only_first, only_second = gx_runner.run_suite("caseload", frame, [
        gx_runner.Expectation("ExpectColumnValuesToNotBeNull", {"column": "case_id"},
                              where=("part", 0)),
        gx_runner.Expectation("ExpectColumnValuesToNotBeNull", {"column": "case_id"},
                              where=("part", 1)),
    ])
    assert only_first.success is True
    assert only_second.success is False and only_second.unexpected_index_list == [4]


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


# --- the worker process ---------------------------------------------------------------

KILLED_RUN = """
import sys
import pandas as pd
from caseload_pipeline.core.validation import gx_runner
gx_runner.run_suite("caseload", pd.DataFrame({"a": [1]}), [
    gx_runner.Expectation("ExpectColumnValuesToNotBeNull", {"column": "a"})])
print(gx_runner._worker.process.pid, flush=True)
sys.stdin.read()  # until killed
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_the_worker_ends_with_a_process_killed_by_sigkill():
    process = subprocess.Popen([sys.executable, "-c", KILLED_RUN], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    worker = int(process.stdout.readline())
    assert _alive(worker)
    process.kill()
    process.wait()
    deadline = time.monotonic() + 30
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "the GX worker outlived the process that started it"


class _EndsTheWorker:
    """Unpickled in the worker, it ends the worker there (as a crash would)."""

    def __reduce__(self):
        return os._exit, (3,)


ENDED_AT_ONCE = """
import time
from caseload_pipeline.core.validation import gx_runner
gx_runner.preload()
print(gx_runner._worker.process.pid, flush=True)
time.sleep(1)  # the worker is importing GX by now
"""


def test_a_process_that_ends_at_once_takes_its_worker_with_it_mid_import():
    # (a `caseload materialize` given a wrong month: no suite is ever asked for)
    process = subprocess.Popen([sys.executable, "-c", ENDED_AT_ONCE], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    worker = int(process.stdout.readline())
    assert process.wait() == 0
    deadline = time.monotonic() + 1.0  # the rest of GX's import takes longer
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker), "the GX worker went on importing after its process ended"


def test_a_worker_dying_mid_suite_is_a_plain_error_and_the_next_suite_gets_a_new_one():
    suite = [gx_runner.Expectation("ExpectColumnValuesToNotBeNull", {"column": "case_id"})]
    gx_runner.run_suite("caseload", FRAME, suite)
    first = gx_runner._worker.process
    with pytest.raises(gx_runner.WorkerFailed, match=r"worker stopped \(exit code 3\)"):
        gx_runner.run_suite("caseload", FRAME, [gx_runner.Expectation(
            "ExpectColumnValuesToNotBeNull", {"column": "case_id", "crash": _EndsTheWorker()})])
    (again,) = gx_runner.run_suite("caseload", FRAME, suite)
    assert again.unexpected_index_list == [4]
    assert gx_runner._worker.process.pid != first.pid


def test_a_worker_killed_between_suites_is_replaced():
    suite = [gx_runner.Expectation("ExpectColumnValuesToNotBeNull", {"column": "case_id"})]
    gx_runner.run_suite("caseload", FRAME, suite)
    first = gx_runner._worker.process
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    (again,) = gx_runner.run_suite("caseload", FRAME, suite)
    assert again.unexpected_index_list == [4]


def test_release_stops_the_worker_only_when_asked():
    suite = [gx_runner.Expectation("ExpectColumnValuesToNotBeNull", {"column": "case_id"})]
    gx_runner.run_suite("caseload", FRAME, suite)
    worker = gx_runner._worker.process
    gx_runner.release(stop_worker=False)
    assert worker.poll() is None and gx_runner._worker.process is worker
    gx_runner.release()
    assert worker.poll() is not None and gx_runner._worker is None


def test_release_ends_a_worker_still_importing_at_once():
    gx_runner.release()
    gx_runner.preload()  # a run whose months were all skipped: no suite ever asked
    worker = gx_runner._worker.process
    started = time.monotonic()
    gx_runner.release()
    assert worker.poll() is not None
    assert time.monotonic() - started < 1.0  # not the seconds GX's import takes
