"""The input file contract (SPEC 3): file names and columns, in one place."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from caseload_pipeline.core.findings import ERROR, INFO, Finding
from caseload_pipeline.core.months import Month, parse_month
from caseload_pipeline.core.normalise import clean_text

CASELOAD, STAFF = "caseload", "staff"
KINDS = (CASELOAD, STAFF)
SUFFIXES = (".csv", ".xlsx")

COLUMNS = {
    CASELOAD: (
        "case_id", "worker_id", "snapshot_date", "team", "complexity", "risk",
        "travel_minutes", "allocated_on", "reassignment_reason",
    ),
    STAFF: ("worker_id", "team", "role", "fte", "case_holding", "protected_caseload"),
}
REQUIRED = {
    CASELOAD: ("case_id", "worker_id"),
    STAFF: ("worker_id", "team", "role", "fte"),
}
# Identifiers are shown by line only: raw ids must never reach the warehouse,
# and the messages are stored there.
ID_COLUMNS = ("case_id", "worker_id")

FILE_NAME = re.compile(r"^(caseload|staff)_(\d{4}-\d{2})\.(csv|xlsx)$", re.IGNORECASE)
# A name meant as a monthly file that the contract does not accept (a month 13,
# `caseload_June.csv`, a `.txt` export): skipped with a warning, never an error
# for the other months.
_MEANT_AS_MONTHLY = re.compile(r"^(caseload|staff)(?![a-z])", re.IGNORECASE)
_ANY_SUFFIX = re.compile(r"^(caseload|staff)_(\d{4}-\d{2})(\.[^.]*)?$", re.IGNORECASE)
NAME_RULE = "the file name must be like caseload_2023-06.csv or staff_2023-06.xlsx"
EXTRA_COLUMNS_SHOWN = 10  # a file with thousands of columns names this many, counts the rest


def normalise_header(name: object) -> str:
    """`Worker ID` -> `worker_id`: cleaned like every value (normalise.clean_text),
    lower-cased, spaces and hyphens to underscores."""
    text = clean_text("" if name is None else str(name))
    return re.sub(r"[ \-]+", "_", text.lower())


def check_header(file_name: str, kind: str, header: list[str]
                 ) -> tuple[list[str], list[Finding], list[Finding]]:
    """The header's normalised column names, the blocking problems with it
    (a required column missing, a column twice) and notes (extra columns)."""
    names = [normalise_header(h) for h in header]
    known = COLUMNS[kind]
    problems = []
    for column in known:
        if names.count(column) > 1:
            lines = "header columns " + ", ".join(
                str(i + 1) for i, n in enumerate(names) if n == column)
            problems.append(Finding(file_name, "a column must appear only once", ERROR,
                                    column=column, detail=lines))
    for column in REQUIRED[kind]:
        if column not in names:
            problems.append(Finding(file_name, "a required column is missing", ERROR,
                                    column=column, detail="line 1 (header)"))
    notes = []
    # in the file's order, each once: the first few are the ones a person finds first
    extras = list(dict.fromkeys(
        clean_text(h) for h, n in zip(header, names, strict=True) if n not in known))
    if extras:
        shown = ", ".join(e or "(blank header)" for e in extras[:EXTRA_COLUMNS_SHOWN])
        if len(extras) > EXTRA_COLUMNS_SHOWN:
            shown += f" and {len(extras) - EXTRA_COLUMNS_SHOWN:,} more"
        notes.append(Finding(
            file_name, "extra columns are ignored and not loaded", INFO, passed=False,
            detail=shown))
    return names, problems, notes


def expected_names(kind: str, month: Month) -> list[str]:
    return [f"{kind}_{month}{suffix}" for suffix in SUFFIXES]


@dataclass(frozen=True)
class MonthFiles:
    """What `incoming/` holds for one month: zero, one or (ambiguous) two paths per kind."""

    month: Month
    paths: dict[str, list[Path]]

    @property
    def complete(self) -> bool:
        return all(len(self.paths[kind]) == 1 for kind in KINDS)

    @property
    def missing(self) -> list[str]:
        return [" or ".join(expected_names(k, self.month)) for k in KINDS if not self.paths[k]]


def parse_file_name(name: str) -> tuple[str, Month] | None:
    """(kind, month) of a monthly file name (`Caseload_2023-06.CSV` too, as
    Windows users save them), or None when the name is not one."""
    match = FILE_NAME.match(name)
    if not match:
        return None
    try:
        return match.group(1).lower(), parse_month(match.group(2))
    except ValueError:  # caseload_2023-13.csv
        return None


def name_problem(name: str) -> str:
    """Why `name` is not a monthly file name, in plain words."""
    match = _ANY_SUFFIX.match(name)
    if not match:
        return "the month must follow the kind as YYYY-MM, e.g. caseload_2023-06.csv"
    try:
        parse_month(match.group(2))
    except ValueError:
        return f"{match.group(2)} is not a month: months run from 01 to 12"
    what = f"not {match.group(3)}" if match.group(3) else "and this name has no extension"
    return f"only .csv and .xlsx files are read, {what}: save it as CSV UTF-8 or .xlsx"


@dataclass(frozen=True)
class SkippedFile:
    """A file in incoming/ named like a monthly file but not as the contract says."""

    path: Path
    reason: str

    @property
    def message(self) -> str:
        return (f"{self.path.name}: {NAME_RULE} ({self.reason}); the file is skipped")


def _scan(incoming: Path) -> tuple[list[tuple[Path, str, Month]], list[SkippedFile]]:
    """(path, kind, month) of every monthly file in `incoming`, and the files
    named as if they were one but skipped. Hidden files and Excel's lock files
    (`~$caseload_...`) are neither."""
    if not incoming.is_dir():
        return [], []
    found, skipped = [], []
    for path in sorted(incoming.iterdir()):
        if not path.is_file():
            continue
        parsed = parse_file_name(path.name)
        if parsed:
            found.append((path, *parsed))
        elif _MEANT_AS_MONTHLY.match(path.name):
            skipped.append(SkippedFile(path, name_problem(path.name)))
    return found, skipped


def files_by_month(incoming: Path) -> dict[Month, MonthFiles]:
    """What `incoming` holds for each month with a file, from one look at the
    folder (a run, the sensor and `rebuild` go through every month)."""
    paths: dict[Month, dict[str, list[Path]]] = {}
    for path, kind, month in _scan(incoming)[0]:
        paths.setdefault(month, {k: [] for k in KINDS})[kind].append(path)
    return {month: MonthFiles(month, found) for month, found in sorted(paths.items())}


def find_month_files(incoming: Path, month: Month) -> MonthFiles:
    return files_by_month(incoming).get(month) or MonthFiles(month, {k: [] for k in KINDS})


def months_with_files(incoming: Path) -> set[Month]:
    return set(files_by_month(incoming))


def skipped_files(incoming: Path) -> list[SkippedFile]:
    """Files in `incoming` that look meant as monthly files but are not named as
    the contract says: the CLI and the sensor warn about each and go on."""
    return _scan(incoming)[1]


def sha256_of(path: Path) -> str:
    """A file's content hash, as `load_log` records it and the sensor compares it."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
