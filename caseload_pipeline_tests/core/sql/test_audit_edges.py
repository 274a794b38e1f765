"""Edges of the audit comparison (issue 8, item 7), each computed by hand.

The audit tables are computed by the real SQL from `team_monthly` and
`role_monthly` rows written here directly, so each figure below is chosen, not
derived from generated files. department.py's audits: 2022/23 (May-June 2022)
and 2023/24 (May-July 2023).
"""

from __future__ import annotations

import datetime as dt

import pytest

from caseload_pipeline.core.audit import refresh_audit_tables
from caseload_pipeline.core.reference import load_reference
from caseload_pipeline.core.settings import load_settings
from caseload_pipeline.core.warehouse import Warehouse
from caseload_pipeline_tests import department as dep
from caseload_pipeline_tests.conftest import KEY

MAY_2022, MAY_2023 = dt.date(2022, 5, 1), dt.date(2023, 5, 1)


def audit_tables(tmp_path, team_rows, role_rows=(), baselines=(), lineage=None) -> dict:
    """Write the department's reference files (with these baselines and lineage
    rows), put the (month, team, avg_caseload) rows into team_monthly and the
    (month, role, avg_caseload) rows into role_monthly, refresh the audit tables
    and return them as lists of dicts."""
    data = tmp_path / "data"
    ref = dep.write_reference(data)
    dep.write_baselines(data, [list(b) for b in baselines])
    if lineage is not None:
        dep.write_csv(ref / "team_lineage.csv", ["team", "predecessor", "from_audit"], lineage)
    settings = load_settings({"CASELOAD_DATA_DIR": str(data), "CASELOAD_PSEUDONYM_KEY": KEY})
    with Warehouse(settings).connect(load_reference(ref)) as con:
        for month, team, average in team_rows:
            con.execute("INSERT INTO team_monthly (month, team, workers, avg_caseload)"
                        " VALUES (?, ?, 1, ?)", [month, team, average])
        for month, role, average in role_rows:
            con.execute("INSERT INTO role_monthly (month, role, workers, avg_caseload)"
                        " VALUES (?, ?, 1, ?)", [month, role, average])
        refresh_audit_tables(con)
        tables = {}
        for table in ("audit_team_averages", "audit_role_averages", "audit_comparison"):
            cursor = con.execute(f"SELECT * FROM {table} ORDER BY ALL")
            names = [d[0] for d in cursor.description]
            tables[table] = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    return tables


def test_direction_is_decided_on_the_change_free_of_float_noise(tmp_path):
    # by hand: 413 cases / 20 workers = 20.65 against 20.6 is a change of +0.05,
    # "increased" (|change| < 0.05 is unchanged); in doubles 20.65 - 20.6 is
    # 0.04999999999999716. 20.649 against 20.6 is +0.049: unchanged. 9.95 against
    # 10.0 is -0.05: decreased. 3.0 against 3.0: unchanged.
    assert 413 / 20 - 20.6 < 0.05  # the noise this test is about
    got = audit_tables(tmp_path, [
        (MAY_2022, "Review Team", 20.6), (MAY_2023, "Review Team", 413 / 20),
        (MAY_2022, "Hospital Team", 20.6), (MAY_2023, "Hospital Team", 20.649),
        (MAY_2022, "Carers Team", 10.0), (MAY_2023, "Carers Team", 9.95),
        (MAY_2022, "Hospital Discharge Team", 3.0), (MAY_2023, "Hospital Discharge Team", 3.0),
    ], lineage=[])
    directions = {r["team"]: (r["direction"], r["change"]) for r in got["audit_comparison"]}
    assert directions == {
        "Review Team": ("increased", pytest.approx(0.05)),
        "Hospital Team": ("unchanged", pytest.approx(0.049)),
        "Carers Team": ("decreased", pytest.approx(-0.05)),
        "Hospital Discharge Team": ("unchanged", 0.0),
    }


def test_the_lineage_in_force_from_the_latest_audit_is_followed(tmp_path):
    # The Hospital Discharge Team replaced the Hospital Team from 2022/23, then
    # the Carers Team from 2023/24, which itself replaced the Review Team from
    # 2023/24. For 2023/24 the latest lineage is in force: HDT -> Carers Team
    # (no 2022/23 figure) -> Review Team (12.0). Not Hospital Team (30.0), one
    # step nearer but replaced by the later row.
    got = audit_tables(tmp_path, [
        (MAY_2022, "Hospital Team", 30.0), (MAY_2022, "Review Team", 12.0),
        (MAY_2023, "Hospital Discharge Team", 13.0),
    ], lineage=[["Hospital Discharge Team", "Hospital Team", "2022/23"],
                ["Hospital Discharge Team", "Carers Team", "2023/24"],
                ["Carers Team", "Review Team", "2023/24"]])
    [row] = got["audit_comparison"]
    assert (row["team"], row["previous_team"], row["previous_avg_caseload"], row["change"],
            row["direction"]) == ("Hospital Discharge Team", "Review Team", 12.0, 1.0,
                                  "increased")


def test_the_published_baseline_stands_in_per_audit_and_team(tmp_path):
    # 2022/23 is loaded for the Review Team only (May 2.0, June 4.0: 3.0); the
    # Hospital Team (3.5) and Carers Team (1.02) are known from the published
    # audit only. The Review Team's published 1.65 is not used: its months are.
    # Roles alike: social workers loaded (2.5), occupational therapists published.
    got = audit_tables(
        tmp_path,
        [(MAY_2022, "Review Team", 2.0), (dt.date(2022, 6, 1), "Review Team", 4.0),
         (MAY_2023, "Review Team", 3.5), (MAY_2023, "Hospital Discharge Team", 3.0),
         (MAY_2023, "Carers Team", 1.0)],
        role_rows=[(MAY_2022, "Social worker", 2.5), (MAY_2023, "Social worker", 2.0)],
        baselines=[["2022/23", "team", "Hospital Team", "3.5"],
                   ["2022/23", "team", "Review Team", "1.65"],
                   ["2022/23", "team", "Cares Team", "1.02"],
                   ["2022/23", "role", "SW", "9.9"], ["2022/23", "role", "OT", "2.2"]])
    previous = {(r["team"], r["source"], r["months_covered"], r["avg_caseload"])
                for r in got["audit_team_averages"] if r["audit"] == "2022/23"}
    assert previous == {("Review Team", "monthly", 2, 3.0), ("Hospital Team", "baseline", 0, 3.5),
                        ("Carers Team", "baseline", 0, 1.02)}
    compared = {r["team"]: (r["previous_team"], r["previous_source"], r["direction"])
                for r in got["audit_comparison"]}
    assert compared == {
        "Review Team": ("Review Team", "monthly", "increased"),  # 3.5 against 3.0
        "Hospital Discharge Team": ("Hospital Team", "baseline", "decreased"),  # 3.0 vs 3.5
        "Carers Team": ("Carers Team", "baseline", "unchanged"),  # 1.0 against 1.02
    }
    roles = {(r["role"], r["source"], r["avg_caseload"])
             for r in got["audit_role_averages"] if r["audit"] == "2022/23"}
    assert roles == {("Social worker", "monthly", 2.5),
                     ("Occupational therapist", "baseline", 2.2)}
