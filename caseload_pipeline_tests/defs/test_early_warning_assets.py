"""The early-warning assets in Dagster: materialized with Dagster's own
`materialize` on a real working database whose worker_monthly holds three
years of two teams, one flat and one climbing towards red in the last months.
The WARN check names the climbing team and counts the worker red for months."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import pytest

from caseload_pipeline.core.reference import load_reference
from caseload_pipeline.core.settings import load_settings
from caseload_pipeline.core.warehouse import Warehouse
from caseload_pipeline.defs import build_definitions
from caseload_pipeline.defs.assets.early_warning import CHECK_NAME, build_early_warning_assets
from caseload_pipeline.defs.resources import CaseloadData
from caseload_pipeline_tests import department as dep
from caseload_pipeline_tests.conftest import KEY

MONTHS = 36  # January 2020 to December 2022
LAST = dt.date(2022, 12, 1)


def _band(utilisation: float) -> str:
    return "green" if utilisation <= 1.0 else "amber" if utilisation <= 1.1 else "red"


def climbing(m: int) -> float:
    """Hospital Discharge Team: 75 % for 28 months, then up to 108 % by December 2022."""
    return 0.75 if m < 28 else 0.75 + 0.33 * (m - 27) / 8


def flat(m: int) -> float:
    """Review Team: 68 % to 72 %, no trend."""
    return 0.70 + 0.02 * ((m * 7) % 5 - 2) / 2


def worker_rows() -> list[tuple]:
    rows = []
    for m in range(MONTHS):
        month = dt.date(2020 + m // 12, m % 12 + 1, 1)
        # three workers of equal capacity per team: the team's utilisation is their mean
        for team, level, offsets in (("Hospital Discharge Team", climbing(m), (0.22, -0.08, -0.14)),
                                     ("Review Team", flat(m), (0.0, 0.0, 0.0))):
            for i, offset in enumerate(offsets):
                u = level + offset
                rows.append((month, f"{team[:6]}-{i}", team, "Social worker", 1.0, 10,
                             u * 20, 20.0, u, _band(u)))
    return rows


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    root = tmp_path_factory.mktemp("early_warning_assets")
    data_dir = root / "data"
    dep.write_reference(data_dir)
    env = {"CASELOAD_DATA_DIR": str(data_dir), "CASELOAD_PSEUDONYM_KEY": KEY,
           "CASELOAD_PSEUDONYM_KEY_FILE": str(root / "key")}
    settings = load_settings(env)
    with Warehouse(settings).connect(load_reference(settings.reference_dir)) as con:
        con.executemany("INSERT INTO worker_monthly VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        worker_rows())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CASELOAD_PSEUDONYM_KEY", KEY)  # the resource reads it as an EnvVar
        result = dg.materialize(build_early_warning_assets(),
                                resources={"caseload_data": CaseloadData.from_settings(settings)})
    return result, settings


def test_the_tables_are_materialized_and_published(materialized):
    result, settings = materialized
    assert result.success
    keys = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert keys == {"worker_alerts", "team_outlook"}
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        latest = con.execute("SELECT max(as_of_month), count(DISTINCT team) FROM team_outlook"
                             " WHERE as_of_month = (SELECT max(as_of_month) FROM team_outlook)"
                             ).fetchone()
        assert latest == (LAST, 2)
        assert con.execute("SELECT count(*) FROM outlook_backtest").fetchone()[0] == 9


def test_the_warn_check_names_the_team_heading_for_red_and_counts_red_workers(materialized):
    result, _ = materialized
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == CHECK_NAME
    assert evaluation.asset_key == dg.AssetKey("team_outlook")
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    meta = evaluation.metadata
    assert meta["as_of_month"].value == "2022-12"
    assert meta["teams_heading_for_red"].value == "Hospital Discharge Team"
    # Worker 0 of the climbing team is red from July 2022 (utilisation over 110 %).
    assert meta["workers_red_3_months_or_more"].value == 1
    [team] = meta["teams"].value.records
    assert team.data["team"] == "Hospital Discharge Team"
    assert team.data["% now"] == 108.0 and team.data["band"] == "amber"
    [overload] = meta["sustained_overload"].value.records
    assert overload.data == {"team": "Hospital Discharge Team", "role": "Social worker",
                             "red 3+ months": 1, "amber or red 3+ months": 1}
    assert evaluation.description.startswith(
        "2022-12: may enter red within 3 months: Hospital Discharge Team (108.0% now")
    assert evaluation.description.endswith("; 1 worker(s) red for 3+ months")


def test_the_flat_team_is_not_flagged(materialized):
    _, settings = materialized
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        flagged = con.execute("SELECT DISTINCT team FROM team_outlook WHERE may_enter_red"
                              ).fetchall()
    assert flagged == [("Hospital Discharge Team",)]


def test_they_refresh_by_themselves_after_a_month_changes(tmp_path):
    dep.write_reference(tmp_path / "data")
    defs = build_definitions(load_settings({"CASELOAD_DATA_DIR": str(tmp_path / "data"),
                                            "CASELOAD_PSEUDONYM_KEY": KEY}))
    with dg.instance_for_test() as instance:
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert result.total_requested == 0
        instance.report_runless_asset_event(dg.AssetMaterialization("worker_monthly",
                                                                    partition="2022-06"))
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                                   cursor=result.cursor)
        refreshed = {r.key.to_user_string() for r in result.results if r.true_subset.size}
        assert {"worker_alerts", "team_outlook", "audit_reports"} <= refreshed
    job = defs.resolve_job_def("audit_job")
    assert {"worker_alerts", "team_outlook"} <= {k.to_user_string()
                                                 for k in job.asset_layer.executable_asset_keys}
