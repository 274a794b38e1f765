"""A deterministic demo department (SPEC 10).

``write_demo(data_dir)`` writes the reference files and one caseload and one
staff file per month from July 2019, such that the pipeline's audit averages
reproduce the council's three published audits (``seed/published_audits.csv``)
to one decimal place, with restructures, lineage, turnover, co-allocation,
reassignment and a realistic case mix in between.

Layout: department.py (the timeline as data), roster.py (staff), plan.py
(caseload numbers and the calibration to the published figures), cases.py and
casemix.py (individual cases), history.py (ties them to one seed), files.py
(monthly files as extracted), reference.py (reference files).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from .files import write_month
from .history import FIRST_MONTH, simulate
from .months import last_complete_month, month_label, parse_month
from .reference import reference_files

__all__ = ["DemoSummary", "default_last_month", "write_demo", "write_reference"]


@dataclass(frozen=True)
class DemoSummary:
    first_month: str  # of the history generated
    last_month: str
    months_written: tuple[str, ...]  # months whose files were written by this call
    months_skipped: tuple[str, ...]  # months that already had files
    files_written: tuple[Path, ...]  # reference and monthly files, in writing order

    def __str__(self) -> str:
        kept = f", {len(self.months_skipped)} months already there" if self.months_skipped else ""
        return (
            f"{len(self.months_written)} months written ({self.first_month} to {self.last_month}"
            f"{kept}), {len(self.files_written)} files"
        )


def default_last_month(today: dt.date | None = None) -> str:
    """The last complete calendar month before today."""
    return last_complete_month(today or dt.date.today())


def write_reference(reference_dir: Path, *, overwrite: bool = False) -> list[Path]:
    """Write the reference files that are missing (all of them with overwrite)."""
    reference_dir = Path(reference_dir)
    reference_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in reference_files().items():
        path = reference_dir / name
        if overwrite or not path.exists():
            path.write_bytes(text.encode("utf-8"))
            written.append(path)
    return written


def _has_files(incoming: Path, label: str) -> bool:
    return any(
        (incoming / f"{kind}_{label}.{ext}").exists()
        for kind in ("caseload", "staff")
        for ext in ("csv", "xlsx")
    )


def write_demo(
    data_dir: Path, last_month: str | None = None, *, overwrite: bool = False
) -> DemoSummary:
    """Write the demo department into data_dir (reference/ and incoming/).

    Reference files are written when missing and a month's files when the month
    has none yet; with overwrite everything is rewritten. The same call always
    writes the same files, byte for byte (workbooks carry a fixed creation date).
    """
    data_dir = Path(data_dir)
    last_month = last_month or default_last_month()
    first = parse_month(FIRST_MONTH)
    last = parse_month(last_month)  # validates the format
    if last < first:
        raise ValueError(f"the demo history starts in {FIRST_MONTH}; got last month {last_month}")
    written = write_reference(data_dir / "reference", overwrite=overwrite)

    incoming = data_dir / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    labels = [month_label(m) for m in range(first, last + 1)]
    wanted = [label for label in labels if overwrite or not _has_files(incoming, label)]
    if wanted:
        history = simulate(last_month)
        for label in wanted:
            month = parse_month(label)
            written += write_month(
                incoming, month, history.rosters[month], history.allocations[month]
            )
    return DemoSummary(
        first_month=FIRST_MONTH,
        last_month=month_label(last),
        months_written=tuple(wanted),
        months_skipped=tuple(label for label in labels if label not in wanted),
        files_written=tuple(written),
    )
