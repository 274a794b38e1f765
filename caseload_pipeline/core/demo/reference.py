"""The reference files (SPEC 4) of the demo department, as text."""

from __future__ import annotations

import csv
import io

from .department import AUDITS, LINEAGE, ROLES, STAFF_SURVEY, TEAMS

# SPEC 4's default weights, written the way an analyst would keep the file.
WEIGHTS_YAML = """\
complexity: {low: 2, medium: 3, high: 5}     # points per case
risk: {low: 0, medium: 1, high: 2}           # added per case
travel: {minutes_per_point: 30, max_points: 3}
protected_caseload_factor: 0.9               # of capacity, for ASYE/students
bands: {green: 1.0, amber: 1.1}              # utilisation at most green, at most amber, else red
"""


# Peer figures for the reports (SPEC 11). The file is public but not shipped:
# the analyst downloads it from Explore Education Statistics into external/.
BENCHMARKS_YAML = """\
file: csww_indicators_2017_to_2025.csv   # under $CASELOAD_DATA_DIR/external/
areas: [England, West Midlands, Coventry, Birmingham, Warwickshire]
"""


def _csv(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _audits_yaml() -> str:
    lines = ["audits:"]
    for audit in AUDITS:
        lines += [
            f'  - name: "{audit.name}"',
            f"    first_month: {audit.first_month}",
            f"    last_month: {audit.last_month}",
        ]
    return "\n".join(lines) + "\n"


def _baselines() -> list[list[object]]:
    # The first audit as published, typed in by an analyst from the report.
    first = AUDITS[0]
    return [
        [first.name, "team", team, f"{value:.1f}"] for team, value in first.team_averages.items()
    ]


def reference_files() -> dict[str, str]:
    """File name (under reference/) -> content."""
    return {
        "teams.csv": _csv(
            ["team", "aliases", "service_area"],
            [[t.name, ";".join(t.aliases), t.service_area] for t in TEAMS],
        ),
        "roles.csv": _csv(
            ["role", "aliases", "capacity_points_per_fte"],
            [[r.name, ";".join(r.aliases), r.capacity_points_per_fte] for r in ROLES],
        ),
        "team_lineage.csv": _csv(["team", "predecessor", "from_audit"], [list(r) for r in LINEAGE]),
        "audit_baselines.csv": _csv(["audit", "dimension", "name", "avg_caseload"], _baselines()),
        "staff_survey.csv": _csv(
            ["year", "pct_fair_and_manageable"], [list(r) for r in STAFF_SURVEY]
        ),
        "audits.yaml": _audits_yaml(),
        "weights.yaml": WEIGHTS_YAML,
        "benchmarks.yaml": BENCHMARKS_YAML,
    }
