"""The HTML report shows exactly the warehouse's figures, rounded to one decimal."""

from __future__ import annotations

import re

import duckdb
import pytest

from caseload_pipeline.core.report import slug, write_audit_report

from .conftest import build_warehouse
from .htmlreport import parse, table_rows

AREAS = ["England", "West Midlands", "Coventry", "Birmingham", "Warwickshire", "Atlantis"]


def d1(con, sql: str, params: list | None = None) -> list[tuple]:
    """Rows from DuckDB with every float rounded by DuckDB itself and shown as in the report."""
    rows = con.execute(sql, params or []).fetchall()
    return [tuple("\u2013" if v is None else f"{v:.1f}" if isinstance(v, float) else v
                  for v in row) for row in rows]


@pytest.fixture(scope="module")
def report(warehouse, tmp_path_factory, weights):
    out = tmp_path_factory.mktemp("report")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        html_path, xlsx_path = write_audit_report(con, "2023/24", out, weights=weights,
                                                  benchmark_areas=AREAS)
    return html_path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(report):
    return parse(report)


def test_slug_and_paths(warehouse, tmp_path, read_only, weights):
    assert slug("2023/24") == "2023-24"
    assert slug("2019/20") == "2019-20"
    html, xlsx = write_audit_report(read_only(warehouse), "2023/24", tmp_path / "new",
                                    weights=weights)
    assert html == tmp_path / "new" / "caseload_audit_2023-24.html"
    assert xlsx == tmp_path / "new" / "caseload_audit_2023-24.xlsx"
    assert html.is_file() and xlsx.is_file()
    # No temporary files are left beside the reports.
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == [html.name, xlsx.name]


def test_unknown_audit_is_a_clear_error(warehouse, tmp_path, read_only, weights):
    with pytest.raises(ValueError, match=r"2099/00.*known: 2019/20, 2023/24"):
        write_audit_report(read_only(warehouse), "2099/00", tmp_path, weights=weights)


def test_title_approach_and_window(page, warehouse, read_only):
    assert page.texts["title"] == "Adult social care caseload and workload audit 2023/24"
    assert page.texts["months-expected"] == "6"
    con = read_only(warehouse)
    covered = con.execute("SELECT count(DISTINCT month) FROM team_monthly "
                          "WHERE month BETWEEN '2023-01-01' AND '2023-06-01'").fetchall()[0][0]
    assert page.texts["months-covered"] == str(covered) == "5"
    assert "April 2023" in page.texts["window-facts"]
    assert "This is the second caseload audit on record" in page.text
    assert "Earlier audits: 2019/20 (July 2019 to September 2019)." in page.text
    assert "Practice Quality Assurance Framework" in page.text


def test_team_findings_list_equals_warehouse(page, warehouse, read_only):
    expected = d1(read_only(warehouse), """
        SELECT team, round(avg_caseload, 1) FROM audit_team_averages WHERE audit = '2023/24'
        ORDER BY avg_caseload DESC, team""")
    items = [re.fullmatch(r"(.+) average (\d+\.\d)", li).groups()
             for li in page.lists["findings-teams"]]
    assert items == expected
    assert len(items) == 4


def test_team_table_equals_warehouse(page, warehouse, read_only):
    expected = d1(read_only(warehouse), """
        SELECT team, round(avg_caseload, 1), round(avg_caseload_per_fte, 1),
               round(avg_weighted_caseload, 1), months_covered || ' of ' || months_expected
        FROM audit_team_averages WHERE audit = '2023/24' ORDER BY avg_caseload DESC, team""")
    rows = [tuple(r.values())[:5] for r in table_rows(page, "table-teams")]
    assert rows == expected


def test_role_findings_equal_warehouse(page, warehouse, read_only):
    expected = d1(read_only(warehouse), """
        SELECT role, round(avg_caseload, 1), round(avg_caseload_per_fte, 1)
        FROM audit_role_averages WHERE audit = '2023/24' ORDER BY avg_caseload DESC, role""")
    items = [re.fullmatch(r"(.+) average (\d+\.\d)", li).groups()
             for li in page.lists["findings-roles"]]
    assert items == [e[:2] for e in expected]
    assert [tuple(r.values())[:3] for r in table_rows(page, "table-roles")] == expected


def test_comparison_equals_warehouse(page, warehouse, read_only):
    con = read_only(warehouse)
    expected = d1(con, """
        SELECT team, CASE WHEN direction = 'new' THEN NULL ELSE previous_team END,
               round(avg_caseload, 1), round(previous_avg_caseload, 1),
               round(change, 1), round(100 * change / previous_avg_caseload, 1), direction
        FROM audit_comparison WHERE audit = '2023/24' ORDER BY avg_caseload DESC, team""")
    rows = [tuple(r.values())[:7] for r in table_rows(page, "table-comparison")]
    # The report signs changes (+5.0); strip that to compare with DuckDB's value.
    assert [tuple(v.lstrip("+") for v in row) for row in rows] == expected
    # Lineage: the Hospital Discharge Team is compared with the Hospital Team.
    by_team = {r[0]: r for r in rows}
    assert by_team["Hospital Discharge Team"][1] == "Hospital Team"
    assert by_team["Transitions Team"][6] == "new"
    assert [li.split(":")[0] for li in page.lists["changes-increased"]] == [
        t for t, *_, direction in expected if direction == "increased"]
    assert [li.split(":")[0] for li in page.lists["changes-decreased"]] == [
        t for t, *_, direction in expected if direction == "decreased"]
    assert "earlier figure for Hospital Team (published)" in page.lists["changes-increased"][0]
    assert page.lists["changes-new"] == [
        "Transitions Team: " + by_team["Transitions Team"][2]
        + ", with no comparable team in 2019/20."]


def test_weighting_bands_and_reassignment_equal_warehouse(page, warehouse, read_only):
    con = read_only(warehouse)
    bands = con.execute("""
        SELECT w.team, count(*) FILTER (band = 'green'), count(*) FILTER (band = 'amber'),
               count(*) FILTER (band = 'red'), count(*)
        FROM worker_monthly w JOIN staff s USING (month, worker_key)
        WHERE s.case_holding AND w.month BETWEEN '2023-01-01' AND '2023-06-01'
        GROUP BY w.team ORDER BY w.team""").fetchall()
    shown = [tuple(r.values())[:5] for r in table_rows(page, "table-bands")]
    assert shown == [tuple(str(v) if i else v for i, v in enumerate(b)) for b in bands]
    # Managers (not case-holding) are not counted: 4 + 3 + 3 + 2 workers x 5 months.
    assert sum(b[4] for b in bands) == 12 * 5

    expected = d1(con, """
        SELECT team, sum(cases)::VARCHAR, sum(reassigned_cases)::VARCHAR,
               round(100 * sum(reassigned_cases) / sum(cases), 1)
        FROM team_monthly WHERE month BETWEEN '2023-01-01' AND '2023-06-01'
        GROUP BY team ORDER BY sum(reassigned_cases) / sum(cases) DESC, team""")
    assert [tuple(r.values()) for r in table_rows(page, "table-reassignment")] == expected
    weighted = d1(con, """
        SELECT team, round(avg_weighted_caseload, 1) FROM audit_team_averages
        WHERE audit = '2023/24' ORDER BY avg_caseload DESC, team""")
    assert [re.fullmatch(r"(.+) weighted average (\d+\.\d)", li).groups()
            for li in page.lists["findings-weighted"]] == weighted


def test_weighting_caveat_comes_before_weighted_figures(report):
    caveat = report.index('id="weighting-caveat"')
    assert caveat < report.index('id="findings-weighted"') < report.index('id="table-bands"')


def test_survey_is_in_year_order(page):
    rows = [tuple(r.values()) for r in table_rows(page, "table-survey")]
    assert rows == [("2017", "43.0"), ("2019", "81.0"), ("2022/23", "73.0")]
    assert page.texts["survey-latest"].startswith(
        "In the most recent staff survey (2022/23), 73.0%")


def test_benchmarks_beside_department(page, warehouse, read_only):
    con = read_only(warehouse)
    dept = con.execute("""
        SELECT round(avg(c / f), 1) FROM (
            SELECT sum(cases) c, sum(fte) f FROM team_monthly
            WHERE month BETWEEN '2023-01-01' AND '2023-06-01' GROUP BY month)""").fetchall()[0][0]
    rows = table_rows(page, "table-benchmarks")
    assert rows[0]["Area"] == "This department (adult social care)"
    assert rows[0]["Cases per FTE"] == f"{dept:.1f}"
    # The latest year in the file, in the order the areas were chosen.
    assert [(r["Area"], r["Year"], r["Cases per FTE"]) for r in rows[1:]] == [
        ("England", "2025", "15.2"), ("West Midlands", "2025", "15.3"),
        ("Coventry", "2025", "12.8"), ("Birmingham", "2025", "15.2"),
        ("Warwickshire", "2025", "14.8")]
    caption = page.captions["table-benchmarks"]
    assert "children's social workers" in caption and "30 September 2025" in caption
    assert "Department for Education, children's social work workforce statistics" in caption
    assert "Not found in the file for 2025: Atlantis." in page.text


def test_benchmark_suppression_codes_are_shown(tmp_path, weights, read_only):
    # A published-format file whose latest year has suppressed figures.
    csv = tmp_path / "csww.csv"
    csv.write_text(
        "time_period,time_identifier,geographic_level,country_code,country_name,region_code,"
        "region_name,old_la_code,new_la_code,la_name,case_holders_fte,cases,caseload_fte\n"
        "2025,Reporting year,National,E92000001,England,,,,,,21105.4,321661,15.2\n"
        "2025,Reporting year,Local authority,E92000001,England,E12000005,West Midlands,330,"
        "E08000025,Birmingham,u,u,u\n"
        "2025,Reporting year,Local authority,E92000001,England,E12000007,London,207,"
        "E09000020,Kensington and Chelsea,x,x,x\n", encoding="utf-8")
    db = build_warehouse(tmp_path / "w.duckdb", benchmark_file=csv)
    html, _ = write_audit_report(read_only(db), "2023/24", tmp_path / "out", weights=weights,
                                 benchmark_areas=["England", "Birmingham",
                                                  "Kensington and Chelsea"])
    rows = table_rows(parse(html.read_text(encoding="utf-8")), "table-benchmarks")
    assert [(r["Area"], r["Case-holding FTE"], r["Cases"], r["Cases per FTE"])
            for r in rows[1:]] == [
        ("England", "21105.4", "321661", "15.2"),
        ("Birmingham", "u (low reliability)", "u (low reliability)", "u (low reliability)"),
        ("Kensington and Chelsea", "x (not available)", "x (not available)",
         "x (not available)")]


def test_no_benchmark_file(tmp_path, weights, read_only):
    db = build_warehouse(tmp_path / "w.duckdb", benchmark_file=None)
    html, _ = write_audit_report(read_only(db), "2023/24", tmp_path / "out", weights=weights)
    page = parse(html.read_text(encoding="utf-8"))
    assert page.texts["benchmarks-none"].startswith("No benchmark file was provided")
    assert "table-benchmarks" not in page.tables


def test_data_quality_notes_for_the_window(page):
    rows = [(r["Month"], r["File"], r["Severity"], r["Rows"])
            for r in table_rows(page, "table-data-quality")]
    # Shown: the current error and warning in the window. Not shown: passed checks,
    # information, a month outside the window and an error later fixed.
    assert rows == [("February 2023", "caseload_2023-02.csv", "warning", "3"),
                    ("April 2023", "staff_2023-04.csv", "error", "2")]
    assert "staff_2023-04.csv: fte must be greater than 0 and at most 1 (column fte)" in page.text
    assert "superseded" not in page.text and "outside the window" not in page.text


def test_first_audit_from_baseline_only(warehouse, tmp_path, read_only, weights):
    html, xlsx = write_audit_report(read_only(warehouse), "2019/20", tmp_path, weights=weights)
    page = parse(html.read_text(encoding="utf-8"))
    assert html.name == "caseload_audit_2019-20.html" and xlsx.is_file()
    assert page.lists["findings-teams"] == [
        "Occupational Therapy average 25.8", "Review Team average 24.1",
        "Hospital Team average 20.6"]
    assert {r["Source"] for r in table_rows(page, "table-teams")} == {"published"}
    assert "There is no previous audit to compare with." in page.text
    assert "This is the first caseload audit on record" in page.text
    # The survey only shows what was known by the end of the window.
    assert [r["Survey year"] for r in table_rows(page, "table-survey")] == ["2017", "2019"]
    # No monthly data: only the survey chart is drawn.
    assert [s["aria-label"] for s in page.svgs] == [
        "Staff saying their caseload is fair and manageable, by survey year"]


def test_self_contained_and_accessible(report, page):
    # Opens offline: nothing fetched, no scripts, no stylesheets or images to load.
    for tag in ("script", "link", "img", "iframe", "object", "embed"):
        assert page.start_tags[tag] == 0, tag
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", report)
    assert "@import" not in report and "url(" not in report
    assert page.start_tags["h1"] == 1
    # Every table has a caption; every chart is an image with a name and a title.
    assert page.start_tags["caption"] == page.start_tags["table"] >= 9
    assert len(page.svgs) == 7
    for svg in page.svgs:
        assert svg["role"] == "img"
        assert svg["aria-label"]
        assert svg["first_child"] == "title"
    assert '<html lang="en-GB">' in report



def test_optional_tables_may_be_missing(tmp_path, weights):
    db = build_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(db)) as con:
        for table in ("staff_survey", "data_quality", "benchmarks"):
            con.execute(f"DROP TABLE {table}")
    with duckdb.connect(str(db), read_only=True) as con:
        html, _ = write_audit_report(con, "2023/24", tmp_path / "out", weights=weights)
    page = parse(html.read_text(encoding="utf-8"))
    assert "No staff survey results are stored." in page.text
    assert page.texts["dq-none"].startswith("No errors or warnings")
    assert page.texts["benchmarks-none"].startswith("No benchmark file was provided")
    assert len(page.lists["findings-teams"]) == 4
