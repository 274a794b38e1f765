"""Month arithmetic for the demo generator.

Months are plain integers (year * 12 + month - 1) inside the generator so that
ranges, differences and dictionary keys stay cheap; they become ``YYYY-MM``
strings only at the edges.
"""

from __future__ import annotations

import calendar
import datetime as dt


def parse_month(text: str) -> int:
    """``"2023-06"`` -> month index; rejects anything that is not ``YYYY-MM``."""
    try:
        year_text, month_text = text.split("-")
        year, month = int(year_text), int(month_text)
    except ValueError:
        raise ValueError(f"month must look like YYYY-MM, got {text!r}") from None
    if len(year_text) != 4 or len(month_text) != 2 or not 1 <= month <= 12:
        raise ValueError(f"month must look like YYYY-MM, got {text!r}")
    return year * 12 + month - 1


def month_label(index: int) -> str:
    year, month0 = divmod(index, 12)
    return f"{year:04d}-{month0 + 1:02d}"


def year_month(index: int) -> tuple[int, int]:
    year, month0 = divmod(index, 12)
    return year, month0 + 1


def calendar_month(index: int) -> int:
    """1 for January ... 12 for December."""
    return index % 12 + 1


def month_end(index: int) -> dt.date:
    year, month = year_month(index)
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def snapshot_day(index: int) -> dt.date:
    """The last working day of the month: case systems are extracted on a weekday."""
    day = month_end(index)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def last_complete_month(today: dt.date) -> str:
    first_of_month = today.replace(day=1)
    return (first_of_month - dt.timedelta(days=1)).strftime("%Y-%m")
