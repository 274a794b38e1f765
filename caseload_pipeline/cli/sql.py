"""`caseload sql "SELECT ..."`: a query on the analysts' database, printed as a table.

It opens `$CASELOAD_DUCKDB_PATH` read-only, as an analyst would, so it never
blocks a run and never touches the pipeline's working database; it needs no
DuckDB command-line tool (which nothing in the project installs).
"""

from __future__ import annotations

import os
import sys

from caseload_pipeline.core.settings import Settings

EXIT_OK, EXIT_FAILED = 0, 1


def run_query(settings: Settings, query: str, max_rows: int) -> int:
    import duckdb

    path = settings.duckdb_path
    if not path.is_file():
        print(f"caseload sql: there is no analysts' database at {path} yet; "
              "`caseload materialize` (or `caseload demo`) writes it", file=sys.stderr)
        return EXIT_FAILED
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            result = con.sql(query)
            # An empty query gives no result at all.
            if result is not None:
                result.show(max_rows=max_rows)
    except duckdb.Error as exc:
        # DuckDB's own words name the problem and point at it in the query.
        print(f"caseload sql: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader stopped early (`| head`): nothing went wrong. Point stdout
        # at /dev/null so the interpreter's last flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK
