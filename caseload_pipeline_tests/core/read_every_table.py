"""Print, as JSON, what a DuckDB client reads from a database file: its own
version, then every table's columns, row count and first rows in a fixed order.

Run as a script by the project's Python (DuckDB 2) and by DuckDB 1.x clients in
their own environments, so it imports nothing but duckdb and the standard library.
Usage: python read_every_table.py FILE SAMPLE_ROWS
"""

import json
import sys

import duckdb

path, sample_rows = sys.argv[1], int(sys.argv[2])
con = duckdb.connect(path, read_only=True)
tables = {}
for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        " ORDER BY table_name").fetchall():
    tables[name] = {
        "columns": [[column, kind] for column, kind, *_ in
                    con.execute(f'DESCRIBE "{name}"').fetchall()],
        "rows": con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0],
        "sample": con.execute(
            f'SELECT * FROM "{name}" ORDER BY ALL LIMIT {sample_rows}').fetchall(),
    }
con.close()
# Dates, timestamps and decimals print as text; both sides run this same code.
print(json.dumps({"duckdb": duckdb.__version__, "tables": tables}, default=str))
