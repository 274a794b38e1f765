"""Rounding and formatting shared by the HTML and Excel reports.

The warehouse stores numbers unrounded and reports show one decimal place
(SPEC 5). We round exactly like DuckDB's `round(x, 1)` (the exact binary value,
halves away from zero) so a figure in the report always equals the same query
run by an analyst in the warehouse. Python's round() would differ on halves.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

_TENTH = Decimal("0.1")
MISSING = "\u2013"  # en dash: shown where there is no figure


def round1(value: float | int | None) -> float | None:
    """Round to one decimal place as DuckDB does; None stays None."""
    if value is None:
        return None
    rounded = float(Decimal(value).quantize(_TENTH, rounding=ROUND_HALF_UP))
    return rounded + 0.0  # turns -0.0 into 0.0 so "-0.0" is never shown


def fmt1(value: float | int | None) -> str:
    rounded = round1(value)
    return MISSING if rounded is None else f"{rounded:.1f}"


def signed1(value: float | None) -> str:
    """A change with its sign: +12.3, -0.4, 0.0."""
    rounded = round1(value)
    if rounded is None:
        return MISSING
    return f"+{rounded:.1f}" if rounded > 0 else f"{rounded:.1f}"


def pct1(fraction: float | None) -> float | None:
    """A fraction (0.125) as a rounded percentage (12.5)."""
    return None if fraction is None else round1(fraction * 100)


def month_name(month: dt.date | None) -> str:
    return MISSING if month is None else month.strftime("%B %Y")


def month_short(month: dt.date) -> str:
    return month.strftime("%b %Y")


def ordinal(n: int) -> str:
    words = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
             "ninth", "tenth"]
    return words[n - 1] if 1 <= n <= len(words) else f"number {n}"
