"""The input file contract (SPEC 3): file names and columns, in one place."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from caseload_pipeline.core.findings import ERROR, INFO, Finding
from caseload_pipeline.core.months import Month, parse_month

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


def normalise_header(name: object) -> str:
    """`Worker ID` -> `worker_id`: trim, lower-case, spaces and hyphens to underscores."""
    text = "" if name is None else str(name)
    return re.sub(r"[\s\-]+", "_", text.strip().lstrip("\ufeff").strip().lower())


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
    extras = sorted({h.strip() for h, n in zip(header, names, strict=True) if n not in known})
    if extras:
        notes.append(Finding(
            file_name, "extra columns are ignored and not loaded", INFO, passed=False,
            detail=", ".join(e or "(blank header)" for e in extras)))
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


def _named_files(incoming: Path) -> list[tuple[Path, str, str]]:
    """(path, kind, month) of every file in `incoming` named as the contract says.
    Names match in any case (`Caseload_2023-06.CSV` too), as Windows users save them."""
    if not incoming.is_dir():
        return []
    found = []
    for path in sorted(incoming.iterdir()):
        match = FILE_NAME.match(path.name)
        if match and path.is_file():
            found.append((path, match.group(1).lower(), match.group(2)))
    return found


def find_month_files(incoming: Path, month: Month) -> MonthFiles:
    paths: dict[str, list[Path]] = {kind: [] for kind in KINDS}
    for path, kind, file_month in _named_files(incoming):
        if file_month == str(month):
            paths[kind].append(path)
    return MonthFiles(month, paths)


def months_with_files(incoming: Path) -> set[Month]:
    return {parse_month(month) for _, _, month in _named_files(incoming)}


def sha256_of(path: Path) -> str:
    """A file's content hash, as `load_log` records it and the sensor compares it."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
