"""Monthly files as the analyst receives them (SPEC 3).

The same department looks different through the years, as real extracts do:
the case system's report changed its headers and date format, an analyst
once saved a month from Excel, HR moved to a system that exports workbooks,
and a few months arrive with a byte-order mark and Windows line ends. Every
variation is one the contract accepts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass
from pathlib import Path

import xlsxwriter

from .cases import Allocation
from .months import month_label, parse_month, snapshot_day
from .roster import Worker

CASELOAD_COLUMNS = (
    "case_id",
    "worker_id",
    "snapshot_date",
    "team",
    "complexity",
    "risk",
    "travel_minutes",
    "allocated_on",
    "reassignment_reason",
)
STAFF_COLUMNS = ("worker_id", "team", "role", "fte", "case_holding", "protected_caseload")
TITLE_HEADERS = {  # the case system's report between 2020 and the 2021 restructure
    "case_id": "Case ID",
    "worker_id": "Worker ID",
    "snapshot_date": "Snapshot Date",
    "team": "Team",
    "complexity": "Complexity",
    "risk": "Risk",
    "travel_minutes": "Travel Minutes",
    "allocated_on": "Allocated On",
    "reassignment_reason": "Reassignment Reason",
}
SENTENCE_HEADERS = {  # the upgraded report from 2025
    "case_id": "Case Id",
    "worker_id": "Worker Id",
    "snapshot_date": "Snapshot date",
    "team": "Team",
    "complexity": "Complexity",
    "risk": "Risk",
    "travel_minutes": "Travel-minutes",
    "allocated_on": "Allocated on",
    "reassignment_reason": "Reassignment reason",
}
HR_HEADERS = {
    "worker_id": "Worker ID",
    "team": "Team",
    "role": "Role",
    "fte": "FTE",
    "case_holding": "Case Holding",
    "protected_caseload": "Protected Caseload",
}
# The case system has always spelt the Carers Team the way the council's web page does.
CASE_SYSTEM_TEAM_NAMES = {"Carers Team": "Cares Team"}
# The HR system from 2024 abbreviates some team names.
HR_TEAM_NAMES = {
    "Occupational Therapy Team": "OT Team",
    "Visual and Hearing Impairment Team": "VHI Team",
}
CASE_NOTES = (
    "Review due",
    "Awaiting OT assessment",
    "Carer's assessment requested",
    "Safeguarding concern, monitor weekly",
    "Equipment delivered",
    "Family meeting booked",
)
XLSX_CREATED = dt.datetime(2019, 7, 1)  # fixed, so a workbook's bytes depend on its cells only


@dataclass(frozen=True)
class MonthStyle:
    caseload_headers: dict[str, str]
    staff_headers: dict[str, str]
    uk_dates: bool
    title_case_levels: bool  # "High" rather than "high"
    staff_flags: tuple[str, str]  # how HR writes true / false
    blank_when_not_protected: bool
    fte_format: str
    case_note: bool
    padded_teams: bool
    bom_crlf: bool
    caseload_xlsx: bool
    staff_xlsx: bool


def _between(month: int, first: str, last: str) -> bool:
    return parse_month(first) <= month <= parse_month(last)


def month_style(month: int) -> MonthStyle:
    """How the month's extracts look, by the systems in use at the time."""
    old_report = _between(month, "2020-01", "2021-03")  # the case system's 2020 report
    new_report = month >= parse_month("2025-01")  # after the case system upgrade
    hr_csv = _between(month, "2021-04", "2023-12")  # HR exports with Y/N flags
    hr_xlsx = month >= parse_month("2024-01")  # the new HR system exports workbooks
    if old_report:
        caseload_headers = TITLE_HEADERS
    elif new_report:
        caseload_headers = SENTENCE_HEADERS
    else:
        caseload_headers = {c: c for c in CASELOAD_COLUMNS}
    if hr_csv:
        flags = ("Y", "N")
    elif hr_xlsx:
        flags = ("Yes", "No")
    else:
        flags = ("true", "false")
    return MonthStyle(
        caseload_headers=caseload_headers,
        staff_headers=HR_HEADERS if hr_csv or hr_xlsx else {c: c for c in STAFF_COLUMNS},
        uk_dates=old_report,
        title_case_levels=old_report,
        staff_flags=flags,
        blank_when_not_protected=hr_csv,
        fte_format="{:.2f}" if hr_csv else "{:g}",
        case_note=_between(month, "2022-01", "2022-06"),
        padded_teams=month == parse_month("2023-05"),
        # saved from Excel on Windows by an analyst
        bom_crlf=month in (parse_month("2020-11"), parse_month("2023-02")),
        caseload_xlsx=month in (parse_month("2021-09"), parse_month("2021-10")),
        staff_xlsx=hr_xlsx,
    )


# -- rows ---------------------------------------------------------------------


def caseload_records(month: int, rows: list[Allocation], style: MonthStyle) -> list[tuple]:
    """Rows in the case system's words and report order (team, worker, case), one
    value per column of ``caseload_columns(style)``; dates are dates, minutes ints."""
    snapshot = snapshot_day(month)
    notes = random.Random(month)  # the free-text column is decoration, seeded per month
    title = style.title_case_levels
    records = []
    for row in sorted(rows, key=lambda r: (r.team, r.worker_id, r.case_id)):
        team = CASE_SYSTEM_TEAM_NAMES.get(row.team, row.team)
        record = (
            row.case_id,
            row.worker_id,
            snapshot,
            f" {team}  " if style.padded_teams else team,
            row.complexity.title() if title and row.complexity else row.complexity,
            row.risk.title() if title and row.risk else row.risk,
            row.travel_minutes,
            row.allocated_on,
            row.reassignment_reason,
        )
        if style.case_note:
            record += (notes.choice(CASE_NOTES) if notes.random() < 0.15 else None,)
        records.append(record)
    return records


def caseload_columns(style: MonthStyle) -> list[str]:
    columns = [style.caseload_headers[c] for c in CASELOAD_COLUMNS]
    return columns + ["Case Note"] if style.case_note else columns


def _caseload_csv_rows(records: list[tuple], style: MonthStyle) -> list[tuple]:
    day = _DateTexts("%d/%m/%Y" if style.uk_dates else "%Y-%m-%d")
    return [
        (
            case,
            worker,
            day[snap],
            team,
            cx or "",
            risk or "",
            "" if travel is None else str(travel),
            day[allocated],
            reason or "",
            *(note or "" for note in extra),
        )
        for case, worker, snap, team, cx, risk, travel, allocated, reason, *extra in records
    ]


def staff_records(month: int, staff: list[Worker], style: MonthStyle) -> list[tuple]:
    """One value per column of STAFF_COLUMNS; fte is a number."""
    yes, no = style.staff_flags
    records = []
    for worker in sorted(staff, key=lambda w: (w.team, w.worker_id)):
        team = HR_TEAM_NAMES.get(worker.team, worker.team) if style.staff_xlsx else worker.team
        role = (
            "Senior social worker"
            if worker.senior and month >= parse_month("2021-04")
            else worker.role
        )
        not_protected = "" if style.blank_when_not_protected else no
        records.append(
            (
                worker.worker_id,
                team,
                role,
                worker.fte,
                yes if worker.case_holding else no,
                yes if worker.protected(month) else not_protected,
            )
        )
    return records


def _staff_csv_rows(records: list[tuple], style: MonthStyle) -> list[tuple]:
    return [(*r[:3], style.fte_format.format(r[3]), *r[4:]) for r in records]


# -- writers -------------------------------------------------------------------


class _DateTexts(dict[dt.date, str]):
    """Date -> text, formatting each distinct date once (a month has a few hundred)."""

    def __init__(self, pattern: str):
        super().__init__()
        self.pattern = pattern

    def __missing__(self, day: dt.date) -> str:
        self[day] = text = day.strftime(self.pattern)
        return text


def write_csv(path: Path, header: list[str], rows: list[tuple], style: MonthStyle) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if style.bom_crlf else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    text = ("\ufeff" if style.bom_crlf else "") + out.getvalue()
    path.write_bytes(text.encode("utf-8"))


def write_xlsx(path: Path, sheet: str, header: list[str], records: list[tuple]) -> None:
    """Numbers as numeric cells and dates as date cells, as Excel would hold them."""
    workbook = xlsxwriter.Workbook(str(path), {"in_memory": True})
    workbook.set_properties({"created": XLSX_CREATED})
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    worksheet = workbook.add_worksheet(sheet)
    worksheet.write_row(0, 0, header)
    for r, record in enumerate(records, start=1):
        for c, value in enumerate(record):
            if value is None or value == "":
                continue
            if isinstance(value, dt.date):
                worksheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_format)
            elif isinstance(value, int | float):
                worksheet.write_number(r, c, value)
            else:
                worksheet.write_string(r, c, value)
    workbook.close()


def write_month(
    incoming: Path, month: int, staff: list[Worker], rows: list[Allocation]
) -> list[Path]:
    style = month_style(month)
    label = month_label(month)
    caseload = caseload_records(month, rows, style)
    staff_rows = staff_records(month, staff, style)
    staff_header = [style.staff_headers[c] for c in STAFF_COLUMNS]
    files = (
        ("caseload", caseload_columns(style), caseload, _caseload_csv_rows, style.caseload_xlsx),
        ("staff", staff_header, staff_rows, _staff_csv_rows, style.staff_xlsx),
    )
    written = []
    for kind, header, records, as_text, as_xlsx in files:
        path = incoming / f"{kind}_{label}.{'xlsx' if as_xlsx else 'csv'}"
        if as_xlsx:
            write_xlsx(path, kind.title(), header, records)
        else:
            write_csv(path, header, as_text(records, style), style)
        # An older copy in the other format would make the month ambiguous.
        other = path.with_suffix(".csv" if as_xlsx else ".xlsx")
        if other.exists():
            other.unlink()
        written.append(path)
    return written
