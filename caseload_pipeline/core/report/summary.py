"""Print each audit's findings the way the published audits state them."""

from __future__ import annotations

import duckdb

from caseload_pipeline.core.settings import Settings


def _month_name(day) -> str:
    return day.strftime("%B %Y")


def audit_findings(con: duckdb.DuckDBPyConnection) -> list[str]:
    lines = []
    audits = con.execute(
        "SELECT audit, first_month, last_month, months_expected, previous_audit"
        " FROM audits ORDER BY first_month").fetchall()
    for audit, first, last, expected, previous in audits:
        covered = con.execute(
            "SELECT max(months_covered) FROM audit_team_averages WHERE audit = ?",
            [audit]).fetchone()[0]
        lines += ["", f"Caseload and workload audit {audit}: {_month_name(first)} to "
                      f"{_month_name(last)} ({covered or 0} of {expected} months loaded)"]
        roles = con.execute(
            "SELECT role, avg_caseload FROM audit_role_averages a"
            " JOIN roles USING (role) WHERE audit = ? ORDER BY roles.rowid", [audit]).fetchall()
        if roles:
            lines.append("  By role:")
            lines += [f"    {role} average {value:.1f}" for role, value in roles]
        teams = con.execute(
            "SELECT team, avg_caseload, source FROM audit_team_averages a"
            " JOIN teams USING (team) WHERE audit = ? ORDER BY teams.rowid", [audit]).fetchall()
        lines.append("  By team:")
        lines += [f"    {team} average {value:.1f}" + ("" if source == "monthly" else
                                                       f" ({source})")
                  for team, value, source in teams]
        if previous:
            lines.append(f"  Change since {previous}:")
            rows = con.execute(
                "SELECT direction, team, previous_team, previous_avg_caseload, avg_caseload"
                " FROM audit_comparison c JOIN teams USING (team) WHERE audit = ?"
                " ORDER BY CASE direction WHEN 'increased' THEN 1 WHEN 'decreased' THEN 2"
                " WHEN 'unchanged' THEN 3 ELSE 4 END, teams.rowid", [audit]).fetchall()
            for direction, team, previous_team, before, now in rows:
                if direction == "new":
                    lines.append(f"    new: {team} (no figure in {previous})")
                    continue
                was = "" if previous_team == team else f" (was {previous_team})"
                lines.append(f"    {direction}: {team}{was} {before:.1f} -> {now:.1f}")
    return lines


def print_findings(settings: Settings) -> None:
    con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    try:
        print("\n".join(audit_findings(con)).lstrip("\n"))
    finally:
        con.close()
