"""One normaliser (issue 8, item 4): every value is cleaned once, where it
enters, by normalise.clean_text; the CSV reader's SQL fast path, the Excel
reader and DuckDB's `fold` give exactly what that one function gives."""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseload_pipeline.core.extract import extract_file
from caseload_pipeline.core.normalise import INVISIBLE, clean_text, fold_name
from caseload_pipeline.core.warehouse import register_functions
from caseload_pipeline_tests import department as dep

# every character str.split() splits on: the Unicode White_Space characters and
# the ASCII separators U+001C-001F
SPACES = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())


@pytest.mark.parametrize(("raw", "clean"), [
    ("Review\u00a0Team", "Review Team"),  # no-break space, as Excel exports carry
    ("\tCarers Team", "Carers Team"),
    ("Transitions Team\t", "Transitions Team"),
    ("  Review \u2003\u202f Team\r\n", "Review Team"),  # em space, narrow no-break space
    ("Review\u200bTeam\ufeff", "ReviewTeam"),  # zero-width space and a stray BOM vanish
    ("\uff32\uff45\uff56\uff49\uff45\uff57 Team", "Review Team"),  # full-width letters
    ("\ufb01eld team", "field team"),  # the fi ligature
    ("Cafe\u0301", "Caf\u00e9"),  # combining accent composed
    ("", ""),
    (" \u00a0\t", ""),
])
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


def test_every_unicode_space_is_a_space():
    # (U+0085 and the separators are spaces too; NFKC maps the rest to U+0020)
    assert {" ", "\t", "\u00a0", "\u2003", "\u2028", "\u3000", "\x1f"} <= set(SPACES)
    for space in SPACES:
        assert clean_text(f"{space}Review{space}{space}Team{space}") == "Review Team", hex(
            ord(space))


def test_fold_name_compares_names_as_a_person_reads_them():
    assert fold_name("\tREVIEW\u00a0 team ") == fold_name("Review Team") == "review team"


text = st.text(alphabet=st.sampled_from(
    list(SPACES + INVISIBLE) + list("Rev iewTam-'1\u00e9\u0301\uff32\ufb01\u0130\u0131\u00df")
    + [chr(c) for c in range(0x20, 0x7f)]), max_size=20)


@given(text)
def test_clean_text_is_idempotent_and_clean(raw):
    once = clean_text(raw)
    assert clean_text(once) == once
    assert once == once.strip() and "  " not in once
    assert not set(once) & set(SPACES.replace(" ", "") + INVISIBLE)
    assert unicodedata.is_normalized("NFKC", once)


@given(st.lists(text, min_size=1, max_size=30))
@settings(max_examples=60, deadline=None)
def test_duckdb_fold_is_fold_name(names):
    with duckdb.connect() as con:
        register_functions(con)
        folded = con.execute("SELECT fold(unnest(?::VARCHAR[]))", [names]).fetchall()
    assert [f for (f,) in folded] == [fold_name(n) for n in names]


def _csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@given(st.lists(st.tuples(text, text), min_size=1, max_size=12), st.booleans())
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_csv_values_are_clean_text(tmp_path: Path, rows, plain_ascii):
    """The CSV reader cleans in SQL where a value is plain and in Python
    otherwise; either way each value is exactly clean_text of what was typed."""
    if plain_ascii:  # the SQL-only path: a file of printable ASCII
        rows = [tuple("".join(c for c in v if " " <= c <= "~") for v in row) for row in rows]
    path = tmp_path / "caseload_2022-06.csv"
    lines = ["case_id,worker_id,team"] + [
        f"C{n},{_csv_cell(worker)},{_csv_cell(team)}" for n, (worker, team) in enumerate(rows)]
    path.write_bytes("\n".join(lines).encode() + b"\n")
    extracted = extract_file(path, "caseload")
    assert extracted.readable, [f.message for f in extracted.findings]
    frame = extracted.frame
    got = [(None if frame.at[line, "worker_id"] != frame.at[line, "worker_id"]
            else frame.at[line, "worker_id"],
            None if frame.at[line, "team"] != frame.at[line, "team"] else frame.at[line, "team"])
           for line in frame.index]
    assert got == [(clean_text(w) or None, clean_text(t) or None) for w, t in rows]


def test_reference_names_are_clean_text(tmp_path: Path):
    from caseload_pipeline.core.reference import load_reference

    ref = dep.write_reference(tmp_path)
    teams = [list(t) for t in dep.TEAMS]
    teams[0][0], teams[0][1] = "Review\u00a0Team\t", "Older\u2003People  Review"
    dep.write_csv(ref / "teams.csv", ["team", "aliases", "service_area"], teams)
    reference = load_reference(ref)
    assert "Review Team" in reference.teams
    assert reference.team("older people review") == "Review Team"


def test_excel_values_are_clean_text(tmp_path: Path):
    path = dep.write_xlsx(tmp_path / "staff_2022-06.xlsx", dep.STAFF_HEADER,
                          [["W1\u00a0", "\tReview\u00a0 Team", "SW", 1, "yes", "no"]])
    frame = extract_file(path, "staff").frame
    assert frame.loc[2, ["worker_id", "team"]].tolist() == ["W1", "Review Team"]
