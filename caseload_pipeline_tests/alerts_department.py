"""A hand-made department for the early-warning tests: four months loaded
(May, June, August and September 2022; July 2022 has no files, a gap month), so
every streak in worker_alerts can be worked out by hand.

Capacity (department.py roles): social worker 20 points per FTE. Case weights
(complexity + risk + travel points):
  HEAVY  high, high, 90 min    5 + 2 + 3 = 10
  MID    medium, medium, 30    3 + 1 + 1 =  5
  LIGHT  low, medium, 0        2 + 1 + 0 =  3
  SMALL  low, low, 0           2 + 0 + 0 =  2
Bands: green up to 1.0, amber up to 1.1, red above.

            May        June        (July)   August          September
  A1        30 red     30 red      -        30 red          4 green
  A2 0.5fte 12 red     12 red      -        12 red          12 red      (capacity 10)
  A3        12 green   12 green    -        12 green        12 green    (same cases as A2)
  A4        30 red     30 red      -        30 red (HDT)    30 red (HDT)   moves team
  A5        30 red     not on roster        30 red          30 red
  A6        21 amber   30 red      -        21 amber        30 red
  A7        team manager, holds no cases
All in the Review Team except A4 from August (Hospital Discharge Team).
Worker ids are disguised so a search of the database's bytes for them means something.
"""

from __future__ import annotations

from caseload_pipeline_tests.department import write_month

MONTHS = ("2022-05", "2022-06", "2022-08", "2022-09")
GAP_MONTH = "2022-07"
PREFIX = "WKRREF-8812-"
HEAVY = ["high", "high", "90"]
MID = ["medium", "medium", "30"]
LIGHT = ["low", "medium", "0"]
SMALL = ["low", "low", "0"]
RED, AMBER, PART_TIME_LOAD, GREEN = [HEAVY] * 3, [HEAVY, MID, LIGHT, LIGHT], [HEAVY, SMALL], \
    [SMALL] * 2


def wid(name: str) -> str:
    return PREFIX + name


def staff(month: str) -> list[list[str]]:
    mover_team = "Review Team" if month < GAP_MONTH else "Hospital Discharge Team"
    rows = [
        [wid("A1"), "Review Team", "Social worker", "1", "yes", "no"],
        [wid("A2"), "Review Team", "Social worker", "0.5", "yes", "no"],
        [wid("A3"), "Review Team", "Social worker", "1", "yes", "no"],
        [wid("A4"), mover_team, "Social worker", "1", "yes", "no"],
        [wid("A5"), "Review Team", "Social worker", "1", "yes", "no"],
        [wid("A6"), "Review Team", "Social worker", "1", "yes", "no"],
        [wid("A7"), "Review Team", "Team manager", "1", "no", "no"],
    ]
    if month == "2022-06":
        rows = [r for r in rows if r[0] != wid("A5")]  # off the roster in a loaded month
    return rows


def caseload(month: str) -> list[list[str]]:
    loads = {
        "A1": GREEN if month == "2022-09" else RED,
        "A2": PART_TIME_LOAD,
        "A3": PART_TIME_LOAD,
        "A4": RED,
        "A6": AMBER if month in ("2022-05", "2022-08") else RED,
    }
    if month != "2022-06":
        loads["A5"] = RED
    day = f"{month}-28"
    rows, case = [], 0
    for worker, cases in loads.items():
        team = "Hospital Discharge Team" if worker == "A4" and month > GAP_MONTH \
            else "Review Team"
        for complexity, risk, travel in cases:
            case += 1
            rows.append([f"CASEREF-4471-{worker}-{case}", wid(worker), day, team, complexity,
                         risk, travel, "", ""])
    return rows


def write_alerts_department(data_dir) -> None:
    for month in MONTHS:
        write_month(data_dir, month, caseload(month), staff(month))
