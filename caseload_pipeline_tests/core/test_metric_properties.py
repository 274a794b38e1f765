"""Properties of the metric and audit SQL on random departments (hypothesis).

The months are written straight to staging parquet and loaded with the
warehouse functions, so each example costs DuckDB work only.
"""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseload_pipeline.core.audit import refresh_audit_tables
from caseload_pipeline.core.load import MonthFiles, load_months, refresh_reassignment
from caseload_pipeline.core.metrics import refresh_metrics
from caseload_pipeline.core.months import Month
from caseload_pipeline.core.reference import load_reference
from caseload_pipeline.core.settings import load_settings
from caseload_pipeline.core.warehouse import Warehouse
from caseload_pipeline_tests.department import write_reference

pytestmark = pytest.mark.slow  # many generated departments

MONTHS = [Month(2023, 5), Month(2023, 6), Month(2023, 7)]  # the fixture's 2023/24 window
TEAMS = ["Review Team", "Hospital Discharge Team", "Carers Team"]
ROLES = ["Social worker", "Occupational therapist"]
TABLES = ["allocations", "staff", "worker_monthly", "team_monthly", "role_monthly",
          "audit_team_averages", "audit_role_averages", "audit_comparison"]


def _department(seed: int, months: list[Month]) -> dict[Month, tuple[pd.DataFrame, pd.DataFrame]]:
    """Random rosters and caseloads with case continuity between months."""
    rng = random.Random(seed)
    workers = [f"W{i}" for i in range(rng.randint(2, 9))]
    data = {}
    open_cases: dict[str, list[str]] = {}
    for month in months:
        staff = pd.DataFrame({
            "worker_id": workers,
            "team": [rng.choice(TEAMS) for _ in workers],
            "role": [rng.choice(ROLES) for _ in workers],
            "fte": [str(rng.choice([0.5, 0.6, 0.8, 1])) for _ in workers],
            "case_holding": [rng.choice(["yes", "yes", "yes", "no"]) for _ in workers],
            "protected_caseload": [rng.choice(["no", "no", "yes"]) for _ in workers],
        })
        # keep most cases, move some, close some, open new ones
        cases = {}
        for case, holders in open_cases.items():
            if rng.random() < 0.8:
                cases[case] = holders if rng.random() < 0.8 else [rng.choice(workers)]
        for i in range(rng.randint(0, 25)):
            cases[f"C{month}-{i}"] = rng.sample(workers, k=1 if rng.random() < 0.9 else 2)
        open_cases = cases
        rows = [(case, worker) for case, holders in cases.items() for worker in holders]
        caseload = pd.DataFrame({
            "case_id": [r[0] for r in rows],
            "worker_id": [r[1] for r in rows],
            "snapshot_date": None, "team": None,
            "complexity": [rng.choice(["low", "medium", "high", None]) for _ in rows],
            "risk": [rng.choice(["low", "medium", "high", None]) for _ in rows],
            "travel_minutes": [rng.choice([None, "0", "29", "30", "95", "200"]) for _ in rows],
            "allocated_on": None, "reassignment_reason": None,
        }, dtype=object)
        data[month] = (caseload, staff)
    return data


def _build(tmp: Path, data, batches: list[list[Month]]) -> dict[str, pd.DataFrame]:
    """The tables after loading `batches` of months, one load per batch."""
    data_dir = tmp / "data"
    write_reference(data_dir)
    cfg = load_settings({"CASELOAD_DATA_DIR": str(data_dir),
                         "CASELOAD_PSEUDONYM_KEY": "property-test-key-0123456789"})
    reference = load_reference(cfg.reference_dir)
    with Warehouse(cfg).connect(reference) as con:
        for batch in batches:
            files = []
            for month in batch:
                caseload, staff = data[month]
                folder = tmp / "staging" / str(month)
                folder.mkdir(parents=True, exist_ok=True)
                caseload.to_parquet(folder / "caseload.parquet")
                staff.to_parquet(folder / "staff.parquet")
                files.append(MonthFiles(month, folder / "caseload.parquet",
                                        folder / "staff.parquet", []))
            load_months(con, files, "run")
            refresh_reassignment(con, batch)
            refresh_metrics(con, batch)
        refresh_audit_tables(con)
        return {t: _sorted(con, t) for t in TABLES}


def _one_by_one(months: list[Month]) -> list[list[Month]]:
    return [[month] for month in months]


def _sorted(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    frame = con.execute(f"SELECT * FROM {table}").df()
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


hypothesis_settings = settings(max_examples=15, deadline=None,
                               suppress_health_check=[HealthCheck.function_scoped_fixture])


@hypothesis_settings
@given(seed=st.integers(0, 10_000))
def test_team_totals_are_sums_over_workers_and_audit_is_mean_of_months(seed, tmp_path_factory):
    tables = _build(tmp_path_factory.mktemp("p"), _department(seed, MONTHS),
                    _one_by_one(MONTHS))
    workers, teams = tables["worker_monthly"], tables["team_monthly"]
    by_team = workers.groupby(["month", "team"]).agg(
        workers=("worker_key", "size"), cases=("cases", "sum"), fte=("fte", "sum"),
        weighted=("weighted_caseload", "sum"), max_caseload=("cases", "max")).reset_index()
    merged = teams.merge(by_team, on=["month", "team"], suffixes=("", "_w"))
    assert len(merged) == len(teams) == len(by_team)
    assert (merged.workers == merged.workers_w).all()
    assert (merged.cases == merged.cases_w).all()
    assert (merged.max_caseload == merged.max_caseload_w).all()
    assert merged.fte.sub(merged.fte_w).abs().max() < 1e-9
    assert (merged.avg_caseload - merged.cases_w / merged.workers_w).abs().max() < 1e-9
    assert (merged.avg_weighted_caseload - merged.weighted / merged.workers_w).abs().max() < 1e-9

    audit = tables["audit_team_averages"].set_index("team")
    window = teams[teams.workers > 0].groupby("team").avg_caseload.agg(["mean", "size"])
    assert sorted(audit.index) == sorted(window.index)
    for team, row in window.iterrows():
        assert audit.at[team, "avg_caseload"] == pytest.approx(row["mean"])
        assert audit.at[team, "months_covered"] == row["size"]
        assert audit.at[team, "months_expected"] == 3


@hypothesis_settings
@given(seed=st.integers(0, 10_000), permutation=st.permutations(MONTHS))
def test_loading_months_in_any_order_gives_the_same_tables(seed, permutation, tmp_path_factory):
    data = _department(seed, MONTHS)
    in_order = _build(tmp_path_factory.mktemp("a"), data, _one_by_one(MONTHS))
    shuffled = _build(tmp_path_factory.mktemp("b"), data, _one_by_one(list(permutation)))
    for table in TABLES:
        pd.testing.assert_frame_equal(in_order[table], shuffled[table], obj=table)


@hypothesis_settings
@given(seed=st.integers(0, 10_000), permutation=st.permutations(MONTHS))
def test_loading_months_together_gives_what_loading_them_one_by_one_does(
        seed, permutation, tmp_path_factory):
    """A run loads its months in one statement per table (load.load_months): each
    row must land in its own month whatever the order of the months or of their
    files' columns (a file's columns are staged in the order its header gives)."""
    data = _department(seed, MONTHS)
    rng = random.Random(seed)
    reordered = {month: tuple(frame[rng.sample(list(frame.columns), k=frame.shape[1])]
                              for frame in frames) for month, frames in data.items()}
    one_by_one = _build(tmp_path_factory.mktemp("a"), data, _one_by_one(MONTHS))
    together = _build(tmp_path_factory.mktemp("b"), reordered, [list(permutation)])
    for table in TABLES:
        pd.testing.assert_frame_equal(one_by_one[table], together[table], obj=table)
