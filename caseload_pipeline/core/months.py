"""Calendar months, the pipeline's unit of work (one Dagster partition each)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-01)?$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return self.next().first_day - dt.timedelta(days=1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def range_to(self, last: Month) -> list[Month]:
        months, current = [], self
        while current <= last:
            months.append(current)
            current = current.next()
        return months


def parse_month(text: str) -> Month:
    """`2023-06` (or a partition key `2023-06-01`) -> Month; ValueError otherwise."""
    match = _MONTH.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"{text!r} is not a month like 2023-06")
    return Month(int(match.group(1)), int(match.group(2)))


def last_complete_month(today: dt.date | None = None) -> Month:
    today = today or dt.date.today()
    return Month(today.year, today.month).previous()
