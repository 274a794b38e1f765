"""The running UI in headless Chromium, as the analyst opens it: the lineage of
groups, a group's asset graph and a partitions page. Screenshots are saved in
caseload_pipeline_tests/artifacts/ (git-ignored) for a person to look at."""

from __future__ import annotations

import html
import re
import subprocess
import tempfile

import pytest

from caseload_pipeline_tests import external
from caseload_pipeline_tests.e2e.conftest import ARTIFACTS, BACKFILL_MONTHS

# Chromium must not reach anything but this machine: no background services,
# and every host name other than 127.0.0.1 fails to resolve.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1400,900", "--virtual-time-budget=20000",
]


pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def chromium():
    return external.chromium()


def page_text(chromium: str, url: str, screenshot_name: str) -> str:
    """Load `url`, save a screenshot, return the rendered page's visible text."""
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / screenshot_name
    screenshot.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        result = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             f"--screenshot={screenshot}", "--dump-dom", url],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert screenshot.stat().st_size > 10_000, "blank screenshot"
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", result.stdout, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom)))


def test_lineage_shows_the_groups_as_the_flow(chromium, dagster_dev):
    text = page_text(chromium, f"{dagster_dev.url}/asset-groups", "ui_lineage.png")
    assert "Global asset lineage" in text
    for group in ("extract", "validate", "load", "metrics", "audit", "report"):
        assert re.search(rf"\b{group}\b", text), group
    # no pop-up over the graph (nux disabled in the instance)
    assert "Join the Dagster community" not in text


def test_group_graph_shows_our_assets(chromium, dagster_dev, operated):
    text = page_text(chromium, f"{dagster_dev.url}/locations/caseload_pipeline/asset-groups/"
                               "metrics", "ui_metrics_group.png")
    for name in ("worker_monthly", "team_monthly", "role_monthly", "allocations"):
        assert name in text, name
    assert "0% filled" not in text  # the loaded months show on every node


def test_partitions_page_shows_the_loaded_months(chromium, dagster_dev, operated):
    months = len(operated["months_after_backfill"]) + len(operated["sensor_runs"])
    text = page_text(chromium,
                     f"{dagster_dev.url}/assets/team_monthly?view=partitions"
                     f"&partition={BACKFILL_MONTHS[-1]}", "ui_team_monthly_partitions.png")
    assert "team_monthly" in text
    assert f"Materialized ({months})" in text, text[:600]
    assert BACKFILL_MONTHS[-1] in text
