"""Published benchmarks: the DfE children's social work workforce file (SPEC 11).

The only public caseload statistics in England are the Department for
Education's children's social work workforce figures. Analysts download the
file from Explore Education Statistics into `$CASELOAD_DATA_DIR/external/` and
name it in `reference/benchmarks.yaml`; this module loads it, as published,
into the `benchmarks` table.

Published files mark a missing figure with a suppression code (`x` not
available, `u` low reliability, `z` not applicable, `c` confidential, ...).
A code is not a number, so the value column is NULL and the code is kept
beside it in `<column>_code`: the report shows the code rather than a blank.

The CSV is read by DuckDB with every column as text, so no value is guessed
into a type before we decide what it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

# The measures we keep; each gets a DOUBLE column and a `*_code` column.
MEASURES = ("case_holders_fte", "cases", "caseload_fte")

# Columns every file in the published format has. The region and local
# authority columns may be absent from a national-only cut, so they are optional.
REQUIRED_COLUMNS = ("time_period", "geographic_level", "country_code", "country_name", *MEASURES)
OPTIONAL_COLUMNS = ("region_code", "region_name", "new_la_code", "la_name")

# Plain-word meanings of the symbols used in government statistics, for the report.
SUPPRESSION_CODES = {
    "x": "not available",
    "u": "low reliability",
    "z": "not applicable",
    "c": "confidential",
    "low": "rounds to zero",
    ":": "not available",
    "..": "not available",
}

# How the report labels the figures: what they count and where they come from.
SOURCE_LABEL = "Department for Education, children's social work workforce statistics"
POPULATION_LABEL = (
    "children's social workers, cases per case-holding FTE at 30 September"
)


def describe_code(code: str | None) -> str:
    """A suppression code with its meaning, e.g. "u (low reliability)"."""
    if code is None:
        return ""
    meaning = SUPPRESSION_CODES.get(code.lower())
    return f"{code} ({meaning})" if meaning else f"{code} (published code)"


# A published number: digits with an optional sign and decimal part. DuckDB's
# TRY_CAST would also accept 'inf' or 'nan', which are never real figures here.
_NUMBER = r"^\s*-?[0-9]+(\.[0-9]+)?\s*$"

_TABLE_DDL = """
CREATE OR REPLACE TABLE benchmarks (
    year INTEGER,
    geographic_level VARCHAR,
    area_code VARCHAR,
    area_name VARCHAR,
    case_holders_fte DOUBLE,
    case_holders_fte_code VARCHAR,
    cases DOUBLE,
    cases_code VARCHAR,
    caseload_fte DOUBLE,
    caseload_fte_code VARCHAR,
    source_file VARCHAR
)
"""


def load_benchmarks(con: duckdb.DuckDBPyConnection, path: Path | None) -> int:
    """Replace the `benchmarks` table with the file at `path`; return its row count.

    A missing file (or None) leaves an empty table, which the report reads as
    "no benchmark file was provided". A file without a required column raises
    ValueError naming the file and the column.
    """
    if path is None or not Path(path).is_file():
        con.execute(_TABLE_DDL)
        return 0
    path = Path(path)
    source = _read_csv(path)
    columns = _columns(con, source, path)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ValueError(
            f"{path.name}: missing required column {', '.join(missing)} "
            f"(a DfE children's social work workforce file needs {', '.join(REQUIRED_COLUMNS)})"
        )
    _check_years(con, source, path)

    def col(name: str) -> str:
        # Absent optional columns read as NULL; blank cells too.
        return f"NULLIF(trim(src.{name}), '')" if name in columns else "NULL"

    measures = ",\n".join(
        f"""CASE WHEN regexp_full_match(coalesce(src.{m}, ''), '{_NUMBER}')
                 THEN CAST(trim(src.{m}) AS DOUBLE) END AS {m},
            CASE WHEN NOT regexp_full_match(coalesce(src.{m}, ''), '{_NUMBER}')
                 THEN NULLIF(trim(src.{m}), '') END AS {m}_code"""
        for m in MEASURES
    )
    # Build in one statement so a failure never leaves a half-replaced table.
    sql = f"""
        CREATE OR REPLACE TABLE benchmarks AS
        SELECT
            CAST(trim(src.time_period) AS INTEGER) AS year,
            {col("geographic_level")} AS geographic_level,
            coalesce({col("new_la_code")}, {col("region_code")}, {col("country_code")})
                AS area_code,
            coalesce({col("la_name")}, {col("region_name")}, {col("country_name")})
                AS area_name,
            {measures},
            ? AS source_file
        FROM ({source}) AS src
        """
    try:
        con.execute(sql, [path.name])
    except duckdb.Error as exc:
        # e.g. a row with the wrong number of fields: name the file, keep DuckDB's detail.
        raise ValueError(f"{path.name}: cannot be loaded: {exc}") from exc
    return con.execute("SELECT count(*) FROM benchmarks").fetchall()[0][0]


def _read_csv(path: Path) -> str:
    # The path is quoted as an SQL literal: read_csv needs a constant argument.
    literal = str(path).replace("'", "''")
    return (
        f"SELECT * FROM read_csv('{literal}', all_varchar = true, header = true, "
        "delim = ',', quote = '\"', normalize_names = false)"
    )


def _columns(con: duckdb.DuckDBPyConnection, source: str, path: Path) -> set[str]:
    try:
        described = con.execute(f"DESCRIBE {source}").fetchall()
    except duckdb.Error as exc:
        raise ValueError(f"{path.name}: cannot be read as a CSV file: {exc}") from exc
    return {row[0] for row in described}


def _check_years(con: duckdb.DuckDBPyConnection, source: str, path: Path) -> None:
    # Workforce figures are at 30 September of a calendar year: time_period is
    # a four-digit year. Anything else (e.g. an academic year 202324) is refused
    # rather than guessed.
    sql = f"""
        SELECT line, time_period FROM (
            SELECT row_number() OVER () + 1 AS line, time_period FROM ({source})
        ) WHERE NOT regexp_full_match(coalesce(trim(time_period), ''), '[0-9]{{4}}')
        ORDER BY line LIMIT 3
        """
    try:
        bad = con.execute(sql).fetchall()
    except duckdb.Error as exc:
        raise ValueError(f"{path.name}: cannot be loaded: {exc}") from exc
    if bad:
        examples = ", ".join(f"{line} ({value!r})" for line, value in bad)
        raise ValueError(
            f"{path.name}: time_period must be a four-digit year (column time_period): "
            f"lines {examples}"
        )


@dataclass(frozen=True)
class BenchmarkChoice:
    """The reference choice in `reference/benchmarks.yaml`."""

    file: str | None
    areas: list[str]

    def path(self, external_dir: Path) -> Path | None:
        return Path(external_dir) / self.file if self.file else None


def read_benchmark_choice(reference_dir: Path) -> BenchmarkChoice:
    """Read `reference/benchmarks.yaml`: `file` (a name under external/) and `areas`.

    Without the YAML file there is no benchmark file and no areas.
    """
    yaml_path = Path(reference_dir) / "benchmarks.yaml"
    if not yaml_path.is_file():
        return BenchmarkChoice(file=None, areas=[])
    try:
        raw = yaml.safe_load(yaml_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{yaml_path.name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{yaml_path.name}: expected keys 'file' and 'areas'")
    unknown = sorted(set(raw) - {"file", "areas"})
    if unknown:
        raise ValueError(f"{yaml_path.name}: unknown key {', '.join(map(str, unknown))}")

    file = raw.get("file")
    if file is not None:
        file = str(file).strip()
        # The file lives in external/; a path would let the YAML point anywhere.
        if not file or Path(file).name != file or file in {".", ".."}:
            raise ValueError(
                f"{yaml_path.name}: file must be a file name inside external/, got {file!r}"
            )

    areas = raw.get("areas") or []
    if not isinstance(areas, list) or not all(
        isinstance(a, str) and a.strip() for a in areas
    ):
        raise ValueError(f"{yaml_path.name}: areas must be a list of area names")
    return BenchmarkChoice(file=file or None, areas=[a.strip() for a in areas])


def load_reference_benchmarks(
    con: duckdb.DuckDBPyConnection, reference_dir: Path, external_dir: Path
) -> tuple[int, BenchmarkChoice]:
    """Load the file named in `reference/benchmarks.yaml` (from external/); return rows and choice.

    Pass `choice.areas or None` to the report: no areas means the national figure only.
    """
    choice = read_benchmark_choice(reference_dir)
    return load_benchmarks(con, choice.path(external_dir)), choice
