"""An analyst who keeps the published DuckDB file open, read-only, and queries it.

Usage: analyst_reader.py DUCKDB_PATH OUT_JSONL STOP_FILE

Until STOP_FILE exists: wait for the file to appear, connect read-only, run a
few queries on that connection over about a second (holding it open while the
pipeline publishes), close, reconnect (to see the latest publication). Each
connection's outcome is one JSON line: the months it saw, how many queries
ran, and the error if any query or the connection failed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

QUERIES = [
    "SELECT count(*) FROM information_schema.tables",
    "SELECT strftime(month, '%Y-%m') AS m, count(*) FROM allocations GROUP BY m ORDER BY m",
    "SELECT team, month, avg_caseload FROM team_monthly ORDER BY month, team",
    "SELECT audit, team, avg_caseload FROM audit_team_averages ORDER BY ALL",
]


def main(path: Path, out: Path, stop: Path) -> None:
    with out.open("a") as sink:
        while not stop.exists():
            if not path.exists():
                time.sleep(0.2)
                continue
            record = {"t": time.time(), "queries": 0, "months": [], "error": None}
            try:
                con = duckdb.connect(str(path), read_only=True)
                try:
                    for _ in range(3):
                        for query in QUERIES:
                            rows = con.execute(query).fetchall()
                            record["queries"] += 1
                            if "allocations" in query:
                                record["months"] = [m for m, _ in rows]
                        time.sleep(0.3)
                finally:
                    con.close()
            except Exception as exc:  # noqa: BLE001 - every failure is the finding
                record["error"] = f"{type(exc).__name__}: {exc}"
            sink.write(json.dumps(record) + "\n")
            sink.flush()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
