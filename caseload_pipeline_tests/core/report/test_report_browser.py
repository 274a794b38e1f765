"""A real browser opens the report offline, from a file:// URL.

Chromium runs headless with networking switched off, so anything the page
tried to fetch would be missing. The screenshot is kept under
caseload_pipeline_tests/artifacts/ (ignored by git) for a person to look at.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from caseload_pipeline.core.report import write_audit_report
from caseload_pipeline_tests import external

from .htmlreport import parse, table_rows

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"

pytestmark = pytest.mark.browser


def chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [external.chromium(), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}",
         # Belt and braces: no host name resolves, so no request could leave the machine.
         "--host-resolver-rules=MAP * ~NOTFOUND", *extra, url],
        capture_output=True, text=True, timeout=180, check=False,
    )


@pytest.fixture(scope="module")
def rendered(warehouse, tmp_path_factory, weights):
    out = tmp_path_factory.mktemp("browser")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        html, _ = write_audit_report(
            con, "2023/24", out, weights=weights,
            benchmark_areas=["England", "West Midlands", "Coventry", "Birmingham",
                             "Warwickshire"])
    return html


def test_chromium_renders_the_report_offline(rendered, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    # The folder ignores itself, so screenshots are never committed by accident.
    (ARTIFACTS / ".gitignore").write_text("*\n")
    url = rendered.as_uri()

    shot = ARTIFACTS / "caseload_audit_2023-24.png"
    shot.unlink(missing_ok=True)
    result = chromium(url, tmp_path / "profile-shot", "--window-size=1280,7200",
                      "--hide-scrollbars", f"--screenshot={shot}")
    assert shot.is_file() and shot.stat().st_size > 50_000, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    result = chromium(url, tmp_path / "profile-dom", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = parse(result.stdout)
    assert dom.texts["title"] == "Adult social care caseload and workload audit 2023/24"
    assert dom.lists["findings-teams"] == parse(rendered.read_text("utf-8")).lists[
        "findings-teams"]
    assert len(dom.lists["findings-teams"]) == 4
    assert len(dom.svgs) == 7
    assert table_rows(dom, "table-benchmarks")[1]["Area"] == "England"
    # The early warning closes the report, with its chart, as the browser laid it out.
    assert dom.texts["early-warning-h"] == "Early warning"
    assert dom.texts["early-warning-as-of"].startswith(
        "The audit looks back over the window; this section looks ahead from its end, as the "
        "pipeline did then: as of June 2023.")
    assert [r["Team"] for r in table_rows(dom, "table-early-warning-teams")] == [
        "Hospital Discharge Team"]
    assert dom.svgs[-1]["aria-label"].startswith("Teams heading for a higher band")
    (ARTIFACTS / "caseload_audit_2023-24.dom.html").write_text(result.stdout, encoding="utf-8")
    shutil.copy(rendered, ARTIFACTS / rendered.name)
