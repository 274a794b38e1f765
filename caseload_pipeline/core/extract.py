"""Read one month's file into an all-text DataFrame indexed by source line number.

CSV goes through DuckDB's reader (fast, strict about quoting and column
counts); Excel through python-calamine. Either way the result is text, trimmed,
with blanks as missing values and the index holding the line number a person
sees in the file (line 1 is the header), so every later message can point at
a line. Nothing here judges the values: that is the validation suites' job.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from caseload_pipeline.core.contract import COLUMNS, check_header, sha256_of
from caseload_pipeline.core.findings import ERROR, Finding


@dataclass
class ExtractedFile:
    path: Path
    kind: str
    frame: pd.DataFrame | None = None
    sha256: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def readable(self) -> bool:
        return self.frame is not None


class Unreadable(Exception):
    """The file cannot be read as a table; the message says why in plain words."""


# DuckDB's CSV errors carry the line; these turn them into plain words.
_CSV_ERRORS = [
    (re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)"),
     lambda m: f"has {m.group(2)} values where the header has {m.group(1)}"),
    (re.compile(r"Invalid unicode"),
     lambda m: "is not UTF-8 text (save the file as 'CSV UTF-8')"),
    (re.compile(r"unterminated quote"),
     lambda m: "opens a quote that is never closed (is the file cut short?)"),
]


def _csv_error(exc: Exception) -> str:
    text = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    for pattern, words in _CSV_ERRORS:
        match = pattern.search(text)
        if match:
            where = f"line {line.group(1)} " if line else "a line "
            return where + words(match)
    return "the file is not a CSV table that can be read (wrong format or damaged)"


@functools.cache
def _csv_reader() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB for every CSV a process reads (connecting costs ~50 ms)."""
    return duckdb.connect()


def _read_csv(path: Path) -> tuple[list[str], pd.DataFrame]:
    with path.open("rb") as f:
        head = f.read(1 << 16)
    if not head.strip():
        raise Unreadable("the file is empty")
    if b"\x00" in head:
        raise Unreadable("the file holds binary data, not CSV text (is it an Excel file?)")
    first_line = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        header_text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unreadable("line 1 is not UTF-8 text (save the file as 'CSV UTF-8')") from None
    header = next(csv.reader([header_text]), [])
    columns = {f"c{i}": "VARCHAR" for i in range(len(header))}
    # Trimming and blank-to-missing happen here, in DuckDB, where they are cheap.
    trimmed = ", ".join(f"nullif(trim(c{i}), '') AS c{i}" for i in range(len(header)))
    try:
        frame = _csv_reader().execute(
            f"SELECT {trimmed} FROM read_csv(?, header = true, auto_detect = false,"
            " columns = ?, delim = ',', quote = '\"', escape = '\"', strict_mode = true,"
            " null_padding = false, encoding = 'utf-8')",
            [str(path), columns],
        ).df()
    except duckdb.Error as exc:
        raise Unreadable(_csv_error(exc)) from None
    frame.index = _csv_line_numbers(path, len(frame), head)
    return header, frame


def _csv_line_numbers(path: Path, rows: int, head: bytes) -> pd.Index:
    """Line numbers of the data rows: DuckDB skips blank lines, so count them back in."""
    data = path.read_bytes() if rows > 0 else b""
    if b"\n\n" not in data and b"\n\r\n" not in data:
        return pd.RangeIndex(2, rows + 2)
    lines = [
        number
        for number, text in enumerate(data.split(b"\n")[1:], start=2)
        if text.strip(b"\r")
    ]
    return pd.Index(lines[:rows])


def _cell_text(value: object) -> str | None:
    """An Excel cell as the text a CSV would hold: trimmed, blank as missing."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path) -> tuple[list[str], pd.DataFrame]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises several types for damaged files
        raise Unreadable(f"the file is not a readable Excel workbook ({exc})") from None
    if not rows:
        raise Unreadable("the first sheet is empty")
    header = [_cell_text(v) or "" for v in rows[0]]
    width = len(header)
    body = [
        (line, [_cell_text(v) for v in row[:width]] + [None] * (width - len(row)))
        for line, row in enumerate(rows[1:], start=2)
        if any(v not in (None, "") for v in row)
    ]
    frame = pd.DataFrame(
        [values for _, values in body],
        index=pd.Index([line for line, _ in body], dtype="int64"),
        columns=[f"c{i}" for i in range(width)],
        dtype=object,
    )
    return header, frame


def extract_file(path: Path, kind: str) -> ExtractedFile:
    """Read and normalise a file; problems become findings, never exceptions."""
    result = ExtractedFile(path=path, kind=kind)
    try:
        result.sha256 = sha256_of(path)
        reader = _read_xlsx if path.suffix.lower() == ".xlsx" else _read_csv
        header, raw = reader(path)
    except (Unreadable, OSError) as exc:
        result.findings.append(Finding(path.name, "the file must be readable", ERROR,
                                       detail=str(exc)))
        return result

    names, problems, notes = check_header(path.name, kind, header)
    result.findings.extend(notes + problems)
    if problems:
        return result

    known = COLUMNS[kind]
    frame = pd.DataFrame(index=raw.index)
    for column in known:
        if column in names:
            frame[column] = raw[f"c{names.index(column)}"]
        else:
            frame[column] = pd.Series(None, index=raw.index, dtype=object)
    result.frame = frame
    return result
