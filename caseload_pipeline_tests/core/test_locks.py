"""The working database's writer lock (issue 8, point 1): one writer at a time,
a waiting writer says who it waits for and gives up after the timeout, a
killed holder never blocks anyone, and a step that holds it may publish."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from caseload_pipeline.core.locks import HELD, LockTimeout, lock_is_free, read_note
from caseload_pipeline.core.settings import load_settings
from caseload_pipeline.core.warehouse import Warehouse
from caseload_pipeline_tests.conftest import Project

HOLDER = textwrap.dedent("""
    import sys, time
    from caseload_pipeline.core.settings import load_settings
    from caseload_pipeline.core.warehouse import Warehouse

    with Warehouse(load_settings(), "run 12345678").connect():
        print("holding", flush=True)
        time.sleep(600)
""")


@pytest.fixture
def holder(project: Project):
    """Another process holding the working database, as a run's step does."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER], env={**os.environ,
                               **project.env()}, stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    assert process.stdout.readline().strip() == "holding"
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_writer_waits_saying_for_whom_then_gives_up_plainly(project: Project, holder,
                                                              caplog):
    settings = load_settings({**project.env(), "CASELOAD_LOCK_TIMEOUT": "3"})
    caplog.set_level(logging.INFO, logger="caseload_pipeline.progress")
    started = time.monotonic()
    with pytest.raises(LockTimeout) as gave_up, Warehouse(settings).connect():
        pass
    assert 3 <= time.monotonic() - started < 10
    message = str(gave_up.value)
    assert message.startswith("gave up waiting for the working database (")
    assert f"run 12345678 (pid {holder.pid}) has held it since" in message
    assert f"kill {holder.pid}" in message and "CASELOAD_LOCK_TIMEOUT" in message
    waiting = [r.getMessage() for r in caplog.records if "waiting for" in r.getMessage()]
    assert waiting and f"(pid {holder.pid})" in waiting[0]


def test_a_killed_holder_frees_the_lock_at_once(project: Project, holder):
    settings = load_settings(project.env())
    assert not lock_is_free(settings.working_lock_path)
    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait()
    assert lock_is_free(settings.working_lock_path)
    assert read_note(settings.working_lock_path).state == HELD  # it did not let go itself
    started = time.monotonic()
    with Warehouse(load_settings({**project.env(), "CASELOAD_LOCK_TIMEOUT": "0"})).connect():
        pass
    assert time.monotonic() - started < 5


def test_a_step_holding_the_lock_publishes_without_waiting_for_itself(project: Project):
    settings = load_settings({**project.env(), "CASELOAD_LOCK_TIMEOUT": "1"})
    warehouse = Warehouse(settings)
    with warehouse.connect() as con:
        con.execute("INSERT INTO staff_survey VALUES (2024, 50)")
        assert warehouse.publish(con) == settings.duckdb_path
        assert warehouse.publish() == settings.duckdb_path  # re-entrant, same process
    assert lock_is_free(settings.working_lock_path)
    assert read_note(settings.working_lock_path).state == "released"
