"""A small hand-made department for tests: reference files and monthly files
whose figures are easy to compute by hand."""

from __future__ import annotations

import csv
from pathlib import Path

TEAMS = [
    ("Review Team", "Older People Review", "Adults"),
    ("Hospital Team", "", "Hospital"),
    ("Hospital Discharge Team", "HDT", "Hospital"),
    ("Carers Team", "Cares Team", "Adults"),
]
ROLES = [
    ("Social worker", "SW", 20),
    ("Occupational therapist", "OT", 25),
    ("Team manager", "", 10),
]
AUDITS_YAML = """audits:
  - name: "2022/23"
    first_month: 2022-05
    last_month: 2022-06
  - name: "2023/24"
    first_month: 2023-05
    last_month: 2023-07
"""
WEIGHTS_YAML = """complexity: {low: 2, medium: 3, high: 5}
risk: {low: 0, medium: 1, high: 2}
travel: {minutes_per_point: 30, max_points: 3}
protected_caseload_factor: 0.9
bands: {green: 1.0, amber: 1.1}
"""
CASELOAD_HEADER = ["case_id", "worker_id", "snapshot_date", "team", "complexity", "risk",
                   "travel_minutes", "allocated_on", "reassignment_reason"]
STAFF_HEADER = ["worker_id", "team", "role", "fte", "case_holding", "protected_caseload"]


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_reference(data_dir: Path) -> Path:
    ref = data_dir / "reference"
    write_csv(ref / "teams.csv", ["team", "aliases", "service_area"], TEAMS)
    write_csv(ref / "roles.csv", ["role", "aliases", "capacity_points_per_fte"], ROLES)
    write_csv(ref / "team_lineage.csv", ["team", "predecessor", "from_audit"],
              [["Hospital Discharge Team", "Hospital Team", "2023/24"]])
    write_csv(ref / "audit_baselines.csv", ["audit", "dimension", "name", "avg_caseload"], [])
    write_csv(ref / "staff_survey.csv", ["year", "pct_fair_and_manageable"],
              [["2017", "43"], ["2019", "81"]])
    (ref / "audits.yaml").write_text(AUDITS_YAML)
    (ref / "weights.yaml").write_text(WEIGHTS_YAML)
    return ref


# Staff: worker, team, role, fte, case_holding, protected
STAFF = [
    ["W1", "Review Team", "Social worker", "1", "yes", "no"],
    ["W2", "Review Team", "SW", "0.5", "yes", "yes"],
    ["W3", "Review Team", "Social worker", "1", "yes", "no"],  # no cases
    ["W4", "Review Team", "Team manager", "1", "no", "no"],  # not case-holding
    ["W5", "Hospital Discharge Team", "OT", "0.8", "y", "n"],
]


def caseload_rows(month: str) -> list[list]:
    """W1: 3 cases (one co-allocated with W2), W2: 2, W5: 2, one unrostered."""
    day = f"{month}-28"
    return [
        ["C1", "W1", day, "Review Team", "low", "low", "0", f"{month}-01", ""],
        ["C2", "W1", day, "Review Team", "high", "high", "95", "", ""],
        ["C3", "W1", day, "Review Team", "", "", "", "", ""],
        ["C3", "W2", day, "Older People Review", "medium", "medium", "30", "", ""],
        ["C4", "W2", day, "Review Team", "MEDIUM", "Low", "45", "", ""],
        ["C5", "W5", day, "HDT", "high", "medium", "200", "", ""],
        ["C6", "W5", day, "Hospital Discharge Team", "low", "", "10", "", ""],
        ["C7", "W9", day, "Review Team", "low", "low", "0", "", ""],
    ]


def write_month(data_dir: Path, month: str, caseload: list[list] | None = None,
                staff: list[list] | None = None) -> None:
    incoming = data_dir / "incoming"
    write_csv(incoming / f"caseload_{month}.csv", CASELOAD_HEADER,
              caseload if caseload is not None else caseload_rows(month))
    write_csv(incoming / f"staff_{month}.csv", STAFF_HEADER,
              staff if staff is not None else STAFF)


# --- Additions for the pipeline tests (existing functions above keep their behaviour) ---

def reassignment_rows(month: str) -> list[list]:
    """A second month after `caseload_rows`: C1 moves from W1 to W3 (reassigned),
    W2 takes a new case C8 (red: 11 points on 9 capacity) and W5 a new case C9
    (amber: 21 points on 20 capacity).

    By hand: Review Team W1 2 cases (14 points), W2 3 cases (11), W3 1 case (2);
    Hospital Discharge Team W5 3 cases (21)."""
    day = f"{month}-28"
    return [
        ["C1", "W3", day, "Review Team", "low", "low", "0", f"{month}-02", "MANAGE"],
        ["C2", "W1", day, "Review Team", "high", "high", "95", "", ""],
        ["C3", "W1", day, "Review Team", "", "", "", "", ""],
        ["C3", "W2", day, "Older People Review", "medium", "medium", "30", "", ""],
        ["C4", "W2", day, "Review Team", "MEDIUM", "Low", "45", "", ""],
        ["C8", "W2", day, "Review Team", "low", "low", "0", "", ""],
        ["C5", "W5", day, "HDT", "high", "medium", "200", "", ""],
        ["C6", "W5", day, "Hospital Discharge Team", "low", "", "10", "", ""],
        ["C9", "W5", day, "HDT", "high", "high", "60", "", ""],
        ["C7", "W9", day, "Review Team", "low", "low", "0", "", ""],
    ]


def write_baselines(data_dir: Path, rows: list[list]) -> None:
    """Replace reference/audit_baselines.csv (audit, dimension, name, avg_caseload)."""
    write_csv(data_dir / "reference" / "audit_baselines.csv",
              ["audit", "dimension", "name", "avg_caseload"], rows)


def write_xlsx(path: Path, header: list[str], rows: list[list]) -> Path:
    """An Excel workbook with one sheet; cells keep their Python types (numbers,
    dates), as a spreadsheet saved by hand would."""
    from openpyxl import Workbook

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path
