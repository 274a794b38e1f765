"""Data never becomes markup in the HTML or a formula in the workbook."""

from __future__ import annotations

import re
import zipfile

import duckdb
import openpyxl
import pytest

from caseload_pipeline.core.report import write_audit_report

from .htmlreport import parse

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("x")'


@pytest.fixture(scope="module")
def hostile_report(hostile_warehouse, tmp_path_factory, weights):
    out = tmp_path_factory.mktemp("hostile-report")
    with duckdb.connect(str(hostile_warehouse), read_only=True) as con:
        return write_audit_report(con, "2023/24", out, weights=weights)


def test_script_team_is_inert_in_html_and_svg(hostile_report):
    html = hostile_report[0].read_text(encoding="utf-8")
    page = parse(html)
    assert SCRIPT not in html
    assert page.start_tags["script"] == 0
    # The name is shown, as text, in the findings list, the tables and the charts.
    assert f"{SCRIPT} average" in " ".join(page.lists["findings-teams"])
    assert any(row[0] == SCRIPT for row in page.tables["table-teams"])
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert sum(escaped in svg for svg in svgs) >= 4  # comparison, bands, trend, spread
    assert all("<script" not in svg for svg in svgs)
    # The data-quality message carrying the same text is escaped too.
    assert f"{SCRIPT} {FORMULA} differs from the roster" in page.text


def test_formula_like_text_is_a_string_cell(hostile_report):
    xlsx = hostile_report[1]
    wb = openpyxl.load_workbook(xlsx)
    teams = {c.value: c for c in wb["Teams"]["A"]}
    assert teams[FORMULA].data_type == "s"
    assert teams[SCRIPT].data_type == "s"
    reasons = {c.value: c for c in wb["Reassignment"]["A"] if c.value}
    for text in ('=HYPERLINK("x")', "+SUM(1)", "-1+2", "@SUM(1)"):
        assert reasons[text].data_type == "s"
    # Nowhere in the workbook is there a formula cell.
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    with zipfile.ZipFile(xlsx) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name), name
