"""The baseline: a month's work done in plain DuckDB, no Dagster, no Great Expectations.

    python bench/baseline_month.py DATA_DIR YYYY-MM DB_PATH

Reads both files with DuckDB's CSV reader as text, counts every blocking
rule's violations (and the cheap warnings) in SQL, refuses the month if any
blocking rule is broken, then inserts the month with HMAC-SHA256 keys into
`staff` and `allocations` and computes `team_monthly`, all in the DuckDB file.
It is what a careful analyst would write by hand: the yardstick the
pipeline's time and memory are measured against, not a second implementation
to keep in step (so it imports nothing from caseload_pipeline). The key comes
from CASELOAD_PSEUDONYM_KEY, as for the pipeline.

baseline_history.py imports the functions below for every month of the demo.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import re
import sys
import time
from pathlib import Path

import duckdb
import yaml

CASELOAD_COLUMNS = ("case_id", "worker_id", "snapshot_date", "team", "complexity", "risk",
                    "travel_minutes", "allocated_on", "reassignment_reason")
STAFF_COLUMNS = ("worker_id", "team", "role", "fte", "case_holding", "protected_caseload")
FLAGS = ("true", "false", "yes", "no", "y", "n", "1", "0")

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff (
    month DATE, worker_key VARCHAR, team VARCHAR, role VARCHAR, fte DOUBLE,
    case_holding BOOLEAN, protected_caseload BOOLEAN, capacity_points DOUBLE);
CREATE TABLE IF NOT EXISTS allocations (
    month DATE, case_key VARCHAR, worker_key VARCHAR, team VARCHAR, role VARCHAR,
    complexity VARCHAR, risk VARCHAR, travel_minutes INTEGER, allocated_on DATE,
    case_weight DOUBLE, reassigned BOOLEAN, rostered BOOLEAN, case_system_team VARCHAR,
    snapshot_date DATE, reassignment_reason VARCHAR);
CREATE TABLE IF NOT EXISTS team_monthly (
    month DATE, team VARCHAR, workers INTEGER, fte DOUBLE, cases INTEGER,
    avg_caseload DOUBLE, avg_caseload_per_fte DOUBLE, avg_weighted_caseload DOUBLE,
    reassigned_cases INTEGER);
CREATE TABLE IF NOT EXISTS data_quality (month DATE, file VARCHAR, rule VARCHAR,
    blocking BOOLEAN, unexpected_count BIGINT);
CREATE TABLE IF NOT EXISTS load_log (month DATE, file VARCHAR, sha256 VARCHAR, rows BIGINT);
"""
MACROS = """
CREATE OR REPLACE TEMP MACRO fold(x) AS lower(regexp_replace(trim(x), '\\s+', ' ', 'g'));
CREATE OR REPLACE TEMP MACRO parse_date(x) AS
    coalesce(try_strptime(x, '%Y-%m-%d'), try_strptime(x, '%d/%m/%Y'))::DATE;
CREATE OR REPLACE TEMP MACRO flag(x, default_value) AS
    CASE WHEN x IS NULL THEN default_value ELSE lower(x) IN ('true', 'yes', 'y', '1') END;
"""


def hmac_macro(key: bytes) -> str:
    """HMAC-SHA256 as a DuckDB macro: H((k ^ opad) || H((k ^ ipad) || m)).

    The same construction as caseload_pipeline/core/pseudonym.py (written out here
    so the baseline stays independent of the code it measures).
    """
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in key).hex()
    opad = bytes(b ^ 0x5C for b in key).hex()
    return ("CREATE OR REPLACE TEMP MACRO pseudonym(value) AS "
            f"sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || encode(value))))")


def _fold(text: str) -> str:
    return " ".join(text.split()).lower()


def connect(db_path: Path, reference_dir: Path):
    """The warehouse with its tables, the macros and the reference lookups."""
    con = duckdb.connect(str(db_path))
    con.execute(SCHEMA)
    con.execute(MACROS)
    con.execute(hmac_macro(os.environ["CASELOAD_PSEUDONYM_KEY"].encode()))
    aliases = {"team": [], "role": []}
    capacity = []
    for kind in aliases:
        with (reference_dir / f"{kind}s.csv").open(newline="", encoding="utf-8-sig") as f:
            for row in csv.DictReader(f):
                names = [row[kind], *row["aliases"].split(";")]
                aliases[kind] += [(_fold(n), row[kind]) for n in names if n.strip()]
                if kind == "role":
                    capacity.append((row["role"], float(row["capacity_points_per_fte"])))
    for kind, pairs in aliases.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE {kind}_alias (folded VARCHAR, {kind} VARCHAR)")
        con.executemany(f"INSERT INTO {kind}_alias VALUES (?, ?)", pairs)
    con.execute("CREATE OR REPLACE TEMP TABLE role_capacity (role VARCHAR, points DOUBLE)")
    con.executemany("INSERT INTO role_capacity VALUES (?, ?)", capacity)
    w = yaml.safe_load((reference_dir / "weights.yaml").read_text())
    con.execute("CREATE OR REPLACE TEMP TABLE level_weights (dimension VARCHAR, level VARCHAR,"
                " points DOUBLE)")
    con.executemany("INSERT INTO level_weights VALUES (?, ?, ?)",
                    [(d, level, p) for d in ("complexity", "risk") for level, p in w[d].items()])
    for name, value in {"minutes_per_point": w["travel"]["minutes_per_point"],
                        "max_travel_points": w["travel"]["max_points"],
                        "protected_factor": w["protected_caseload_factor"],
                        "complexity_medium": w["complexity"]["medium"],
                        "risk_medium": w["risk"]["medium"]}.items():
        con.execute(f"SET VARIABLE {name} = {float(value)}")
    return con


def _normalise(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").strip().lower())


def stage_text(con, kind: str, source: str) -> int:
    """`{kind}_text`: the file's known columns, trimmed, blanks as NULL, with line numbers.

    `source` is a relation: a read_csv(...) call or a registered table. Missing
    optional columns become NULL; headers are matched as the contract says.
    """
    wanted = CASELOAD_COLUMNS if kind == "caseload" else STAFF_COLUMNS
    present = {_normalise(c): c for c in con.execute(f"DESCRIBE SELECT * FROM {source}")
               .fetchnumpy()["column_name"]}
    select = ", ".join(
        f"nullif(trim(\"{present[c]}\"), '') AS {c}" if c in present else f"NULL::VARCHAR AS {c}"
        for c in wanted)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {kind}_text AS SELECT"
                f" row_number() OVER () + 1 AS line, {select} FROM {source}")
    return con.execute(f"SELECT count(*) FROM {kind}_text").fetchall()[0][0]


def check_month(con, month: dt.date, previous_rows: dict[str, int] | None = None) -> list:
    """Count each rule's violations; returns (file kind, rule, blocking, count) rows."""
    con.execute("SET VARIABLE first_day = ?::DATE", [month])
    con.execute("SET VARIABLE last_day = (?::DATE + INTERVAL 1 MONTH - INTERVAL 1 DAY)::DATE",
                [month])
    flags = ", ".join(f"'{f}'" for f in FLAGS)
    staff = con.execute(f"""
        SELECT
            count(*) = 0, count_if(worker_id IS NULL),
            count(worker_id) - count(DISTINCT worker_id),
            count_if(s.team IS NULL), count_if(s.team IS NOT NULL AND t.team IS NULL),
            count_if(s.role IS NULL), count_if(s.role IS NOT NULL AND r.role IS NULL),
            count_if(fte IS NULL),
            count_if(fte IS NOT NULL AND NOT coalesce(try_cast(fte AS DOUBLE) > 0
                                                      AND try_cast(fte AS DOUBLE) <= 1, false)),
            count_if(lower(case_holding) NOT IN ({flags})),
            count_if(lower(protected_caseload) NOT IN ({flags}))
        FROM staff_text AS s
        LEFT JOIN team_alias AS t ON t.folded = fold(s.team)
        LEFT JOIN role_alias AS r ON r.folded = fold(s.role)
    """).fetchall()[0]
    caseload = con.execute("""
        WITH c AS (
            SELECT *, try_cast(travel_minutes AS DOUBLE) AS travel,
                   count(*) OVER (PARTITION BY worker_id) AS worker_rows
            FROM caseload_text)
        SELECT
            count(*) = 0, count_if(c.case_id IS NULL), count_if(c.worker_id IS NULL),
            (SELECT count(*) FROM (SELECT case_id, worker_id FROM caseload_text
                                   GROUP BY ALL HAVING count(*) > 1)),
            count_if(c.team IS NOT NULL AND t.team IS NULL),
            count_if(lower(c.complexity) NOT IN ('low', 'medium', 'high')),
            count_if(lower(c.risk) NOT IN ('low', 'medium', 'high')),
            count_if(c.travel_minutes IS NOT NULL
                     AND NOT coalesce(travel BETWEEN 0 AND 600 AND travel % 1 = 0, false)),
            count_if(c.snapshot_date IS NOT NULL AND NOT coalesce(parse_date(c.snapshot_date)
                     BETWEEN getvariable('first_day') AND getvariable('last_day'), false)),
            count_if(c.allocated_on IS NOT NULL AND NOT coalesce(parse_date(c.allocated_on)
                     <= getvariable('last_day'), false)),
            count_if(c.worker_rows > 60),
            count_if(c.worker_id IS NOT NULL AND s.worker_id IS NULL),
            count_if(t.team IS DISTINCT FROM rt.team AND t.team IS NOT NULL
                     AND rt.team IS NOT NULL)
        FROM c
        LEFT JOIN team_alias AS t ON t.folded = fold(c.team)
        LEFT JOIN staff_text AS s ON s.worker_id = c.worker_id
        LEFT JOIN team_alias AS rt ON rt.folded = fold(s.team)
    """).fetchall()[0]
    staff_rules = ["empty file", "blank worker_id", "duplicate worker_id", "blank team",
                   "unknown team", "blank role", "unknown role", "blank fte", "fte range",
                   "case_holding flag", "protected_caseload flag"]
    caseload_rules = ["empty file", "blank case_id", "blank worker_id", "duplicate pair",
                      "unknown team", "complexity level", "risk level", "travel range",
                      "snapshot_date in month", "allocated_on by month end",
                      "over 60 allocations", "unrostered worker", "team mismatch"]
    warnings = {"over 60 allocations", "unrostered worker", "team mismatch"}
    findings = [("staff", r, True, int(n)) for r, n in zip(staff_rules, staff, strict=True)]
    findings += [("caseload", r, r not in warnings, int(n))
                 for r, n in zip(caseload_rules, caseload, strict=True)]
    for kind, rows in (previous_rows or {}).items():
        now = con.execute(f"SELECT count(*) FROM {kind}_text").fetchall()[0][0]
        findings.append((kind, "row count within 50 %", False,
                         int(not rows * 0.5 <= now <= rows * 1.5)))
    # One transaction: outside one, each row would be a commit (a WAL flush) of its own.
    con.execute("BEGIN TRANSACTION")
    con.executemany("INSERT INTO data_quality VALUES (?, ?, ?, ?, ?)",
                    [(month, *f) for f in findings])
    con.execute("COMMIT")
    return findings


def load_month(con, month: dt.date, files: list[tuple[str, str, int]]) -> None:
    """Replace the month's staff and allocations from the checked text tables."""
    con.execute("SET VARIABLE month = ?::DATE", [month])
    con.execute("BEGIN TRANSACTION")
    for table in ("staff", "allocations", "team_monthly", "load_log"):
        con.execute(f"DELETE FROM {table} WHERE month = ?", [month])
    con.execute("""
        INSERT INTO staff
        SELECT getvariable('month'), pseudonym(s.worker_id), t.team, r.role,
               s.fte::DOUBLE, flag(s.case_holding, true), flag(s.protected_caseload, false),
               rc.points * s.fte::DOUBLE * CASE WHEN flag(s.protected_caseload, false)
                                          THEN getvariable('protected_factor') ELSE 1 END
        FROM staff_text AS s
        JOIN team_alias AS t ON t.folded = fold(s.team)
        JOIN role_alias AS r ON r.folded = fold(s.role)
        JOIN role_capacity AS rc ON rc.role = r.role
    """)
    # Reassigned: the case was allocated last month, and not to this worker.
    con.execute("""
        INSERT INTO allocations
        WITH worker_keys AS (  -- a worker id repeats ~20 times: hash each one once
            SELECT worker_id, pseudonym(worker_id) AS worker_key
            FROM (SELECT DISTINCT worker_id FROM caseload_text)),
        c AS (SELECT t.*, pseudonym(t.case_id) AS case_key, k.worker_key
              FROM caseload_text AS t JOIN worker_keys AS k USING (worker_id)),
        previous AS (SELECT case_key, list(worker_key) AS workers FROM allocations
                     WHERE month = (getvariable('month') - INTERVAL 1 MONTH)::DATE
                     GROUP BY case_key)
        SELECT getvariable('month'), c.case_key, c.worker_key, coalesce(s.team, t.team), s.role,
               lower(c.complexity), lower(c.risk), c.travel_minutes::DOUBLE::INTEGER,
               parse_date(c.allocated_on),
               coalesce(cw.points, getvariable('complexity_medium'))  -- blank counts as medium
                 + coalesce(rw.points, getvariable('risk_medium'))
                 + least(getvariable('max_travel_points'),  -- least() skips NULLs: 0 first
                    coalesce(floor(c.travel_minutes::DOUBLE / getvariable('minutes_per_point')),
                             0)),
               p.case_key IS NOT NULL AND NOT list_contains(p.workers, c.worker_key),
               s.worker_key IS NOT NULL, t.team, parse_date(c.snapshot_date),
               c.reassignment_reason
        FROM c
        LEFT JOIN staff AS s ON s.month = getvariable('month') AND s.worker_key = c.worker_key
        LEFT JOIN team_alias AS t ON t.folded = fold(c.team)
        LEFT JOIN level_weights AS cw ON cw.dimension = 'complexity'
                                     AND cw.level = lower(c.complexity)
        LEFT JOIN level_weights AS rw ON rw.dimension = 'risk' AND rw.level = lower(c.risk)
        LEFT JOIN previous AS p ON p.case_key = c.case_key
    """)
    con.execute("""
        INSERT INTO team_monthly
        WITH w AS (
            SELECT s.team, s.fte, count(a.case_key) AS cases,
                   coalesce(sum(a.case_weight), 0) AS weighted,
                   count_if(a.reassigned) AS reassigned
            FROM staff AS s
            LEFT JOIN allocations AS a ON a.month = s.month AND a.worker_key = s.worker_key
            WHERE s.month = getvariable('month') AND s.case_holding
            GROUP BY s.worker_key, s.team, s.fte)
        SELECT getvariable('month'), team, count(*), sum(fte), sum(cases),
               sum(cases) / count(*), sum(cases) / sum(fte), sum(weighted) / count(*),
               sum(reassigned)
        FROM w GROUP BY team
    """)
    con.executemany("INSERT INTO load_log VALUES (?, ?, ?, ?)",
                    [(month, *f) for f in files])
    con.execute("COMMIT")


def sha256_of(path: Path) -> str:
    return hashlib.file_digest(path.open("rb"), "sha256").hexdigest()


def csv_source(path: Path) -> str:
    return (f"read_csv('{path}', header = true, all_varchar = true, delim = ',',"
            " quote = '\"', escape = '\"', strict_mode = true)")


def main(argv: list[str]) -> int:
    data_dir, month_text, db_path = Path(argv[0]), argv[1], Path(argv[2])
    month = dt.date.fromisoformat(f"{month_text}-01")
    start = time.perf_counter()
    con = connect(db_path, data_dir / "reference")
    files = []
    for kind in ("staff", "caseload"):
        path = data_dir / "incoming" / f"{kind}_{month_text}.csv"
        rows = stage_text(con, kind, csv_source(path))
        files.append((path.name, sha256_of(path), rows))
    print(f"read {files[1][2]} allocations, {files[0][2]} staff"
          f" ({time.perf_counter() - start:.1f} s)", flush=True)
    broken = [f for f in check_month(con, month) if f[2] and f[3]]
    print(f"checked ({time.perf_counter() - start:.1f} s)", flush=True)
    if broken:
        for kind, rule, _, count in broken:
            print(f"{kind}: {rule}: {count} rows", file=sys.stderr)
        return 1
    load_month(con, month, files)
    print(f"loaded ({time.perf_counter() - start:.1f} s)", flush=True)
    con.close()  # checkpoints the file
    print(f"closed ({time.perf_counter() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
