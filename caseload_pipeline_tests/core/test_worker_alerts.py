"""worker_alerts on the hand-made department (alerts_department.py): streaks
counted by hand across a gap month, a worker changing team, a part-time worker,
a worker off the roster for a loaded month and one moving between amber and red."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import duckdb
import pytest

from caseload_pipeline_tests.alerts_department import PREFIX, wid
from caseload_pipeline_tests.conftest import KEY

MAY, JUNE, AUG, SEP = (dt.date(2022, m, 1) for m in (5, 6, 8, 9))


def key(name: str) -> str:
    return hmac.new(KEY.encode(), wid(name).encode(), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def alerts(alerts_project) -> dict[tuple[str, dt.date], tuple]:
    names = {key(f"A{i}"): f"A{i}" for i in range(1, 8)}
    with duckdb.connect(str(alerts_project.analyst_path), read_only=True) as con:
        rows = con.execute(
            "SELECT worker_key, month, team, band, round(utilisation, 4), fte,"
            " consecutive_months, since_month, above_green_months, above_green_since"
            " FROM worker_alerts").fetchall()
    return {(names[r[0]], r[1]): r[2:] for r in rows}


def test_the_gap_month_is_stepped_over_and_a_green_month_ends_the_streak(alerts):
    # July was never loaded: A1's August counts on from June.
    assert alerts[("A1", MAY)] == ("Review Team", "red", 1.5, 1.0, 1, MAY, 1, MAY)
    assert alerts[("A1", JUNE)] == ("Review Team", "red", 1.5, 1.0, 2, MAY, 2, MAY)
    assert alerts[("A1", AUG)] == ("Review Team", "red", 1.5, 1.0, 3, MAY, 3, MAY)
    assert ("A1", SEP) not in alerts  # green in September: no row


def test_a_part_time_worker_is_judged_on_their_own_capacity(alerts):
    # A2 and A3 hold the same 12 points; A2 works half time (capacity 10).
    assert [alerts[("A2", m)] for m in (MAY, JUNE, AUG, SEP)] == [
        ("Review Team", "red", 1.2, 0.5, n, MAY, n, MAY) for n in (1, 2, 3, 4)]
    assert not [k for k in alerts if k[0] == "A3"]


def test_the_streak_follows_a_worker_into_a_new_team(alerts):
    assert [alerts[("A4", m)][0] for m in (MAY, JUNE, AUG, SEP)] == [
        "Review Team", "Review Team", "Hospital Discharge Team", "Hospital Discharge Team"]
    assert alerts[("A4", SEP)] == ("Hospital Discharge Team", "red", 1.5, 1.0, 4, MAY, 4, MAY)


def test_off_the_roster_in_a_loaded_month_ends_the_streak(alerts):
    assert alerts[("A5", MAY)][4:] == (1, MAY, 1, MAY)
    assert ("A5", JUNE) not in alerts
    assert alerts[("A5", AUG)][4:] == (1, AUG, 1, AUG)
    assert alerts[("A5", SEP)][4:] == (2, AUG, 2, AUG)


def test_amber_and_red_are_counted_separately_and_together(alerts):
    assert [alerts[("A6", m)][1:3] for m in (MAY, JUNE, AUG, SEP)] == [
        ("amber", 1.05), ("red", 1.5), ("amber", 1.05), ("red", 1.5)]
    # each band's own streak restarts at every change; over green it runs on
    assert [alerts[("A6", m)][4:] for m in (MAY, JUNE, AUG, SEP)] == [
        (1, MAY, 1, MAY), (1, JUNE, 2, MAY), (1, AUG, 3, MAY), (1, SEP, 4, MAY)]


def test_only_case_holding_workers_over_green_have_rows(alerts):
    assert len(alerts) == 3 + 4 + 4 + 3 + 4
    assert not [k for k in alerts if k[0] == "A7"]


def test_no_raw_id_is_stored(alerts_project):
    for path in (alerts_project.analyst_path, alerts_project.working_path):
        data = path.read_bytes()
        assert PREFIX.encode() not in data
        assert b"CASEREF-4471" not in data
