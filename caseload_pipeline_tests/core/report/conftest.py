"""A small hand-made warehouse for the report tests.

`build_warehouse` writes a real DuckDB file with every table the report reads
(SPEC 6). Allocations and rosters are generated deterministically and the
derived tables are computed from them with plain SQL following SPEC 5, so the
fixture is internally consistent without depending on the pipeline's own SQL
(which other modules own and test).

The department: four teams in audit 2023/24 (January to June 2023; April has no
data because its staff file failed validation), compared with a published
baseline audit 2019/20 through team lineage. Optional hostile team names test
that the report never lets data become markup or a spreadsheet formula. The
early-warning tables hold hand-made rows (see EARLY_WARNING_TEAMS).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from caseload_pipeline.core.benchmarks import load_benchmarks

REPO_ROOT = Path(__file__).resolve().parents[3]
SEED_DIR = (REPO_ROOT / ".." / "shared" / "seed").resolve()

WEIGHTS = {
    "complexity": {"low": 2, "medium": 3, "high": 5},
    "risk": {"low": 0, "medium": 1, "high": 2},
    "travel": {"minutes_per_point": 30, "max_points": 3},
    "protected_caseload_factor": 0.9,
    "bands": {"green": 1.0, "amber": 1.1},
}
CAPACITY = {"Social worker": 120.0, "Occupational therapist": 125.0, "Community case worker": 140.0}

# team -> (role of each worker, target cases per worker)
TEAMS = {
    "Hospital Discharge Team": (["Social worker"] * 3 + ["Community case worker"], 30),
    "Occupational Therapy Team": (["Occupational therapist"] * 3, 26),
    "Review Team": (["Social worker"] * 3, 15),
    "Transitions Team": (["Social worker"] * 2, 11),
}
HOSTILE_TEAMS = {
    "<script>alert(1)</script>": (["Social worker"] * 2, 20),
    '=HYPERLINK("x")': (["Social worker"] * 2, 18),
}
LINEAGE = {
    "Hospital Discharge Team": "Hospital Team",
    "Occupational Therapy Team": "Occupational Therapy",
}
BASELINE_2019 = {"Hospital Team": 20.6, "Occupational Therapy": 25.8, "Review Team": 24.1}

AUDITS = [
    ("2019/20", dt.date(2019, 7, 1), dt.date(2019, 9, 1), 3, None),
    ("2023/24", dt.date(2023, 1, 1), dt.date(2023, 6, 1), 6, "2019/20"),
]
# Loaded months: December 2022 (so January can show reassignments) to June
# 2023, except April 2023, which failed validation.
MONTHS = [dt.date(2022, 12, 1)] + [dt.date(2023, m, 1) for m in (1, 2, 3, 5, 6)]
SURVEY = [("2019", 81.0), ("2017", 43.0), ("2022/23", 73.0)]


def seed_file(name: str) -> Path:
    """A public data file from ../shared/seed; fail (never skip) when it is missing."""
    path = SEED_DIR / name
    if not path.is_file():
        pytest.fail(f"seed file missing: {path} (the tests read it from the shared folder "
                    "next to the repository; it is not committed here)")
    return path


def _key(*parts: object) -> str:
    # Stand-in for the pipeline's HMAC pseudonyms: opaque, stable keys.
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:16]


def _case_weight(complexity: str | None, risk: str | None, travel: int | None) -> float:
    points = WEIGHTS["complexity"][complexity or "medium"] + WEIGHTS["risk"][risk or "medium"]
    if travel is not None:
        t = WEIGHTS["travel"]
        points += min(t["max_points"], travel // t["minutes_per_point"])
    return float(points)


def _generate(teams: dict, reasons: list[str]) -> tuple[list[tuple], list[tuple]]:
    """Roster and allocation rows for every loaded month."""
    rng = random.Random(20230630)
    staff_rows, alloc_rows = [], []
    holding: dict[str, set[str]] = {}  # worker -> cases held last month
    case_info: dict[str, tuple] = {}
    next_case = 0
    previous: dict[str, set[str]] = {}  # case -> workers last month
    for month in MONTHS:
        current: dict[str, set[str]] = {}
        for t_idx, (team, (roles, target)) in enumerate(teams.items()):
            workers = [(_key("w", t_idx, i), role) for i, role in enumerate(roles)]
            for i, (worker, role) in enumerate(workers):
                fte = [1.0, 0.8, 1.0, 0.6][i % 4]
                protected = i == 1
                capacity = CAPACITY[role] * fte * (WEIGHTS["protected_caseload_factor"]
                                                   if protected else 1.0)
                staff_rows.append((month, worker, team, role, fte, True, protected, capacity))
                kept = {c for c in holding.get(worker, set()) if rng.random() > 0.12}
                want = max(1, round(target * fte + rng.randint(-3, 3)))
                # Some cases move between colleagues: these become reassignments.
                for other, _ in workers:
                    if other != worker and holding.get(other) and rng.random() < 0.3:
                        kept.add(sorted(holding[other])[0])
                while len(kept) < want:
                    next_case += 1
                    case = _key("c", next_case)
                    case_info[case] = (
                        rng.choice(["low", "medium", "high", None]),
                        rng.choice(["low", "medium", "high", None]),
                        rng.choice([None, 0, 15, 45, 70, 130]),
                        month - dt.timedelta(days=rng.randint(1, 300)),
                    )
                    kept.add(case)
                holding[worker] = kept
                for case in sorted(kept):
                    complexity, risk, travel, allocated_on = case_info[case]
                    reassigned = case in previous and worker not in previous[case]
                    alloc_rows.append((
                        month, case, worker, team, role, complexity, risk, travel,
                        min(allocated_on, month), _case_weight(complexity, risk, travel),
                        reassigned, True, rng.choice(reasons) if reassigned else None,
                    ))
                    current.setdefault(case, set()).add(worker)
            # A team manager: on the roster, not case-holding, left out of averages.
            staff_rows.append((month, _key("m", t_idx), team, "Social worker", 1.0, False,
                               False, CAPACITY["Social worker"]))
        # An allocation to a worker missing from the roster: kept, never averaged.
        alloc_rows.append((month, _key("orphan", month), _key("not-rostered"),
                           next(iter(teams)), None, None, None, None, None, 3.0, False, False,
                           None))
        previous = current
    return staff_rows, alloc_rows


_DERIVED_SQL = """
CREATE TABLE worker_monthly AS
SELECT s.month, s.worker_key, s.team, s.role, s.fte,
       count(a.case_key)::INTEGER AS cases,
       coalesce(sum(a.case_weight), 0) AS weighted_caseload,
       s.capacity_points,
       coalesce(sum(a.case_weight), 0) / s.capacity_points AS utilisation,
       CASE WHEN coalesce(sum(a.case_weight), 0) / s.capacity_points <= $green THEN 'green'
            WHEN coalesce(sum(a.case_weight), 0) / s.capacity_points <= $amber THEN 'amber'
            ELSE 'red' END AS band
FROM staff s
LEFT JOIN allocations a ON a.month = s.month AND a.worker_key = s.worker_key AND a.rostered
GROUP BY s.month, s.worker_key, s.team, s.role, s.fte, s.capacity_points;

CREATE TABLE team_monthly AS
WITH w AS (
    SELECT w.*, (SELECT count(*) FROM allocations a WHERE a.month = w.month
                 AND a.worker_key = w.worker_key AND a.reassigned) AS reassigned
    FROM worker_monthly w JOIN staff s USING (month, worker_key) WHERE s.case_holding
)
SELECT month, team, count(*)::INTEGER AS workers, sum(fte) AS fte,
       sum(cases)::INTEGER AS cases, sum(cases) / count(*) AS avg_caseload,
       sum(cases) / sum(fte) AS avg_caseload_per_fte,
       sum(weighted_caseload) / count(*) AS avg_weighted_caseload,
       median(cases) AS median_caseload, max(cases) AS max_caseload,
       sum(reassigned)::INTEGER AS reassigned_cases,
       sum(reassigned) / nullif(sum(cases), 0) AS reassignment_rate
FROM w GROUP BY month, team;

CREATE TABLE role_monthly AS
SELECT w.month, w.role, count(*)::INTEGER AS workers, sum(w.fte) AS fte,
       sum(w.cases)::INTEGER AS cases, sum(w.cases) / count(*) AS avg_caseload,
       sum(w.cases) / sum(w.fte) AS avg_caseload_per_fte
FROM worker_monthly w JOIN staff s USING (month, worker_key) WHERE s.case_holding
GROUP BY w.month, w.role;

INSERT INTO audit_team_averages
SELECT a.audit, t.team, a.months_expected, count(*)::INTEGER, avg(t.avg_caseload),
       avg(t.avg_caseload_per_fte), avg(t.avg_weighted_caseload), 'monthly'
FROM audits a JOIN team_monthly t ON t.month BETWEEN a.first_month AND a.last_month
GROUP BY a.audit, t.team, a.months_expected;

INSERT INTO audit_role_averages
SELECT a.audit, r.role, a.months_expected, count(*)::INTEGER, avg(r.avg_caseload),
       avg(r.avg_caseload_per_fte), 'monthly'
FROM audits a JOIN role_monthly r ON r.month BETWEEN a.first_month AND a.last_month
GROUP BY a.audit, r.role, a.months_expected;

INSERT INTO audit_comparison
SELECT cur.audit, cur.team, a.previous_audit, coalesce(l.predecessor, cur.team),
       cur.avg_caseload, prev.avg_caseload, cur.avg_caseload - prev.avg_caseload,
       100 * (cur.avg_caseload - prev.avg_caseload) / prev.avg_caseload,
       CASE WHEN prev.avg_caseload IS NULL THEN 'new'
            WHEN abs(cur.avg_caseload - prev.avg_caseload) < 0.05 THEN 'unchanged'
            WHEN cur.avg_caseload > prev.avg_caseload THEN 'increased'
            ELSE 'decreased' END,
       prev.source
FROM audit_team_averages cur
JOIN audits a ON a.audit = cur.audit AND a.previous_audit IS NOT NULL
LEFT JOIN lineage l ON l.team = cur.team
LEFT JOIN audit_team_averages prev
       ON prev.audit = a.previous_audit AND prev.team = coalesce(l.predecessor, cur.team);
"""

_SCHEMA_SQL = """
CREATE TABLE audits (audit VARCHAR, first_month DATE, last_month DATE,
                     months_expected INTEGER, previous_audit VARCHAR);
CREATE TABLE allocations (month DATE, case_key VARCHAR, worker_key VARCHAR, team VARCHAR,
    role VARCHAR, complexity VARCHAR, risk VARCHAR, travel_minutes INTEGER, allocated_on DATE,
    case_weight DOUBLE, reassigned BOOLEAN, rostered BOOLEAN, reassignment_reason VARCHAR);
CREATE TABLE staff (month DATE, worker_key VARCHAR, team VARCHAR, role VARCHAR, fte DOUBLE,
    case_holding BOOLEAN, protected_caseload BOOLEAN, capacity_points DOUBLE);
CREATE TABLE audit_team_averages (audit VARCHAR, team VARCHAR, months_expected INTEGER,
    months_covered INTEGER, avg_caseload DOUBLE, avg_caseload_per_fte DOUBLE,
    avg_weighted_caseload DOUBLE, source VARCHAR);
CREATE TABLE audit_role_averages (audit VARCHAR, role VARCHAR, months_expected INTEGER,
    months_covered INTEGER, avg_caseload DOUBLE, avg_caseload_per_fte DOUBLE, source VARCHAR);
CREATE TABLE audit_comparison (audit VARCHAR, team VARCHAR, previous_audit VARCHAR,
    previous_team VARCHAR, avg_caseload DOUBLE, previous_avg_caseload DOUBLE, change DOUBLE,
    pct_change DOUBLE, direction VARCHAR, previous_source VARCHAR);
CREATE TABLE staff_survey (year VARCHAR, pct_fair_and_manageable DOUBLE);
CREATE TABLE data_quality (month DATE, file VARCHAR, rule VARCHAR, severity VARCHAR,
    passed BOOLEAN, unexpected_count INTEGER, example_lines VARCHAR, message VARCHAR,
    checked_at TIMESTAMP);
CREATE TEMP TABLE lineage (team VARCHAR, predecessor VARCHAR);
"""


def _data_quality_rows(hostile: bool) -> list[tuple]:
    t = dt.datetime(2023, 7, 3, 9, 0)
    fte_message = ("staff_2023-04.csv: fte must be greater than 0 and at most 1 (column fte): "
                   "2 rows, lines 14 (1.5), 27 (0)")
    team_message = ("caseload_2023-02.csv: team differs from the roster team (column team): "
                    "3 rows, lines 4, 9, 12")
    if hostile:
        team_message = "<script>alert(1)</script> =HYPERLINK(\"x\") differs from the roster"
    return [
        # shown: a blocking error and a warning inside the window
        (dt.date(2023, 4, 1), "staff_2023-04.csv", "fte_in_range", "error", False, 2,
         "14 (1.5), 27 (0)", fte_message, t),
        (dt.date(2023, 2, 1), "caseload_2023-02.csv", "team_matches_roster", "warning", False,
         3, "4, 9, 12", team_message, t),
        # not shown: passed, information only, outside the window, superseded by a pass
        (dt.date(2023, 3, 1), "staff_2023-03.csv", "fte_in_range", "error", True, 0, None,
         "fte in range", t),
        (dt.date(2023, 3, 1), "caseload_2023-03.csv", "extra_columns", "info", False, 1, None,
         "caseload_2023-03.csv: extra column notes not loaded", t),
        (dt.date(2022, 12, 1), "caseload_2022-12.csv", "team_matches_roster", "warning", False,
         1, "3", "caseload_2022-12.csv: outside the window", t),
        (dt.date(2023, 5, 1), "caseload_2023-05.csv", "blank_ids", "error", False, 1, "7",
         "caseload_2023-05.csv: superseded error", t - dt.timedelta(days=2)),
        (dt.date(2023, 5, 1), "caseload_2023-05.csv", "blank_ids", "error", True, 0, None,
         "case_id not blank", t),
    ]


_EARLY_WARNING_SQL = """
CREATE TABLE worker_alerts (month DATE, worker_key VARCHAR, team VARCHAR, role VARCHAR,
    fte DOUBLE, utilisation DOUBLE, band VARCHAR, consecutive_months INTEGER,
    since_month DATE, above_green_months INTEGER, above_green_since DATE);
CREATE TABLE team_outlook (as_of_month DATE, team VARCHAR, horizon INTEGER, month DATE,
    method VARCHAR, utilisation DOUBLE, band VARCHAR, projected_utilisation DOUBLE,
    low DOUBLE, high DOUBLE, projected_band VARCHAR, high_band VARCHAR, may_enter_red BOOLEAN);
CREATE TABLE outlook_backtest (as_of_month DATE, method VARCHAR, horizon INTEGER,
    forecasts INTEGER, mean_absolute_error DOUBLE, shown BOOLEAN);
CREATE TABLE pseudonym_check (fingerprint VARCHAR);
"""
# Early warning as the pipeline would have written it (as of June 2023, the window's
# last month): the Hospital Discharge Team at 104 % with red inside its range from
# August; the Review Team flat and green. A later month (July 2023) and an earlier
# one (May 2023) are there too, so the report must pick June.
EARLY_WARNING_TEAMS = {
    # team: (utilisation now, (low, high) at +1, +2, +3)
    "Hospital Discharge Team": (1.04, ((0.99, 1.08), (0.97, 1.11), (0.96, 1.13))),
    "Review Team": (0.70, ((0.65, 0.74), (0.63, 0.77), (0.62, 0.79))),
}


def _band(value: float) -> str:
    return "green" if value <= 1.0 else "amber" if value <= 1.1 else "red"


def _early_warning_rows(teams: dict) -> dict[str, list[tuple]]:
    outlook = []
    for as_of, shift in ((dt.date(2023, 5, 1), -0.05), (dt.date(2023, 6, 1), 0.0),
                         (dt.date(2023, 7, 1), 0.03)):
        for team, (now, ranges) in teams.items():
            now += shift
            for horizon, (low, high) in enumerate(ranges, start=1):
                low, high = low + shift, high + shift
                month = dt.date(2023, as_of.month + horizon, 1)
                outlook.append((as_of, team, horizon, month, "naive", now, _band(now), now,
                                low, high, _band(now), _band(high),
                                _band(now) != "red" and high > 1.1))
    june, may = dt.date(2023, 6, 1), dt.date(2023, 5, 1)
    alerts = [
        # sustained: two social workers red 3 and 5 months, one amber 4 months over green
        (june, _key("alert", 1), "Hospital Discharge Team", "Social worker", 1.0, 1.2, "red",
         3, dt.date(2023, 3, 1), 3, dt.date(2023, 3, 1)),
        (june, _key("alert", 2), "Hospital Discharge Team", "Social worker", 0.8, 1.3, "red",
         5, dt.date(2022, 12, 1), 5, dt.date(2022, 12, 1)),
        (june, _key("alert", 3), "Hospital Discharge Team", "Community case worker", 1.0, 1.05,
         "amber", 1, june, 4, dt.date(2023, 2, 1)),
        # not sustained: two months over green
        (june, _key("alert", 4), "Review Team", "Social worker", 1.0, 1.2, "red", 2, may, 2,
         may),
        # another month: not counted in June
        (may, _key("alert", 5), "Review Team", "Social worker", 1.0, 1.3, "red", 9,
         dt.date(2022, 9, 1), 9, dt.date(2022, 9, 1)),
    ]
    backtest = [(dt.date(2023, 7, 1), method, h, 60 - h, mae, method == "naive")
                for method, errors in (("naive", (0.027, 0.035, 0.041)),
                                       ("trend", (0.028, 0.037, 0.043)),
                                       ("trend_seasonal", (0.031, 0.041, 0.047)))
                for h, mae in enumerate(errors, start=1)]
    return {"team_outlook": outlook, "worker_alerts": alerts, "outlook_backtest": backtest}


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    # Thousands of rows: one bulk insert from a DataFrame, not one statement per row.
    columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    con.register("incoming_rows", frame)
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM incoming_rows")
    finally:
        con.unregister("incoming_rows")


def build_warehouse(path: Path, *, hostile: bool = False,
                    benchmark_file: Path | None = None) -> Path:
    """Create the DuckDB warehouse at `path` and return the path."""
    teams = {**TEAMS, **(HOSTILE_TEAMS if hostile else {})}
    reasons = ["MANAGE", "LEFTRL", "ORGRST", ""]
    if hostile:
        # Every reason looks like a spreadsheet formula.
        reasons = ["=HYPERLINK(\"x\")", "+SUM(1)", "-1+2", "@SUM(1)"]
    staff_rows, alloc_rows = _generate(teams, reasons)
    con = duckdb.connect(str(path))
    try:
        con.execute(_SCHEMA_SQL)
        con.executemany("INSERT INTO audits VALUES (?, ?, ?, ?, ?)", AUDITS)
        _insert(con, "staff", staff_rows)
        _insert(con, "allocations", alloc_rows)
        con.executemany("INSERT INTO lineage VALUES (?, ?)", list(LINEAGE.items()))
        con.executemany(
            "INSERT INTO audit_team_averages VALUES ('2019/20', ?, 3, 3, ?, NULL, NULL, "
            "'baseline')", list(BASELINE_2019.items()))
        bands = WEIGHTS["bands"]
        con.execute(_DERIVED_SQL.replace("$green", str(bands["green"]))
                    .replace("$amber", str(bands["amber"])))
        con.executemany("INSERT INTO staff_survey VALUES (?, ?)", SURVEY)
        con.executemany("INSERT INTO data_quality VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        _data_quality_rows(hostile))
        load_benchmarks(con, benchmark_file)
        con.execute(_EARLY_WARNING_SQL)
        warning_teams = dict(EARLY_WARNING_TEAMS)
        if hostile:
            warning_teams[next(iter(HOSTILE_TEAMS))] = EARLY_WARNING_TEAMS[
                "Hospital Discharge Team"]
        for table, rows in _early_warning_rows(warning_teams).items():
            _insert(con, table, rows)
    finally:
        con.close()
    return path


@pytest.fixture(scope="session")
def weights() -> dict:
    return WEIGHTS


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Path:
    """The standard warehouse, with the published DfE subset as benchmarks."""
    path = tmp_path_factory.mktemp("warehouse") / "caseload.duckdb"
    return build_warehouse(path, benchmark_file=seed_file("csww_caseload_subset.csv"))


@pytest.fixture(scope="session")
def hostile_warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "caseload.duckdb"
    return build_warehouse(path, hostile=True)


@pytest.fixture
def read_only(request):
    """Open a warehouse read-only, as an analyst (and the report) would."""
    connections = []

    def open_(path: Path) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(path), read_only=True)
        connections.append(con)
        return con

    yield open_
    for con in connections:
        con.close()
