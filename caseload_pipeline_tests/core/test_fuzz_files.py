"""Fuzzing the monthly files (issue 8, item 9).

Hypothesis mutates a valid month, as CSV or as an Excel workbook (columns
dropped, duplicated or renamed, cells changed, rows dropped or repeated, the
file truncated, bytes injected or deleted, re-encoded, a byte-order mark
mid-file, CR-only or mixed line ends, ...) and
runs it through the pipeline's own steps: staging (extraction), validation
with Great Expectations, and, when validation accepts it, the load into a real
DuckDB warehouse. Every case must end as a correct load (each validated row in
`staff` and `allocations`, `load_log` naming the files) or as a refusal whose
messages name the month's files, with the warehouse untouched: never an
exception, never a partial load, never a hang (each example has a deadline).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from caseload_pipeline.core.load import load_validated
from caseload_pipeline.core.months import parse_month
from caseload_pipeline.core.reference import load_reference
from caseload_pipeline.core.settings import load_settings
from caseload_pipeline.core.staging import stage_month
from caseload_pipeline.core.validate import validate_staged_months
from caseload_pipeline.core.warehouse import Warehouse
from caseload_pipeline_tests import department as dep
from caseload_pipeline_tests.conftest import KEY

pytestmark = pytest.mark.slow

MAY, JUNE = "2022-05", "2022-06"
SECONDS_PER_EXAMPLE = 30  # a hang is a failure, not a stuck test run
KINDS = ("caseload", "staff")
NAMES = {f"{kind}_{JUNE}.{suffix}" for kind in KINDS for suffix in ("csv", "xlsx")}


# --- mutations ------------------------------------------------------------------------------

Table = tuple[list[str], list[list[str]]]  # header, rows


@dataclass(frozen=True)
class TableChange:
    name: str
    change: Callable[[Table], None]

    def __repr__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ByteChange:
    name: str
    change: Callable[[bytes], bytes]

    def __repr__(self) -> str:
        return self.name


def _column(draw_index: int, header: list[str]) -> int:
    return draw_index % len(header) if header else 0


def _drop_column(i: int):
    def change(table: Table) -> None:
        header, rows = table
        if header:
            c = _column(i, header)
            del header[c]
            for row in rows:
                del row[c]
    return TableChange(f"drop column {i}", change)


def _duplicate_column(i: int):
    def change(table: Table) -> None:
        header, rows = table
        if header:
            c = _column(i, header)
            header.append(header[c])
            for row in rows:
                row.append(row[c])
    return TableChange(f"duplicate column {i}", change)


def _rename_column(i: int, name: str):
    def change(table: Table) -> None:
        header, _ = table
        if header:
            header[_column(i, header)] = name
    return TableChange(f"rename column {i} to {name!r}", change)


def _set_cell(r: int, c: int, value: str):
    def change(table: Table) -> None:
        header, rows = table
        if rows and header:
            rows[r % len(rows)][_column(c, header)] = value
    return TableChange(f"cell ({r}, {c}) = {value!r}", change)


def _drop_row(r: int):
    def change(table: Table) -> None:
        _, rows = table
        if rows:
            del rows[r % len(rows)]
    return TableChange(f"drop row {r}", change)


def _repeat_row(r: int):
    def change(table: Table) -> None:
        _, rows = table
        if rows:
            rows.append(list(rows[r % len(rows)]))
    return TableChange(f"repeat row {r}", change)


def _at(data: bytes, where: float) -> int:
    return int(len(data) * where)


def _truncate(where: float):
    return ByteChange(f"truncate at {where:.2f}", lambda d: d[:_at(d, where)])


def _inject(where: float, junk: bytes):
    return ByteChange(f"inject {junk!r} at {where:.2f}",
                      lambda d: d[:_at(d, where)] + junk + d[_at(d, where):])


def _delete(where: float, length: int):
    return ByteChange(f"delete {length} bytes at {where:.2f}",
                      lambda d: d[:_at(d, where)] + d[_at(d, where) + length:])


def _reencode(encoding: str):
    return ByteChange(f"encode as {encoding}", lambda d: d.decode("utf-8", "replace").encode(
        encoding, "replace"))


def _bom_mid_file(where: float):
    return ByteChange(f"BOM at {where:.2f}",
                      lambda d: d[:_at(d, where)] + b"\xef\xbb\xbf" + d[_at(d, where):])


def _line_ends(kind: str):
    def change(data: bytes) -> bytes:
        lines = data.replace(b"\r\n", b"\n").split(b"\n")
        if kind == "mixed":
            return b"".join(line + (b"\r", b"\n", b"\r\n")[n % 3]
                            for n, line in enumerate(lines))
        return {"CR": b"\r", "CRLF": b"\r\n"}[kind].join(lines)
    return ByteChange(f"{kind} line ends", change)


where = st.floats(0, 1)
cell_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12) | \
    st.sampled_from(["", " ", "\u00a0Review Team\t", "HIGH", "1.5", "0", "-3", "2022-06-31",
                     "31/06/2022", "Wizard", "W1", "C1", '"', ",", "\n", "maybe", "1e2"])
table_changes = st.one_of(
    st.builds(_drop_column, st.integers(0, 20)),
    st.builds(_duplicate_column, st.integers(0, 20)),
    st.builds(_rename_column, st.integers(0, 20), cell_text),
    st.builds(_set_cell, st.integers(0, 20), st.integers(0, 20), cell_text),
    st.builds(_drop_row, st.integers(0, 20)),
    st.builds(_repeat_row, st.integers(0, 20)),
)
byte_changes = st.one_of(
    st.builds(_truncate, where),
    st.builds(_inject, where, st.binary(min_size=1, max_size=6)
              | st.sampled_from([b"\x00", b"\xff\xfe", b'"', b"\r", b"\n\n", b",,,"])),
    st.builds(_delete, where, st.integers(1, 40)),
    st.builds(_reencode, st.sampled_from(["utf-16", "utf-16-le", "utf-32", "cp1252",
                                          "latin-1"])),
    st.builds(_bom_mid_file, where),
    st.builds(_line_ends, st.sampled_from(["CR", "CRLF", "mixed"])),
)


# --- the pipeline's steps on one mutated month ---------------------------------------------

@pytest.fixture(scope="module")
def department(tmp_path_factory):
    """May loaded; June is the month each example delivers."""
    data = tmp_path_factory.mktemp("fuzz") / "data"
    dep.write_reference(data)
    dep.write_month(data, MAY)
    settings_ = load_settings({"CASELOAD_DATA_DIR": str(data), "CASELOAD_PSEUDONYM_KEY": KEY})
    reference = load_reference(settings_.reference_dir)
    month = parse_month(MAY)
    stage_month(settings_, month, "fuzz-may")
    with Warehouse(settings_).connect(reference) as con:
        validate_staged_months(con, settings_, reference, [month], "fuzz-may")
        load_validated(con, settings_, [month], "fuzz-may")
    return settings_, reference


def _valid(kind: str) -> Table:
    if kind == "caseload":
        return list(dep.CASELOAD_HEADER), dep.caseload_rows(JUNE)
    return list(dep.STAFF_HEADER), [list(r) for r in dep.STAFF]


def _write(incoming, kind: str, suffix: str, tables: list, raw: list) -> None:
    """The month's file of `kind` (and no other of that kind), changed."""
    for name in NAMES:
        if name.startswith(kind):
            (incoming / name).unlink(missing_ok=True)
    header, rows = _valid(kind)
    for change in tables:
        change.change((header, rows))
    path = incoming / f"{kind}_{JUNE}.{suffix}"
    if suffix == "xlsx":  # (characters a workbook cannot hold at all are left out)
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        dep.write_xlsx(path, [ILLEGAL_CHARACTERS_RE.sub("", h) for h in header],
                       [[ILLEGAL_CHARACTERS_RE.sub("", v) for v in row] for row in rows])
    else:
        dep.write_csv(path, header, rows)
    data = path.read_bytes()
    for change in raw:
        data = change.change(data)
    path.write_bytes(data)


def _snapshot(con: duckdb.DuckDBPyConnection) -> dict:
    return {table: con.execute(f"SELECT * EXCLUDE (month) FROM {table} WHERE month ="
                               " DATE '2022-06-01' ORDER BY ALL").fetchall()
            for table in ("staff", "allocations", "load_log")}


class Hang(Exception):
    pass


def _deadline(signum, frame):
    raise Hang(f"one example took over {SECONDS_PER_EXAMPLE} s")


@given(kind=st.sampled_from(KINDS), suffix=st.sampled_from(["csv", "csv", "csv", "xlsx"]),
       tables=st.lists(table_changes, max_size=3), raw=st.lists(byte_changes, max_size=2))
@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
def test_a_mutated_month_loads_correctly_or_is_refused_with_messages(department, kind, suffix,
                                                                      tables, raw):
    settings_, reference = department
    month = parse_month(JUNE)
    incoming = settings_.incoming_dir
    _write(incoming, kind, suffix, tables, raw)
    other = next(k for k in KINDS if k != kind)  # the other file stays valid
    _write(incoming, other, "csv", [], [])

    previous = signal.signal(signal.SIGALRM, _deadline)
    signal.alarm(SECONDS_PER_EXAMPLE)
    try:
        stage_month(settings_, month, "fuzz-june")
        with Warehouse(settings_).connect(reference) as con:
            before = _snapshot(con)
            [staged] = validate_staged_months(con, settings_, reference, [month], "fuzz-june")
            if staged.blocking:
                after = _snapshot(con)
            else:
                load_validated(con, settings_, [month], "fuzz-june")
                after = _snapshot(con)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)

    event(f"refused: {staged.blocking[0].rule}" if staged.blocking else "loaded")
    if staged.blocking:
        assert after == before, "a refused month changed the warehouse"
        for finding in staged.blocking:
            assert finding.file in NAMES, finding.message
            assert finding.message.startswith(f"{finding.file}: "), finding.message
            assert "\n" not in finding.message and "Traceback" not in finding.message
            assert "Error" not in finding.message, finding.message  # no raw exception text
    else:
        assert len(after["staff"]) == staged.files["staff"]["rows"]
        assert len(after["allocations"]) == staged.files["caseload"]["rows"]
        assert sorted((name, digest, rows) for name, digest, rows, *_ in after["load_log"]) == \
            sorted((f["name"], f["sha256"], f["rows"]) for f in staged.files.values())
