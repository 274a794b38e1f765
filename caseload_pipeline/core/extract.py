"""Read one month's file as all-text rows, each with its source line number.

CSV goes through DuckDB's reader (fast, strict about quoting and column
counts); Excel through python-calamine. Either way the result is clean text
(normalise.clean_text: NFKC, Unicode spaces, trimmed and collapsed), with
blanks as missing values and the line number a person sees in the file (line
1 is the header), so every later message can point at a line. The rows pass
through Arrow in batches: `stage_file` writes them straight to a parquet file
(a run's staging; a million-row month never sits in memory whole), and
`extract_file` gathers them into a DataFrame indexed by line (`caseload
validate`, tests). Nothing here judges the values: that is the validation
suites' job. A file that cannot be read as a table gets one plain sentence
saying why and what to do, never a stack trace.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from caseload_pipeline.core.contract import COLUMNS, check_header
from caseload_pipeline.core.findings import ERROR, Finding
from caseload_pipeline.core.normalise import clean_text

SAVE_AS_CSV = "save it from Excel as 'CSV UTF-8 (Comma delimited) (*.csv)'"
LINE = "line"  # the column holding source line numbers in what a file is read into
BATCH_ROWS = 1 << 17  # rows read at a time: bounds the memory a big file takes


@dataclass
class ExtractedFile:
    """A file read, with its findings; its rows are either in `frame` (indexed by
    line number) or in the parquet file `staged` (a `line` column first)."""

    path: Path
    kind: str
    frame: pd.DataFrame | None = None
    sha256: str = ""
    findings: list[Finding] = field(default_factory=list)
    staged: Path | None = None
    rows: int = 0

    def __post_init__(self):
        if self.frame is not None and not self.rows:
            self.rows = len(self.frame)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def readable(self) -> bool:
        return self.frame is not None or self.staged is not None


class Unreadable(Exception):
    """The file cannot be read as a table; the message says why in plain words."""


# --- what kind of bytes these are ---------------------------------------------------

# Byte-order marks and file signatures of what people save instead of CSV UTF-8.
_SIGNATURES = [
    (codecs.BOM_UTF32_LE, "UTF-32 text"),
    (codecs.BOM_UTF32_BE, "UTF-32 text"),
    (codecs.BOM_UTF16_LE, "UTF-16 text (what Excel's 'Unicode Text' saves)"),
    (codecs.BOM_UTF16_BE, "UTF-16 text (what Excel's 'Unicode Text' saves)"),
    (b"PK\x03\x04", "an Excel workbook (or another zip file) named .csv"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel 97-2003 workbook (.xls) named .csv"),
]


def _encoding_problem(data: bytes) -> str | None:
    """Why `data` is not CSV UTF-8 text (judged on its first bytes), or None."""
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            return f"the file is {what}, not CSV UTF-8: {SAVE_AS_CSV}"
    if b"\x00" not in data:
        return None
    # UTF-16 without a byte-order mark: every other byte of ASCII text is zero
    head = data[:1 << 16]
    sample = head[: len(head) - len(head) % 2]
    for zeros in (sample[1::2], sample[0::2]):
        if zeros and zeros.count(0) >= 0.9 * len(zeros):
            return ("the file is UTF-16 text (what Excel's 'Unicode Text' saves), not CSV "
                    f"UTF-8: {SAVE_AS_CSV}")
    return f"the file holds binary data, not CSV text (is it a spreadsheet?): {SAVE_AS_CSV}"


def _first_bad_utf8(data: bytes) -> int | None:
    """Offset of the first byte that is not valid UTF-8, decoding in chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    chunk = 1 << 20
    for start in range(0, len(data), chunk):
        pending = len(decoder.getstate()[0])  # bytes of a character cut by the last chunk
        try:
            decoder.decode(data[start:start + chunk], final=start + chunk >= len(data))
        except UnicodeDecodeError as exc:
            return max(0, start - pending + exc.start)
    return None


def _not_utf8(data: bytes, offset: int, newline: bytes) -> str:
    """The plain message for a file that is not UTF-8 from `offset` on."""
    line = data.count(newline, 0, offset) + 1
    window = data[max(0, offset - 200):offset + 200]
    try:
        window.decode("cp1252")
        what = ("it looks like Windows-1252 / Latin-1 text, which Excel's plain 'CSV "
                "(Comma delimited)' writes")
    except UnicodeDecodeError:
        what = "its encoding is not UTF-8"
    return f"line {line} is not UTF-8 text ({what}): {SAVE_AS_CSV}"


# --- line ends and line numbers -------------------------------------------------------

@dataclass(frozen=True)
class _Bytes:
    """What a CSV file's bytes are made of, found in a few vectorised passes
    (a 1,000,000-row file is 75 MB: Python's bytes.count alone takes 60 ms)."""

    ascii: bool  # no byte above 127: no accent, no no-break space
    controls: bool  # a tab or another control character besides line ends
    newline: bytes  # LF (also for CR LF files) or CR (old Mac files)
    mixed: bool  # lines end in more than one way (LF, CR LF, CR): read after making all LF

    @property
    def plain(self) -> bool:
        """Printable ASCII: cleaning every value is trimming spaces, done in SQL."""
        return self.ascii and not self.controls


def _look_at(data: bytes) -> _Bytes:
    codes = np.frombuffer(data, dtype=np.uint8)
    lf = int(np.count_nonzero(codes == 0x0A))
    cr = int(np.count_nonzero(codes == 0x0D)) if b"\r" in data else 0
    controls = int(np.count_nonzero(codes < 0x20)) > lf + cr or b"\x7f" in data
    mixed = False
    if lf and cr:  # CR LF throughout, or a mixture?
        crlf = int(np.count_nonzero((codes[:-1] == 0x0D) & (codes[1:] == 0x0A)))
        mixed = not crlf == cr == lf
    return _Bytes(data.isascii(), controls, b"\n" if lf or not cr else b"\r", mixed)


def _line_numbers(text: bytes, newline: bytes, rows: int) -> pd.Index:
    """Line numbers of the data rows, as a text editor shows them (line 1 is
    the header): DuckDB skips blank lines and a quoted value may span lines,
    so both are counted back in. `text` has `newline` line ends only."""
    if rows == 0:
        return pd.RangeIndex(2, 2)
    body = text.rstrip(b"\r\n")  # blank lines at the end hold no row
    codes = np.frombuffer(body, dtype=np.uint8)
    if int(np.count_nonzero(codes == ord(newline))) == rows:  # one line per row, as usual
        return pd.RangeIndex(2, rows + 2)
    starts = None
    if b'"' in body:  # a quoted value may span lines: read the records as Python's csv does
        try:
            reader = csv.reader(io.StringIO(body.decode("utf-8-sig", "replace"), newline=""))
            starts, end = [], 0
            for record in reader:
                start, end = end + 1, reader.line_num
                if record and start > 1:
                    starts.append(start)
        except csv.Error:  # DuckDB read what Python's csv cannot: count lines simply
            starts = None
    if starts is None:  # blank lines in between: count them back in
        starts = [n for n, line in enumerate(body.split(newline)[1:], start=2)
                  if line.strip(b"\r")]
    if len(starts) < rows:  # never fewer numbers than rows, whatever the file holds
        last = starts[-1] if starts else 1
        starts += range(last + 1, last + 1 + rows - len(starts))
    return pd.Index(starts[:rows], dtype="int64")


# --- CSV ------------------------------------------------------------------------------

# DuckDB's CSV errors carry the line; these turn them into plain words.
_CSV_ERRORS = [
    (re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)"),
     lambda m: f"has {m.group(2)} values where the header has {m.group(1)}"),
    (re.compile(r"unterminated quote"),
     lambda m: "opens a quote that is never closed (is the file cut short?)"),
    (re.compile(r"Maximum line size"),
     lambda m: "is longer than a CSV line can be (is it a CSV file?)"),
]


def _csv_error(exc: Exception) -> str:
    text = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    for pattern, words in _CSV_ERRORS:
        match = pattern.search(text)
        if match:
            where = f"line {line.group(1)} " if line else "a line "
            return where + words(match)
    return ("the file is not a CSV table that can be read (wrong format or damaged): "
            f"{SAVE_AS_CSV}")


@functools.cache
def _csv_reader() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB for every CSV a process reads (connecting costs ~50 ms);
    each file is read through a cursor of its own."""
    return duckdb.connect()


def close_reader() -> None:
    """Close the CSV reader's DuckDB (and free its buffers) until next needed."""
    if _csv_reader.cache_info().currsize:
        _csv_reader().close()
        _csv_reader.cache_clear()


# Every value is trimmed of spaces and has runs of them collapsed in SQL: for
# printable ASCII that is all clean_text does. Other values are then cleaned by
# clean_text itself (_clean_cells), once per distinct value.
_TRIM = ("nullif(CASE WHEN contains({c}, '  ') THEN regexp_replace(trim({c}), ' {{2,}}', ' ',"
         " 'g') ELSE trim({c}) END, '')")
# Which cells go through clean_text: those with a character beyond printable
# ASCII (a tab, a line break inside quotes), or beyond ASCII only (an accent, a
# no-break space); None: no cell (printable ASCII, which SQL has trimmed).
CONTROLS, NON_ASCII = "controls", "non-ascii"


def _csv_header(data: bytes) -> list[str]:
    end = min((i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0), default=len(data))
    first_line = data[:end]
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(_not_utf8(data, exc.start, b"\n")) from None
    try:
        header = next(csv.reader([text]), [])
    except csv.Error:
        raise Unreadable("line 1 (the header) is not a CSV line that can be read") from None
    for separator, name in ((";", "semicolons"), ("\t", "tabs")):
        # what Excel writes where the decimal mark is a comma, or as "Text (Tab delimited)"
        if len(header) == 1 and header[0].count(separator) >= 1:
            raise Unreadable(f"line 1 (the header) is separated by {name}, not commas: "
                             f"{SAVE_AS_CSV}")
    return header


def _has_blank_line(body: bytes, newline: bytes) -> bool:
    return newline + newline in body or newline + b"\r" + newline in body


def _csv_batches(path: Path, data: bytes, width: int, wanted: dict[str, int],
                 kind: str) -> Iterator[pa.RecordBatch]:
    """The `wanted` columns (name -> position) of a CSV with `width` columns, as
    batches of the kind's schema (line numbers first)."""
    facts = _look_at(data)
    columns = {f"c{i}": "VARCHAR" for i in range(width)}
    select = ", ".join(f'{_TRIM.format(c=f"c{i}")} AS "{name}"' for name, i in wanted.items())
    options = dict(header=True, auto_detect=False, columns=columns, sep=",", quotechar='"',
                   escapechar='"', strict_mode=True, null_padding=False, encoding="utf-8")
    text, newline = data, facts.newline
    if facts.mixed:  # DuckDB's strict reader wants one kind of line end
        text, newline = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), b"\n"

    def records() -> Iterator[pa.RecordBatch]:
        con = _csv_reader().cursor()
        try:
            source = con.read_csv(str(path) if text is data else io.BytesIO(text), **options)
            # through Arrow, in batches: the month never sits in memory whole
            yield from source.select(select).to_arrow_reader(BATCH_ROWS)
        except duckdb.Error as exc:
            if "invalid unicode" in str(exc).lower():
                offset = _first_bad_utf8(text)
                if offset is not None:
                    raise Unreadable(_not_utf8(text, offset, newline)) from None
            raise Unreadable(_csv_error(exc)) from None
        finally:
            con.close()

    body = text.rstrip(b"\r\n")
    if b'"' not in body and not _has_blank_line(body, newline):
        # One record per line (nearly every file): line numbers are known without
        # looking at the records, so the file streams through batch by batch.
        first = 2
        cells = CONTROLS if facts.controls else NON_ASCII if not facts.ascii else None
        for batch in records():
            lines = np.arange(first, first + batch.num_rows, dtype=np.int64)
            first += batch.num_rows
            yield _with_lines(batch, lines, kind, cells)
        return
    # Quotes or blank lines: the records must be counted before lines are numbered.
    batches = list(records())
    rows = sum(b.num_rows for b in batches)
    lines = _line_numbers(text, newline, rows)
    # more lines than rows: a quoted value may hold a line break
    broken_lines = not isinstance(lines, pd.RangeIndex) and b'"' in text
    cells = (CONTROLS if facts.controls or broken_lines
             else NON_ASCII if not facts.ascii else None)
    numbers, first = lines.to_numpy(dtype=np.int64), 0
    for batch in batches:
        yield _with_lines(batch, numbers[first:first + batch.num_rows], kind, cells)
        first += batch.num_rows


def _with_lines(batch: pa.RecordBatch, lines: np.ndarray, kind: str,
                cells: str | None) -> pa.RecordBatch:
    """`batch` in the kind's schema: line numbers first, every column of the
    contract (missing ones blank), the `cells` cleaned (CONTROLS, NON_ASCII)."""
    arrays = [pa.array(lines, pa.int64())]
    for name in COLUMNS[kind]:
        if name not in batch.schema.names:
            arrays.append(pa.nulls(batch.num_rows, pa.string()))
            continue
        values = batch.column(name)
        arrays.append(values if cells is None else _clean_cells(values, cells))
    return pa.RecordBatch.from_arrays(arrays, schema=schema_of(kind))


def _clean_cells(values: pa.Array, cells: str) -> pa.Array:
    """`values` with the cells SQL's trimming was not enough for (CONTROLS or
    NON_ASCII) cleaned by clean_text. Python's clean_text of SQL's trimmed text
    is clean_text of the text in the file (it trims and collapses every space
    itself)."""
    if len(values) == 0:
        return values
    odd = (pc.match_substring_regex(values, "[^ -~]") if cells == CONTROLS
           else pc.not_equal(pc.utf8_length(values), pc.binary_length(values)))
    odd = pc.fill_null(odd, False)
    if not pc.any(odd).as_py():
        return values
    cleaned = [_clean_or_none(v) for v in values.filter(odd).to_pylist()]
    return pc.replace_with_mask(values, odd, pa.array(cleaned, values.type))


def _clean_or_none(value: str | None) -> str | None:
    return (clean_text(value) or None) if isinstance(value, str) else None


# --- Excel ----------------------------------------------------------------------------

def _cell_text(value: object) -> str | None:
    """An Excel cell as the text a CSV would hold: cleaned, blank as missing."""
    if value is None:
        return None
    if isinstance(value, str):
        return clean_text(value) or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return clean_text(str(value)) or None


def _xlsx_rows(path: Path, data: bytes) -> list[list]:
    from python_calamine import CalamineWorkbook

    if not data.strip():
        raise Unreadable("the file is empty")
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise Unreadable("the file is an old Excel 97-2003 workbook (.xls) named .xlsx: save "
                         "it from Excel as 'Excel Workbook (*.xlsx)'")
    if not data.startswith(b"PK\x03\x04"):
        raise Unreadable("the file is not an Excel workbook, whatever its name says (is it "
                         "a CSV file named .xlsx?)")
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception:  # calamine raises several types for damaged files
        raise Unreadable("the Excel workbook cannot be read: it is damaged or cut short "
                         "(open it in Excel and save it again)") from None
    if not rows:
        raise Unreadable("the first sheet is empty")
    return rows


def _xlsx_batches(rows: list[list], wanted: dict[str, int], kind: str
                  ) -> Iterator[pa.RecordBatch]:
    """The `wanted` columns of a sheet's rows (blank rows left out) as Arrow, in
    batches of the kind's schema."""
    kept = [(line, row) for line, row in enumerate(rows[1:], start=2)
            if any(v not in (None, "") for v in row)]
    for start in range(0, max(len(kept), 1), BATCH_ROWS):
        part = kept[start:start + BATCH_ROWS]
        cells = {name: pa.array([_cell_text(row[i]) if i < len(row) else None
                                 for _, row in part], pa.string())
                 for name, i in wanted.items()}
        lines = np.array([line for line, _ in part], dtype=np.int64)
        yield _with_lines(pa.RecordBatch.from_pydict(cells), lines, kind, None)


# --- one file -------------------------------------------------------------------------

def schema_of(kind: str) -> pa.Schema:
    """What a file of `kind` is read into: its line numbers, then every column of
    the contract as text (a column the file lacks is blank)."""
    return pa.schema([(LINE, pa.int64())] + [(c, pa.string()) for c in COLUMNS[kind]])


def _open(path: Path, kind: str) -> tuple[ExtractedFile, list[str], Iterator | None]:
    """Check a file's bytes and header; its records come from the iterator (None
    when the file cannot be read as a table, the findings saying why). Reading
    the records may still raise Unreadable."""
    result = ExtractedFile(path=path, kind=kind)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _unreadable(result, f"it cannot be opened ({exc.strerror or exc})"), [], None
    result.sha256 = hashlib.sha256(data).hexdigest()
    xlsx = path.suffix.lower() == ".xlsx"
    try:
        if xlsx:
            rows = _xlsx_rows(path, data)
            header = [_cell_text(v) or "" for v in rows[0]]
        else:
            if not data.strip():
                raise Unreadable("the file is empty")
            problem = _encoding_problem(data)
            if problem:
                raise Unreadable(problem)
            header = _csv_header(data)
    except Unreadable as exc:
        return _unreadable(result, str(exc)), [], None

    names, problems, notes = check_header(path.name, kind, header)
    result.findings.extend(notes + problems)
    if problems:
        return result, [], None
    wanted = {column: names.index(column) for column in COLUMNS[kind] if column in names}
    batches = (_xlsx_batches(rows, wanted, kind) if xlsx
               else _csv_batches(path, data, len(header), wanted, kind))
    return result, list(wanted), batches


def _unreadable(result: ExtractedFile, reason: str) -> ExtractedFile:
    result.findings.append(Finding(result.path.name, "the file must be readable", ERROR,
                                   detail=reason))
    return result


def extract_file(path: Path, kind: str) -> ExtractedFile:
    """Read and clean a file into a frame; problems become findings, never exceptions."""
    result, present, batches = _open(path, kind)
    if batches is None:
        return result
    try:
        table = pa.Table.from_batches(list(batches), schema=schema_of(kind))
    except Unreadable as exc:
        return _unreadable(result, str(exc))
    lines = table.column(LINE).to_numpy()
    frame = table.select(present).to_pandas()
    frame.index = pd.Index(lines, dtype="int64")
    for column in COLUMNS[kind]:
        if column not in present:  # a column the file lacks: blank throughout
            frame[column] = pd.Series(None, index=frame.index, dtype=object)
    result.frame, result.rows = frame[list(COLUMNS[kind])], len(frame)
    return result


def stage_file(path: Path, kind: str, target: Path) -> ExtractedFile:
    """Read and clean a file straight into a parquet file at `target` (line
    numbers and the kind's columns as text), batch by batch, so a month never
    sits in memory whole. Problems become findings, and nothing is left at
    `target`."""
    result, _, batches = _open(path, kind)
    if batches is None:
        return result
    rows = 0
    try:
        with pq.ParquetWriter(target, schema_of(kind)) as writer:
            for batch in batches:
                writer.write_batch(batch)
                rows += batch.num_rows
    except Unreadable as exc:
        target.unlink(missing_ok=True)
        return _unreadable(result, str(exc))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    result.staged, result.rows = target, rows
    return result
