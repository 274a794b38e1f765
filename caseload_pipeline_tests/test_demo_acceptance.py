"""Acceptance: `caseload demo` through Dagster reproduces the published audits.

One full demo run (every month from 2019-07, one Dagster run for the months
and one for the audit tables and reports) is shared by the tests here.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from pathlib import Path

import duckdb
import pytest

from caseload_pipeline import cli
from caseload_pipeline.core.reference import load_reference

PUBLISHED = Path(__file__).parent / "data" / "published_audits.csv"

pytestmark = pytest.mark.slow  # 88 months through Dagster: over a minute

# The published 2023/24 summary: these two increased since 2019/20, the other
# teams with a predecessor decreased, and the rest are new.
INCREASED_2023 = {"Hospital Discharge Team", "Occupational Therapy Team"}
DECREASED_2023 = {"Review Team", "Short term services", "Older People's Team",
                  "Transitions Team", "All Age Disability"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CASELOAD_DATA_DIR", str(root / "data"))
        mp.setenv("CASELOAD_PSEUDONYM_KEY", "acceptance-test-key-0123456789")
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        mp.delenv("CASELOAD_DUCKDB_PATH", raising=False)
        mp.delenv("CASELOAD_FIRST_MONTH", raising=False)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(["demo"])
        report_out = io.StringIO()
        with contextlib.redirect_stdout(report_out):
            report_code = cli.main(["report", "--audit", "2023/24"])
    data = root / "data"
    return {"code": code, "stdout": out.getvalue(), "data": data,
            "report_code": report_code, "report_stdout": report_out.getvalue(),
            "reference": load_reference(data / "reference")}


def _published() -> list[dict]:
    with PUBLISHED.open(newline="") as f:
        return list(csv.DictReader(f))


def test_demo_exits_zero(demo):
    assert demo["code"] == 0


def test_every_published_figure_is_reproduced(demo):
    ref = demo["reference"]
    con = duckdb.connect(str(demo["data"] / "caseload.duckdb"), read_only=True)
    rows = _published()
    assert len(rows) == 39
    for row in rows:
        if row["dimension"] == "team":
            name = ref.team(row["name_as_published"])
            table, column = "audit_team_averages", "team"
        else:
            name = ref.role(row["name_as_published"])
            table, column = "audit_role_averages", "role"
        assert name is not None, row
        found = con.execute(
            f"SELECT round(avg_caseload, 1), source, months_covered, months_expected"
            f" FROM {table} WHERE audit = ? AND {column} = ?", [row["audit"], name]).fetchall()
        assert found, f"{row['audit']} {name} missing from {table}"
        value, source, covered, expected = found[0]
        assert value == pytest.approx(float(row["avg_caseload"])), row
        assert source == "monthly"
        assert covered == expected
    # the audits hold exactly the published teams, no more
    for audit in ("2019/20", "2023/24", "2024/25"):
        teams = {r[0] for r in con.execute(
            "SELECT team FROM audit_team_averages WHERE audit = ?", [audit]).fetchall()}
        published = {ref.team(r["name_as_published"]) for r in rows
                     if r["audit"] == audit and r["dimension"] == "team"}
        assert teams == published, audit


def test_published_directions_of_change(demo):
    con = duckdb.connect(str(demo["data"] / "caseload.duckdb"), read_only=True)
    directions = dict(con.execute(
        "SELECT team, direction FROM audit_comparison WHERE audit = '2023/24'").fetchall())
    assert {t for t, d in directions.items() if d == "increased"} == INCREASED_2023
    assert {t for t, d in directions.items() if d == "decreased"} == DECREASED_2023
    assert {t for t, d in directions.items() if d == "new"} == (
        set(directions) - INCREASED_2023 - DECREASED_2023)
    assert len(directions) == 13


def test_findings_are_printed_as_published(demo):
    out = demo["stdout"]
    for row in _published():
        if row["dimension"] == "team":
            name = demo["reference"].team(row["name_as_published"])
            assert f"{name} average {float(row['avg_caseload']):.1f}" in out
    assert "increased: Hospital Discharge Team (was Hospital Team) 20.6 -> 32.9" in out


def test_reports_are_written_for_every_audit(demo):
    for slug in ("2019-20", "2023-24", "2024-25"):
        html = demo["data"] / "reports" / slug / f"caseload_audit_{slug}.html"
        assert html.is_file() and (html.with_suffix(".xlsx")).is_file()
        assert "Hospital" in html.read_text()
    assert demo["report_code"] == 0
    assert demo["report_stdout"].strip().splitlines()[0].endswith("caseload_audit_2023-24.html")


# -- the early warning on the demo department (issue 12) -------------------------

DRIFTING, FLAT = "LD Promoting Independence Team", "Locality Integrated Team North"
END_2024_25 = dt.date(2025, 7, 1)


def _query(demo, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(demo["data"] / "caseload.duckdb"), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_the_drifting_team_is_flagged_before_it_goes_red(demo):
    flagged = dict(_query(demo, """
        SELECT team, min(month) FROM team_outlook
        WHERE as_of_month = ? AND may_enter_red GROUP BY team""", [END_2024_25]))
    assert DRIFTING in flagged and FLAT not in flagged
    assert flagged[DRIFTING] <= dt.date(2025, 10, 1)
    # amber at the end of the window, red in the months after it
    utilisation = dict(_query(demo, """
        SELECT month, sum(weighted_caseload) / sum(capacity_points) FROM worker_monthly
        WHERE team = ? GROUP BY month""", [DRIFTING]))
    assert 1.0 < utilisation[END_2024_25] <= 1.1
    assert utilisation[dt.date(2024, 8, 1)] < 0.9
    assert max(utilisation[dt.date(2025, m, 1)] for m in (8, 9, 10)) > 1.1


def test_the_flat_team_is_never_flagged_in_2024_25(demo):
    assert _query(demo, """
        SELECT count(*) FROM team_outlook
        WHERE team = ? AND may_enter_red AND as_of_month BETWEEN '2024-08-01' AND ?""",
                  [FLAT, END_2024_25]) == [(0,)]


def test_a_handful_of_workers_are_red_for_three_months_or_more(demo):
    red = _query(demo, """
        SELECT team, count(*) FROM worker_alerts
        WHERE month = ? AND band = 'red' AND consecutive_months >= 3
        GROUP BY team ORDER BY team""", [END_2024_25])
    assert 3 <= sum(n for _, n in red) <= 8, red
    assert DRIFTING in dict(red)


def test_the_2024_25_report_warns_without_naming_workers(demo):
    from caseload_pipeline_tests.core.report.htmlreport import parse, table_rows

    html = (demo["data"] / "reports" / "2024-25" / "caseload_audit_2024-25.html").read_text()
    page = parse(html)
    assert page.texts["early-warning-as-of"].startswith(
        "The audit looks back over the window; this section looks ahead from its end, as the "
        "pipeline did then: as of July 2025.")
    teams = {r["Team"]: r for r in table_rows(page, "table-early-warning-teams")}
    assert DRIFTING in teams and FLAT not in teams
    sustained = table_rows(page, "table-early-warning-sustained")
    assert sum(int(r["Red 3+ months"]) for r in sustained) >= 3
    worker_keys = _query(demo, "SELECT DISTINCT worker_key FROM worker_alerts")
    assert not [k for (k,) in worker_keys if k in html]
