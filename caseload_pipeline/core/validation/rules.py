"""The validation rules of SPEC 3 as Great Expectations expectations.

Each file's text frame gets a few derived columns (parsed numbers and dates,
folded team names, the roster team) so that every rule is one standard
expectation. A rule's outcome becomes a `Finding`; its examples are read back
from the original text at the line numbers GX reports, so a message shows what
the person typed, never a parsed value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from caseload_pipeline.core.contract import STAFF
from caseload_pipeline.core.findings import ERROR, WARNING
from caseload_pipeline.core.months import Month
from caseload_pipeline.core.normalise import fold_name
from caseload_pipeline.core.reference import Reference

FLAGS = ("true", "false", "yes", "no", "y", "n", "1", "0")
LEVEL_PATTERN = r"(?i)^(?:low|medium|high)$"
FLAG_PATTERN = r"(?i)^(?:" + "|".join(FLAGS) + r")$"
MAX_ALLOCATIONS = 60
INVALID = -1  # a derived value for text that does not parse: fails every range rule


@dataclass(frozen=True)
class Rule:
    words: str  # the rule in plain words
    column: str | None  # the column a person looks at
    expectation: str  # GX expectation class name
    kwargs: dict[str, Any]
    severity: str = ERROR


@dataclass(frozen=True)
class MonthContext:
    """What the rules need beyond the file itself."""

    month: Month
    reference: Reference
    # rows of each kind in the month before (loaded, or earlier in the same run)
    previous_rows: dict[str, int]
    previous_months: dict[str, Month] = field(default_factory=dict)  # which month that was


def _by_distinct(text: pd.Series, convert) -> pd.Series:
    """Apply `convert` to each distinct value once and map the result back.

    Team names, dates and numbers repeat a great deal in a month's file, so
    this is far cheaper than converting every row."""
    distinct = pd.Series(text.dropna().unique(), dtype=object)
    converted = pd.Series(convert(distinct).to_numpy(), index=distinct.to_numpy())
    return text.map(converted).astype(converted.dtype if len(converted) else float)


def _dates(text: pd.Series) -> pd.Series:
    """yyyymmdd integers; INVALID where text is present but not a date."""
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    uk = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    parsed = iso.fillna(uk)
    as_int = parsed.dt.year * 10000 + parsed.dt.month * 100 + parsed.dt.day
    return as_int.fillna(INVALID).astype(float)


def _numbers(text: pd.Series, whole: bool = False) -> pd.Series:
    """Numbers; INVALID where text is present but not a (whole) number."""
    number = pd.to_numeric(text, errors="coerce")
    bad = number.isna() | (whole & (number % 1 != 0))
    return number.where(~bad, INVALID).astype(float)


def _yyyymmdd(day) -> int:
    return day.year * 10000 + day.month * 100 + day.day


# The file columns each derived column is computed from: a rule on a derived
# column judges a row by those columns' values alone (validation/distinct.py
# gives GX each distinct combination once, with how many rows hold it).
SOURCES = {
    "_team": ("team",), "_team_canonical": ("team",), "_role": ("role",), "_fte": ("fte",),
    "_travel": ("travel_minutes",), "_snapshot_date": ("snapshot_date",),
    "_allocated_on": ("allocated_on",), "_worker_allocations": ("worker_id",),
    "_roster_team": ("worker_id",), "_on_roster": ("worker_id",),
}
# How many rows of the file a row of a frame stands for, when the frame holds
# distinct values (a whole file's frame has none: each row is one row).
WEIGHT = "_n"


def derive_columns(kind: str, frame: pd.DataFrame, ctx: MonthContext,
                   roster: pd.DataFrame | None) -> pd.DataFrame:
    """The frame plus the derived columns the rules look at (prefixed `_`), those
    whose SOURCES the frame has: a whole file's frame, or its distinct values.

    Blank text stays missing (GX skips missing values in column rules); text
    that does not parse becomes INVALID, which every range rule refuses. The
    roster gives each worker id its team (the last line's, for an id given
    twice) and whether it is on the roster."""
    out = frame.copy()
    if "team" in out:
        out["_team"] = _by_distinct(out["team"], lambda s: s.map(fold_name))
        out["_team_canonical"] = out["_team"].map(ctx.reference.team_aliases)
    if kind == STAFF:
        if "role" in out:
            out["_role"] = _by_distinct(out["role"], lambda s: s.map(fold_name))
        if "fte" in out:
            out["_fte"] = _by_distinct(out["fte"], _numbers)
        return out
    for column, derived, convert in (
            ("travel_minutes", "_travel", lambda s: _numbers(s, whole=True)),
            ("snapshot_date", "_snapshot_date", _dates),
            ("allocated_on", "_allocated_on", _dates)):
        if column in out:
            out[derived] = _by_distinct(out[column], convert)
    if "worker_id" not in out:
        return out
    rows = out[WEIGHT] if WEIGHT in out else pd.Series(1, index=out.index)
    out["_worker_allocations"] = rows.groupby(out["worker_id"], dropna=True).transform(
        "sum").astype(float)
    if roster is not None:
        roster_team = dict(zip(roster["worker_id"], roster["_team_canonical"], strict=True))
        out["_roster_team"] = out["worker_id"].map(roster_team)
        # A boolean, not a 50,000-name value set: GX copies an expectation's
        # configuration many times, and a large set made that dominate. (An
        # index lookup: Series.isin on Arrow strings is ten times slower.)
        rostered = pd.Index(roster["worker_id"]).unique().get_indexer(out["worker_id"]) >= 0
        on_roster = pd.Series(rostered, index=out.index)
        out["_on_roster"] = on_roster.where(out["worker_id"].notna())
    return out


def rules_for(kind: str, ctx: MonthContext, roster: pd.DataFrame | None) -> list[Rule]:
    month, ref = ctx.month, ctx.reference
    rules = [Rule("the file must have at least one data row", None,
                  "ExpectTableRowCountToBeBetween", {"min_value": 1})]
    team_set = sorted(ref.team_aliases)
    if kind == STAFF:
        rules += [
            Rule("worker_id must not be blank", "worker_id",
                 "ExpectColumnValuesToNotBeNull", {"column": "worker_id"}),
            Rule("worker_id must appear only once in the file", "worker_id",
                 "ExpectColumnValuesToBeUnique", {"column": "worker_id"}),
            Rule("team must not be blank", "team", "ExpectColumnValuesToNotBeNull",
                 {"column": "team"}),
            Rule("team must be a team in teams.csv (name or alias)", "team",
                 "ExpectColumnValuesToBeInSet", {"column": "_team", "value_set": team_set}),
            Rule("role must not be blank", "role", "ExpectColumnValuesToNotBeNull",
                 {"column": "role"}),
            Rule("role must be a role in roles.csv (name or alias)", "role",
                 "ExpectColumnValuesToBeInSet",
                 {"column": "_role", "value_set": sorted(ref.role_aliases)}),
            Rule("fte must not be blank", "fte", "ExpectColumnValuesToNotBeNull",
                 {"column": "fte"}),
            Rule("fte must be a number greater than 0 and at most 1", "fte",
                 "ExpectColumnValuesToBeBetween",
                 {"column": "_fte", "min_value": 0, "max_value": 1, "strict_min": True}),
        ]
        for column in ("case_holding", "protected_caseload"):
            rules.append(Rule(f"{column} must be true/false, yes/no, y/n or 1/0", column,
                              "ExpectColumnValuesToMatchRegex",
                              {"column": column, "regex": FLAG_PATTERN}))
    else:
        first, last = _yyyymmdd(month.first_day), _yyyymmdd(month.last_day)
        rules += [
            Rule("case_id must not be blank", "case_id", "ExpectColumnValuesToNotBeNull",
                 {"column": "case_id"}),
            Rule("worker_id must not be blank", "worker_id", "ExpectColumnValuesToNotBeNull",
                 {"column": "worker_id"}),
            Rule("each case_id and worker_id pair must appear only once", "case_id, worker_id",
                 "ExpectCompoundColumnsToBeUnique", {"column_list": ["case_id", "worker_id"]}),
            Rule("team must be a team in teams.csv (name or alias)", "team",
                 "ExpectColumnValuesToBeInSet", {"column": "_team", "value_set": team_set}),
            Rule("complexity must be low, medium or high (or blank)", "complexity",
                 "ExpectColumnValuesToMatchRegex",
                 {"column": "complexity", "regex": LEVEL_PATTERN}),
            Rule("risk must be low, medium or high (or blank)", "risk",
                 "ExpectColumnValuesToMatchRegex", {"column": "risk", "regex": LEVEL_PATTERN}),
            Rule("travel_minutes must be a whole number from 0 to 600", "travel_minutes",
                 "ExpectColumnValuesToBeBetween",
                 {"column": "_travel", "min_value": 0, "max_value": 600}),
            Rule(f"snapshot_date must be a date in {month} (2023-06-30 or 30/06/2023)",
                 "snapshot_date", "ExpectColumnValuesToBeBetween",
                 {"column": "_snapshot_date", "min_value": first, "max_value": last}),
            Rule(f"allocated_on must be a date on or before {month.last_day.isoformat()}",
                 "allocated_on", "ExpectColumnValuesToBeBetween",
                 {"column": "_allocated_on", "min_value": 19000101, "max_value": last}),
            Rule(f"a worker should hold at most {MAX_ALLOCATIONS} allocations", "worker_id",
                 "ExpectColumnValuesToBeBetween",
                 {"column": "_worker_allocations", "max_value": MAX_ALLOCATIONS}, WARNING),
        ]
        if roster is not None:
            rules += [
                Rule("allocations should be to a worker on the month's staff roster "
                     "(others are kept but left out of averages)", "worker_id",
                     "ExpectColumnValuesToBeInSet",
                     {"column": "_on_roster", "value_set": [True]}, WARNING),
                Rule("the case system's team should match the worker's roster team", "team",
                     "ExpectColumnPairValuesToBeEqual",
                     {"column_A": "_team_canonical", "column_B": "_roster_team",
                      "ignore_row_if": "either_value_is_missing"}, WARNING),
            ]
    previous = ctx.previous_rows.get(kind)
    if previous:
        before = ctx.previous_months.get(kind)
        rules.append(Rule(
            "the row count should be within 50 % of the previous month's"
            f" ({f'{before}: ' if before else ''}{previous} rows)",
            None, "ExpectTableRowCountToBeBetween",
            {"min_value": math.ceil(previous * 0.5), "max_value": math.floor(previous * 1.5)},
            WARNING))
    return rules
