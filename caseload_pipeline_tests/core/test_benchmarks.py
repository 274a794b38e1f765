"""Loading the DfE children's social work workforce file as published (SPEC 11).

The published files are public data kept outside the repository, in the
`shared/seed` folder beside it; they are read from there, never copied in.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb
import pytest

from caseload_pipeline.core.benchmarks import (
    MEASURES,
    BenchmarkChoice,
    load_benchmarks,
    load_reference_benchmarks,
    read_benchmark_choice,
)

SEED_DIR = (Path(__file__).resolve().parents[2] / ".." / "shared" / "seed").resolve()
NUMBER = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")


def seed_file(name: str) -> Path:
    path = SEED_DIR / name
    if not path.is_file():
        pytest.fail(f"seed file missing: {path} (the tests read the published DfE files from "
                    "the shared folder next to the repository; they are not committed here)")
    return path


@pytest.fixture
def con():
    with duckdb.connect() as connection:
        yield connection


def raw_codes(path: Path) -> list[tuple[int, str, str, str]]:
    """Every suppression code in the raw file, read with the csv module, not DuckDB."""
    codes = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            area = row["la_name"] or row["region_name"] or row["country_name"]
            for m in MEASURES:
                value = row[m].strip()
                if value and not NUMBER.match(value):
                    codes.append((int(row["time_period"]), area, m, value))
    return sorted(codes)


def loaded_codes(con) -> list[tuple[int, str, str, str]]:
    rows = []
    for m in MEASURES:
        rows += con.execute(
            f"SELECT year, area_name, '{m}', {m}_code FROM benchmarks "
            f"WHERE {m}_code IS NOT NULL").fetchall()
        # A code always stands in for a value: never both.
        assert con.execute(f"SELECT count(*) FROM benchmarks WHERE {m}_code IS NOT NULL "
                           f"AND {m} IS NOT NULL").fetchall()[0][0] == 0
    return sorted(rows)


def test_subset_keeps_every_suppression_code(con):
    path = seed_file("csww_caseload_subset.csv")
    assert load_benchmarks(con, path) == 54
    expected = raw_codes(path)
    assert expected == [(2024, "Birmingham", "case_holders_fte", "u"),
                        (2024, "Birmingham", "caseload_fte", "u"),
                        (2024, "Birmingham", "cases", "u")]
    assert loaded_codes(con) == expected


def test_subset_caseload_is_cases_per_fte_except_rounded_fte(con):
    load_benchmarks(con, seed_file("csww_caseload_subset.csv"))
    complete = con.execute("""
        SELECT count(*) FROM benchmarks
        WHERE case_holders_fte IS NOT NULL AND cases IS NOT NULL AND caseload_fte IS NOT NULL
    """).fetchall()[0][0]
    assert complete == 53
    off = con.execute("""
        SELECT year, area_name, case_holders_fte, cases, caseload_fte FROM benchmarks
        WHERE case_holders_fte > 0 AND abs(cases / case_holders_fte - caseload_fte) > 0.05
        ORDER BY year, area_name""").fetchall()
    # The published FTE (1.5) was rounded; 15 / 1.5 = 10.0 but 9.7 is published.
    assert off == [(2023, "Isles of Scilly", 1.5, 15.0, 9.7)]


def test_subset_areas_codes_and_types(con):
    load_benchmarks(con, seed_file("csww_caseload_subset.csv"))
    schema = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                         "WHERE table_name = 'benchmarks' ORDER BY ordinal_position").fetchall()
    assert schema == [
        ("year", "INTEGER"), ("geographic_level", "VARCHAR"), ("area_code", "VARCHAR"),
        ("area_name", "VARCHAR"), ("case_holders_fte", "DOUBLE"),
        ("case_holders_fte_code", "VARCHAR"), ("cases", "DOUBLE"), ("cases_code", "VARCHAR"),
        ("caseload_fte", "DOUBLE"), ("caseload_fte_code", "VARCHAR"),
        ("source_file", "VARCHAR")]
    areas = con.execute("""
        SELECT DISTINCT geographic_level, area_code, area_name FROM benchmarks ORDER BY 2
    """).fetchall()
    assert areas == [
        ("Local authority", "E06000053", "Isles of Scilly"),
        ("Local authority", "E08000025", "Birmingham"),
        ("Local authority", "E08000026", "Coventry"),
        ("Local authority", "E10000031", "Warwickshire"),
        ("Regional", "E12000005", "West Midlands"),
        ("National", "E92000001", "England")]
    assert con.execute("SELECT min(year), max(year), any_value(source_file) "
                       "FROM benchmarks").fetchall() == [(2017, 2025,
                                                          "csww_caseload_subset.csv")]
    assert con.execute("SELECT cases, caseload_fte FROM benchmarks "
                       "WHERE year = 2025 AND area_name = 'Coventry'").fetchall() == [
        (3014.0, 12.8)]


def test_full_published_file_loads(con):
    path = seed_file("csww_indicators_2017_to_2025.csv")
    assert load_benchmarks(con, path) == 1463
    assert loaded_codes(con) == raw_codes(path)
    # Three measures each for Brent 2017, Suffolk 2018, Kensington and Chelsea 2025,
    # Westminster 2025 (x) and Birmingham 2024 (u).
    assert len(raw_codes(path)) == 15
    levels = dict(con.execute("SELECT geographic_level, count(*) FROM benchmarks "
                              "GROUP BY 1").fetchall())
    assert levels == {"National": 9, "Regional": 99, "Local authority": 1355}
    assert con.execute("SELECT count(*) FROM benchmarks WHERE area_code IS NULL "
                       "OR area_name IS NULL").fetchall()[0][0] == 0


def test_reload_replaces_the_table(con):
    path = seed_file("csww_caseload_subset.csv")
    load_benchmarks(con, path)
    assert load_benchmarks(con, path) == 54
    assert con.execute("SELECT count(*) FROM benchmarks").fetchall()[0][0] == 54


def test_absent_file_gives_an_empty_table(con, tmp_path):
    load_benchmarks(con, seed_file("csww_caseload_subset.csv"))
    assert load_benchmarks(con, tmp_path / "not_there.csv") == 0
    assert load_benchmarks(con, None) == 0
    assert con.execute("SELECT count(*) FROM benchmarks").fetchall()[0][0] == 0
    columns = [r[0] for r in con.execute("DESCRIBE benchmarks").fetchall()]
    assert "caseload_fte_code" in columns and "source_file" in columns


HEADER = ("time_period,time_identifier,geographic_level,country_code,country_name,"
          "case_holders_fte,cases,caseload_fte")


def test_missing_column_names_file_and_column(con, tmp_path):
    path = tmp_path / "csww_broken.csv"
    path.write_text(HEADER.replace(",cases,", ",") + "\n"
                    "2025,Reporting year,National,E92000001,England,21105.4,15.2\n")
    with pytest.raises(ValueError, match=r"csww_broken\.csv: missing required column cases"):
        load_benchmarks(con, path)


def test_national_only_file_and_blank_values(con, tmp_path):
    # Region and local authority columns are optional; a blank is missing with no code.
    path = tmp_path / "national.csv"
    path.write_text("\ufeff" + HEADER + "\r\n"
                    "2025,Reporting year,National,E92000001,England,21105.4,,z\r\n")
    assert load_benchmarks(con, path) == 1
    assert con.execute("SELECT area_code, area_name, case_holders_fte, cases, cases_code, "
                       "caseload_fte, caseload_fte_code FROM benchmarks").fetchall() == [
        ("E92000001", "England", 21105.4, None, None, None, "z")]


def test_time_period_must_be_a_year(con, tmp_path):
    path = tmp_path / "academic.csv"
    path.write_text(HEADER + "\n2025,Reporting year,National,E92000001,England,1,2,2\n"
                    "202425,Academic year,National,E92000001,England,1,2,2\n")
    with pytest.raises(ValueError, match=r"academic\.csv: time_period .* lines 3 \('202425'\)"):
        load_benchmarks(con, path)


def test_read_benchmark_choice(tmp_path):
    assert read_benchmark_choice(tmp_path) == BenchmarkChoice(file=None, areas=[])
    (tmp_path / "benchmarks.yaml").write_text(
        "file: csww_indicators_2017_to_2025.csv\n"
        "areas: [England, West Midlands, Coventry, Birmingham, Warwickshire]\n")
    choice = read_benchmark_choice(tmp_path)
    assert choice.areas == ["England", "West Midlands", "Coventry", "Birmingham", "Warwickshire"]
    assert choice.path(tmp_path / "external") == (
        tmp_path / "external" / "csww_indicators_2017_to_2025.csv")


@pytest.mark.parametrize(("text", "message"), [
    ("file: ../secrets.csv\n", "file must be a file name inside external/"),
    ("file: x.csv\nareas: England\n", "areas must be a list of area names"),
    ("file: x.csv\nregions: [England]\n", "unknown key regions"),
    ("- just a list\n", "expected keys 'file' and 'areas'"),
])
def test_bad_benchmark_choice_names_the_file(tmp_path, text, message):
    (tmp_path / "benchmarks.yaml").write_text(text)
    with pytest.raises(ValueError, match=re.escape(f"benchmarks.yaml: {message}")):
        read_benchmark_choice(tmp_path)


def test_load_reference_benchmarks(con, tmp_path):
    reference, external = tmp_path / "reference", tmp_path / "external"
    reference.mkdir()
    external.mkdir()
    (reference / "benchmarks.yaml").write_text("file: csww.csv\nareas: [England]\n")
    # Named but not there yet: an empty table, so the report says no file was provided.
    assert load_reference_benchmarks(con, reference, external) == (
        0, BenchmarkChoice(file="csww.csv", areas=["England"]))
    (external / "csww.csv").write_bytes(seed_file("csww_caseload_subset.csv").read_bytes())
    rows, choice = load_reference_benchmarks(con, reference, external)
    assert rows == 54 and choice.areas == ["England"]
