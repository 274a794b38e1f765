"""The report's "Early warning" section (HTML and Excel), from the hand-made
early-warning rows of the report warehouse (conftest.EARLY_WARNING_TEAMS):
as of the audit window's last month, counts by team and role, no worker."""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb
import openpyxl
import pytest

from caseload_pipeline.core.report import write_audit_report

from .conftest import build_warehouse
from .htmlreport import parse, table_rows
from .test_report_excel import records
from .test_report_injection import SCRIPT


@pytest.fixture(scope="module")
def written(warehouse, tmp_path_factory, weights):
    out = tmp_path_factory.mktemp("early-warning")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        html, xlsx = write_audit_report(con, "2023/24", out, weights=weights)
    return html.read_text(encoding="utf-8"), openpyxl.load_workbook(xlsx)


@pytest.fixture(scope="module")
def page(written):
    return parse(written[0])


def test_as_of_the_windows_last_month_with_a_note_on_later_months(page):
    assert page.texts["early-warning-as-of"] == (
        "The audit looks back over the window; this section looks ahead from its end, as the "
        "pipeline did then: as of June 2023. Months up to July 2023 have been loaded since; "
        "the current outlook is in the warehouse table team_outlook (the latest "
        "as_of_month).")


def test_teams_heading_for_a_higher_band(page):
    assert table_rows(page, "table-early-warning-teams") == [{
        "Team": "Hospital Discharge Team", "Now %": "104.0", "Band now": "amber",
        "+1 month %": "104.0", "+2 months %": "104.0", "+3 months %": "104.0",
        "Range at +3 %": "96.0 to 113.0", "Red possible from": "August 2023"}]
    assert "green up to 100% of capacity, amber up to 110%, red above" in page.text


def test_the_chart_is_inline_svg_with_the_values_in_its_text(written, page):
    chart = page.svgs[-1]
    assert chart["role"] == "img" and chart["first_child"] == "title"
    assert chart["aria-label"] == (
        "Teams heading for a higher band: utilisation over the last year and projected for "
        "the next three months, as of June 2023")
    assert ("Hospital Discharge Team: 104% of capacity in June 2023 (amber); projected 104% "
            "in September 2023, range 96% to 113%; red possible from August 2023.") in written[0]


def test_sustained_overload_is_counted_by_team_and_role(written, page):
    assert table_rows(page, "table-early-warning-sustained") == [
        {"Team": "Hospital Discharge Team", "Role": "Social worker", "Red 3+ months": "2",
         "Amber or red 3+ months": "2"},
        {"Team": "Hospital Discharge Team", "Role": "Community case worker",
         "Red 3+ months": "0", "Amber or red 3+ months": "1"},
    ]
    # no worker is named, not even by key (the fixture's keys for worker_alerts rows)
    for i in range(1, 6):
        assert hashlib.sha256(f"alert|{i}".encode()).hexdigest()[:16] not in written[0]


def test_the_method_and_its_backtest_are_stated(page):
    assert page.texts["early-warning-method"].startswith(
        "The projection is the simplest one: next month equals this month.")
    assert table_rows(page, "table-early-warning-backtest")[0] == {
        "Method": "next month equals this month", "+1 month": "2.7", "+2 months": "3.5",
        "+3 months": "4.1", "Projections (+1)": "59", "Shown in the latest outlook": "yes"}


def test_the_workbook_has_the_same_early_warning(written):
    wb = written[1]
    ws = wb["Early warning"]
    [team] = records(ws, last_row=2)
    assert team["Team"] == "Hospital Discharge Team"
    assert (team["Utilisation now %"], team["Projected +3 months %"], team["Low +3 months %"],
            team["High +3 months %"]) == (104.0, 104.0, 96.0, 113.0)
    assert team["Red possible from"] == dt.datetime(2023, 8, 1)
    sustained = records(ws, first_row=4, last_row=6)
    assert [tuple(r.values()) for r in sustained] == [
        ("Hospital Discharge Team", "Social worker", 2, 2),
        ("Hospital Discharge Team", "Community case worker", 0, 1)]
    backtest = records(ws, first_row=8)
    assert [(r["Projection method"], r["Mean absolute error +3 months (points)"],
             r["Shown in the latest outlook"]) for r in backtest] == [
        ("naive", 4.1, "yes"), ("trend", 4.3, "no"), ("trend_seasonal", 4.7, "no")]
    summary = {r["Item"]: r["Value"] for r in records(wb["Summary"])}
    assert summary["Early warning as of"] == dt.datetime(2023, 6, 1)


def test_an_audit_without_monthly_data_has_no_warning(warehouse, tmp_path, read_only, weights):
    html, xlsx = write_audit_report(read_only(warehouse), "2019/20", tmp_path, weights=weights)
    page = parse(html.read_text(encoding="utf-8"))
    assert page.texts["early-warning-none"] == (
        "No month of this audit's window is loaded, so there is no early warning for it.")
    ws = openpyxl.load_workbook(xlsx)["Early warning"]
    assert ws["A2"].value == "No early warning for this audit's window"


def test_a_warehouse_without_the_tables_still_gets_a_report(tmp_path, weights):
    db = build_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE team_outlook")
    with duckdb.connect(str(db), read_only=True) as con:
        html, _ = write_audit_report(con, "2023/24", tmp_path / "out", weights=weights)
    page = parse(html.read_text(encoding="utf-8"))
    assert page.texts["early-warning-none"].startswith(
        "This warehouse has no early-warning tables yet.")
    assert not [s for s in page.svgs if s["aria-label"].startswith("Teams heading")]


def test_a_hostile_team_name_stays_text(hostile_warehouse, tmp_path, weights):
    with duckdb.connect(str(hostile_warehouse), read_only=True) as con:
        html, _ = write_audit_report(con, "2023/24", tmp_path, weights=weights)
    text = html.read_text(encoding="utf-8")
    page = parse(text)
    assert SCRIPT not in text
    assert SCRIPT in [r["Team"] for r in table_rows(page, "table-early-warning-teams")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;: 104% of capacity" in page_svg(text)


def page_svg(text: str) -> str:
    return text[text.rindex("<svg"):]
