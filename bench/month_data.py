"""A large, valid month for benchmark 1: reference files, a roster and a caseload.

numpy draws the structure (who holds how many cases, which cases are
co-allocated) from a fixed seed, and DuckDB turns the integer codes into text
and writes the CSVs, so a million rows take a couple of seconds to make.

The values mix what real extracts hold: canonical names, aliases and odd
spellings of teams and roles, capitalised levels, blanks, ISO and UK dates,
a handful of allocations to workers not on the roster and of team mismatches
(warnings, not errors), so the validation does its usual work.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

AREAS = ("North", "South", "East", "West", "Central")
SERVICES = (  # (name, alias abbreviation, service area)
    ("Review Team", "RT", "Older people"),
    ("Hospital Discharge Team", "HDT", "Hospital and discharge"),
    ("Reablement Team", "REA", "Hospital and discharge"),
    ("Learning Disability Team", "LD", "All age disability"),
    ("Mental Health Team", "MH", "Mental health"),
    ("Safeguarding Team", "SG", "Front door and prevention"),
    ("Carers Team", "CT", "Front door and prevention"),
    ("Sensory Team", "ST", "Therapy and sensory"),
)
# (role, aliases, capacity points per fte, case holding, share of staff)
ROLES = (
    ("Social worker", "SW;Senior social worker", 115, True, 0.45),
    ("Community case worker", "CCW;Social care practitioner", 120, True, 0.20),
    ("Occupational therapist", "OT", 125, True, 0.15),
    ("Occupational therapist assistant", "OTA", 135, True, 0.12),
    ("Team manager", "TM;Team leader", 40, False, 0.08),
)
AUDITS_YAML = """audits:
  - name: "2019/20"
    first_month: 2019-07
    last_month: 2019-09
  - name: "2023/24"
    first_month: 2022-07
    last_month: 2023-06
"""
WEIGHTS_YAML = """complexity: {low: 2, medium: 3, high: 5}
risk: {low: 0, medium: 1, high: 2}
travel: {minutes_per_point: 30, max_points: 3}
protected_caseload_factor: 0.9
bands: {green: 1.0, amber: 1.1}
"""
MAX_PER_WORKER = 55  # the pipeline warns above 60
UNROSTERED_WORKERS = 20


def teams() -> list[tuple[str, str, str]]:
    return [(f"{area} {name}", f"{area} {abbr}", service_area)
            for area in AREAS for name, abbr, service_area in SERVICES]


def write_reference(data_dir: Path) -> None:
    ref = data_dir / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    frames = {
        "teams.csv": pd.DataFrame(teams(), columns=["team", "aliases", "service_area"]),
        "roles.csv": pd.DataFrame([r[:3] for r in ROLES],
                                  columns=["role", "aliases", "capacity_points_per_fte"]),
        "team_lineage.csv": pd.DataFrame(columns=["team", "predecessor", "from_audit"]),
        "audit_baselines.csv": pd.DataFrame(columns=["audit", "dimension", "name",
                                                     "avg_caseload"]),
        "staff_survey.csv": pd.DataFrame([("2017", 43), ("2019", 81), ("2023", 65)],
                                         columns=["year", "pct_fair_and_manageable"]),
    }
    for name, frame in frames.items():
        frame.to_csv(ref / name, index=False)
    (ref / "audits.yaml").write_text(AUDITS_YAML)
    (ref / "weights.yaml").write_text(WEIGHTS_YAML)


def _pick(rng: np.random.Generator, n: int, shares: list[float]) -> np.ndarray:
    """Codes 0..len(shares)-1 drawn with those shares."""
    return rng.choice(len(shares), size=n, p=np.array(shares) / sum(shares)).astype(np.int8)


def _cases_per_worker(rng, fte, case_holding, rows: int) -> np.ndarray:
    """A skewed caseload per worker, in proportion to fte, capped, summing to `rows`."""
    want = rng.gamma(shape=5.0, scale=1.0, size=len(fte)) * fte
    want[~case_holding] *= 0.05  # managers hold the odd case
    want[rng.random(len(fte)) < 0.01] = 0  # new starters with no cases yet
    scale = rows / want.sum()
    for _ in range(50):  # capping removes cases; raise the scale until they fit
        counts = np.minimum(MAX_PER_WORKER, np.floor(want * scale)).astype(np.int64)
        if counts.sum() >= rows:
            break
        scale *= 1 + (rows - counts.sum()) / rows
    excess = counts.sum() - rows
    if excess:  # take one case each from the busiest workers
        counts[np.argsort(-counts, kind="stable")[:excess]] -= 1
    return counts


def write_month(data_dir: Path, month: str, allocations: int = 1_000_000,
                workers: int = 50_000, seed: int = 20230630) -> dict:
    """Write incoming/caseload_<month>.csv and staff_<month>.csv; return their sizes."""
    rng = np.random.default_rng(seed)
    incoming = data_dir / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    first = dt.date.fromisoformat(f"{month}-01")
    month_end = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    role_shares = [r[4] for r in ROLES]
    team_count = len(teams())

    role = _pick(rng, workers, role_shares)
    fte = np.array([1.0, 0.8, 0.6, 0.5])[_pick(rng, workers, [65, 15, 10, 10])]
    staff = pd.DataFrame({
        "w": np.arange(workers),
        "team_ix": rng.integers(0, team_count, workers),
        "team_style": _pick(rng, workers, [80, 10, 10]),  # name, alias, lower case
        "role_ix": role,
        "role_style": _pick(rng, workers, [85, 15]),  # name, first alias
        "fte_text": _pick(rng, workers, [80, 20]),  # "0.8" or "0.80"
        "fte": fte,
        "holding_style": _pick(rng, workers, [70, 20, 10]),  # yes / Y / true
        "protected": rng.random(workers) < 0.04,
    })
    holding = np.array([r[3] for r in ROLES])[role]
    counts = _cases_per_worker(rng, fte, holding, allocations - 5 * UNROSTERED_WORKERS)

    # Rows in random order, as a case system export would not group them.
    worker = np.concatenate([np.repeat(np.arange(workers), counts),
                             np.repeat(workers + np.arange(UNROSTERED_WORKERS), 5)])
    worker = worker[rng.permutation(len(worker))]
    n = len(worker)
    # About 5 % of rows are the second worker of the case on the row before.
    co = (rng.random(n) < 0.05) & (np.roll(worker, 1) != worker)
    co &= ~np.roll(co, 1)  # pairs only: a third worker could repeat the first
    co[0] = False
    case = np.cumsum(~co)
    team_of = np.concatenate([staff["team_ix"].to_numpy(),
                              rng.integers(0, team_count, UNROSTERED_WORKERS)])
    team_ix = team_of[worker]
    mismatch = rng.random(n) < 0.001  # the case system shows another team
    team_ix[mismatch] = (team_ix[mismatch] + 1) % team_count
    caseload = pd.DataFrame({
        "case_no": case + 1_000_000,
        "w": worker,
        "team_ix": team_ix,
        "team_style": _pick(rng, n, [90, 10]),
        "complexity": _pick(rng, n, [28, 38, 18, 10, 3, 3]),  # low medium high blank High MEDIUM
        "risk": _pick(rng, n, [40, 30, 12, 15, 3]),  # low medium high blank Low
        "travel": np.minimum(600, rng.gamma(2.0, 22.0, n)).astype(np.int32),
        "travel_blank": rng.random(n) < 0.15,
        "age_days": np.minimum(3000, rng.geometric(1 / 300, n)),
        "date_style": _pick(rng, n, [75, 20, 5]),  # ISO, UK, blank
        "reason": _pick(rng, n, [88, 4, 3, 2, 2, 1]),
    })

    con = duckdb.connect()
    con.register("staff_codes", staff)
    con.register("case_codes", caseload)
    team_names = [t[0] for t in teams()]
    team_aliases = [t[1] for t in teams()]
    con.execute("SET VARIABLE team_names = ?", [team_names])
    con.execute("SET VARIABLE team_aliases = ?", [team_aliases])
    con.execute("SET VARIABLE role_names = ?", [[r[0] for r in ROLES]])
    con.execute("SET VARIABLE role_aliases = ?", [[r[1].split(";")[0] for r in ROLES]])
    con.execute("SET VARIABLE month_end = ?::DATE", [month_end])
    staff_path = incoming / f"staff_{month}.csv"
    caseload_path = incoming / f"caseload_{month}.csv"
    # DuckDB lists are 1-based, hence the + 1 on every code.
    con.execute(f"""
        COPY (
            SELECT
                'W' || lpad(w::VARCHAR, 6, '0') AS worker_id,
                CASE team_style
                    WHEN 0 THEN getvariable('team_names')[team_ix + 1]
                    WHEN 1 THEN getvariable('team_aliases')[team_ix + 1]
                    ELSE lower(getvariable('team_names')[team_ix + 1]) END AS team,
                CASE role_style
                    WHEN 0 THEN getvariable('role_names')[role_ix + 1]
                    ELSE getvariable('role_aliases')[role_ix + 1] END AS role,
                CASE WHEN fte = 1 THEN '1' WHEN fte_text = 0 THEN fte::VARCHAR
                     ELSE printf('%.2f', fte) END AS fte,
                CASE WHEN role_ix = {len(ROLES) - 1} THEN 'no'
                     ELSE ['yes', 'Y', 'true'][holding_style + 1] END AS case_holding,
                CASE WHEN protected THEN 'yes' ELSE 'no' END AS protected_caseload
            FROM staff_codes ORDER BY w
        ) TO '{staff_path}' (HEADER, DELIMITER ',')
    """)
    con.execute(f"""
        COPY (
            SELECT
                'C' || case_no::VARCHAR AS case_id,
                'W' || lpad(w::VARCHAR, 6, '0') AS worker_id,
                strftime(getvariable('month_end'), '%Y-%m-%d') AS snapshot_date,
                CASE team_style
                    WHEN 0 THEN getvariable('team_names')[team_ix + 1]
                    ELSE getvariable('team_aliases')[team_ix + 1] END AS team,
                ['low', 'medium', 'high', NULL, 'High', 'MEDIUM'][complexity + 1] AS complexity,
                ['low', 'medium', 'high', NULL, 'Low'][risk + 1] AS risk,
                CASE WHEN travel_blank THEN NULL ELSE travel::VARCHAR END AS travel_minutes,
                CASE date_style
                    WHEN 0 THEN strftime(getvariable('month_end') - age_days::INTEGER, '%Y-%m-%d')
                    WHEN 1 THEN strftime(getvariable('month_end') - age_days::INTEGER, '%d/%m/%Y')
                    END AS allocated_on,
                [NULL, 'MANAGE', 'LEFTRL', 'ORGRST', 'ABSENC', 'Worker left'][reason + 1]
                    AS reassignment_reason
            FROM case_codes
        ) TO '{caseload_path}' (HEADER, DELIMITER ',')
    """)
    con.close()
    return {"allocations": n, "staff": workers, "cases": int(case[-1]),
            "workers_with_cases": int((counts > 0).sum()) + UNROSTERED_WORKERS,
            "max_per_worker": int(counts.max()),
            "caseload_mb": round(caseload_path.stat().st_size / 2**20, 1),
            "staff_mb": round(staff_path.stat().st_size / 2**20, 1)}


if __name__ == "__main__":  # a quick look: python bench/month_data.py /tmp/folder
    import sys
    import time

    target = Path(sys.argv[1])
    start = time.perf_counter()
    write_reference(target)
    print(write_month(target, "2023-06"), f"{time.perf_counter() - start:.1f} s")
