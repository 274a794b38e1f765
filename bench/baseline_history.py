"""The baseline for benchmark 2: every month of a data folder in plain DuckDB.

    python bench/baseline_history.py DATA_DIR DB_PATH

For each month with files in incoming/, oldest first: read the caseload and
staff files (CSV with DuckDB's reader; .xlsx with python-calamine, cells
turned into text the way an analyst's export reads), count the rules'
violations, refuse the whole history if a blocking rule is broken, insert the
month with HMAC keys (and reassignment against the month before) and compute
team_monthly (baseline_month.py does each month). Then the audit averages:
per audit window in audits.yaml, the mean of each team's monthly average over
the months in which it had workers. No Dagster, no GX, no pandas.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from pathlib import Path

import pyarrow as pa
import yaml
from baseline_month import check_month, connect, csv_source, load_month, sha256_of, stage_text

FILE_NAME = re.compile(r"^(caseload|staff)_(\d{4}-\d{2})\.(csv|xlsx)$", re.IGNORECASE)


def _cell_text(value: object) -> str | None:
    """An Excel cell as the text a CSV export would hold (ISO dates, 1 not 1.0)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def xlsx_table(path: Path) -> pa.Table:
    """The first sheet as an all-text Arrow table (header row = column names)."""
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    header = [str(h) for h in rows[0]]
    body = [row for row in rows[1:] if any(v not in (None, "") for v in row)]
    columns = {name: pa.array([_cell_text(r[i]) if i < len(r) else None for r in body],
                              type=pa.string())
               for i, name in enumerate(header)}
    return pa.table(columns)


def month_files(incoming: Path) -> dict[str, dict[str, Path]]:
    months: dict[str, dict[str, Path]] = {}
    for path in incoming.iterdir():
        match = FILE_NAME.match(path.name)
        if match:
            months.setdefault(match.group(2), {})[match.group(1).lower()] = path
    return dict(sorted(months.items()))


AUDIT_AVERAGES = """
    INSERT INTO audit_team_averages
    SELECT a.audit, t.team, count(*), avg(t.avg_caseload), avg(t.avg_caseload_per_fte),
           avg(t.avg_weighted_caseload)
    FROM audit_windows AS a
    JOIN team_monthly AS t ON t.month BETWEEN a.first_month AND a.last_month
    WHERE t.workers > 0
    GROUP BY ALL
"""


def main(argv: list[str]) -> int:
    data_dir, db_path = Path(argv[0]), Path(argv[1])
    start = time.perf_counter()
    con = connect(db_path, data_dir / "reference")
    previous: dict[str, int] = {}
    months = month_files(data_dir / "incoming")
    for label, paths in months.items():
        month = dt.date.fromisoformat(f"{label}-01")
        files = []
        for kind in ("staff", "caseload"):
            path = paths[kind]
            if path.suffix.lower() == ".xlsx":
                con.register(f"{kind}_sheet", xlsx_table(path))
                source = f"{kind}_sheet"
            else:
                source = csv_source(path)
            files.append((path.name, sha256_of(path), stage_text(con, kind, source)))
        broken = [f for f in check_month(con, month, previous) if f[2] and f[3]]
        if broken:
            for kind, rule, _, count in broken:
                print(f"{label} {kind}: {rule}: {count} rows", file=sys.stderr)
            return 1
        load_month(con, month, files)
        previous = {"staff": files[0][2], "caseload": files[1][2]}
    print(f"loaded {len(months)} months ({time.perf_counter() - start:.1f} s)", flush=True)

    audits = yaml.safe_load((data_dir / "reference" / "audits.yaml").read_text())["audits"]
    con.execute("CREATE OR REPLACE TABLE audit_windows (audit VARCHAR, first_month DATE,"
                " last_month DATE)")
    con.executemany("INSERT INTO audit_windows VALUES (?, ?::DATE, ?::DATE)",
                    [(a["name"], f"{a['first_month']}-01", f"{a['last_month']}-01")
                     for a in audits])
    con.execute("CREATE OR REPLACE TABLE audit_team_averages (audit VARCHAR, team VARCHAR,"
                " months_covered INTEGER, avg_caseload DOUBLE, avg_caseload_per_fte DOUBLE,"
                " avg_weighted_caseload DOUBLE)")
    con.execute(AUDIT_AVERAGES)
    print(f"audit averages ({time.perf_counter() - start:.1f} s)", flush=True)
    con.close()
    print(f"closed ({time.perf_counter() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
