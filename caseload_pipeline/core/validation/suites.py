"""Running the rules: each file's own GX suite, or many months' files at once.

`validate_month` is what `caseload validate` and a one-month run use;
`validate_months` is what a run over many months uses. Both give each file the
same findings (caseload_pipeline_tests/validation/test_batch.py).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from caseload_pipeline.core.contract import CASELOAD, ID_COLUMNS, STAFF
from caseload_pipeline.core.extract import ExtractedFile
from caseload_pipeline.core.findings import ERROR, MAX_EXAMPLES, Finding
from caseload_pipeline.core.validation import gx_runner
from caseload_pipeline.core.validation.rules import (
    MonthContext,
    Rule,
    derive_columns,
    rules_for,
)

# --- one file's own suite -------------------------------------------------------

def _examples(frame: pd.DataFrame, column: str | None, lines: list) -> tuple:
    shown_column = None if column is None or "," in column else column
    hide = shown_column in ID_COLUMNS or shown_column is None
    picked = []
    for line in lines[:MAX_EXAMPLES]:
        value = None if hide else frame.at[line, shown_column]
        picked.append((int(line), None if hide else ("" if value is None else str(value))))
    return tuple(picked)


def _finding(file: ExtractedFile, frame: pd.DataFrame, rule: Rule, result) -> Finding:
    base = dict(file=file.name, rule=rule.words, severity=rule.severity, column=rule.column)
    error = gx_runner.error_of(result)
    if error:
        return Finding(**base | {"severity": ERROR},
                       detail=f"the check could not run: {error}")
    if result.success:
        return Finding(**base, passed=True)
    details = result.result or {}
    if "unexpected_index_list" in details or "unexpected_count" in details:
        lines = sorted(set(details.get("unexpected_index_list") or []))
        count = int(details.get("unexpected_count") or len(lines))
        return Finding(**base, unexpected_count=count,
                       examples=_examples(frame, rule.column, lines))
    observed = details.get("observed_value")
    return Finding(**base, detail=f"found {observed} rows")


def run_file_rules(file: ExtractedFile, derived: pd.DataFrame, rules: list[Rule]) -> list[Finding]:
    gxe = gx_runner.expectations()
    suite = [
        getattr(gxe, rule.expectation)(**rule.kwargs, meta={"rule_id": str(i)})
        for i, rule in enumerate(rules)
    ]
    # GX copies and filters the frame it is given for every metric, so it gets
    # only the columns the rules read; examples come from the original text.
    used = sorted({c for rule in rules for key in ("column", "column_A", "column_B")
                   if (c := rule.kwargs.get(key))}
                  | {c for rule in rules for c in rule.kwargs.get("column_list", [])})
    # (a rule naming an absent column stays in: GX reports it as an error)
    results = gx_runner.run_suite(file.kind, derived[[c for c in used if c in derived]], suite)
    return [_finding(file, file.frame, r, res) for r, res in zip(rules, results, strict=True)]


def validate_month(ctx: MonthContext, caseload: ExtractedFile | None,
                   staff: ExtractedFile | None) -> list[Finding]:
    """Run the suites of a month's readable files; the roster feeds the caseload's
    cross-file warnings. Either file may be missing (then its rules are skipped)."""
    return validate_months([(ctx, caseload, staff)])[0]



# --- many months in one suite run per file kind ------------------------------------
#
# GX costs about half a second per suite run whatever the frame's size, so a run
# over many months validates all their files of a kind as one frame. Each rule
# still yields one finding per file, worded for that file's month: only the GX
# expectation is shared. Month-dependent bounds become per-row columns (0 inside
# the month's range, 1 outside), uniqueness is keyed by file, and the table rules
# run on a summary frame with one row per file.

_FILE_KEY = "\x1f"  # joins a file's number to a value, so uniqueness stays per file
_MONTH_DATES = ("_snapshot_date", "_allocated_on")


@dataclass(eq=False)
class _Check:
    """One readable file's rules, waiting for the shared suite."""

    item: int
    ctx: MonthContext
    file: ExtractedFile
    derived: pd.DataFrame
    rules: list[Rule]


def _is_table_rule(rule: Rule) -> bool:
    return rule.expectation.startswith("ExpectTable")


def _used_columns(rules: list[Rule]) -> set[str]:
    return ({c for rule in rules for key in ("column", "column_A", "column_B")
             if (c := rule.kwargs.get(key))}
            | {c for rule in rules for c in rule.kwargs.get("column_list", [])})


def _keyed(check: _Check, column: str) -> pd.Series:
    values = check.derived[column]
    return (f"{check.item}{_FILE_KEY}" + values.astype(str)).where(values.notna())


def _shared(check: _Check, rule: Rule) -> tuple[str, dict, dict[str, pd.Series]]:
    """The month-independent expectation for a row rule, and the per-row columns
    (for this file) it reads beyond the derived frame's own."""
    kwargs = rule.kwargs
    if rule.expectation == "ExpectColumnValuesToBeUnique":
        name = f"{kwargs['column']}_in_file"
        return rule.expectation, kwargs | {"column": name}, {
            name: _keyed(check, kwargs["column"])}
    if rule.expectation == "ExpectCompoundColumnsToBeUnique":
        names = [f"{c}_in_file" for c in kwargs["column_list"]]
        return rule.expectation, kwargs | {"column_list": names}, {
            n: _keyed(check, c) for n, c in zip(names, kwargs["column_list"], strict=True)}
    if (rule.expectation == "ExpectColumnValuesToBeBetween"
            and kwargs.get("column") in _MONTH_DATES and set(kwargs) <= {
                "column", "min_value", "max_value"}):
        column, name = kwargs["column"], f"{kwargs['column']}_outside"
        values = check.derived[column]
        inside = pd.Series(True, index=values.index)
        if kwargs.get("min_value") is not None:
            inside &= values >= kwargs["min_value"]
        if kwargs.get("max_value") is not None:
            inside &= values <= kwargs["max_value"]
        outside = (~inside).astype(float).where(values.notna())
        return rule.expectation, {"column": name, "min_value": 0, "max_value": 0}, {
            name: outside}
    return rule.expectation, kwargs, {}


def _batchable(check: _Check) -> bool:
    """Whether the shared suites give this file exactly what its own suite would.

    An empty file or a rule naming an absent column keeps its own suite (GX's
    results there depend on the frame itself); so does an unknown table rule."""
    if len(check.derived) == 0:
        return False
    if not _used_columns(check.rules) <= set(check.derived.columns):
        return False
    return all(_table_spec(check, rule) is not None
               for rule in check.rules if _is_table_rule(rule))


def _table_spec(check: _Check, rule: Rule) -> tuple[str, dict] | None:
    """The summary-frame column and expectation kwargs of a table rule."""
    if rule.expectation != "ExpectTableRowCountToBeBetween":
        return None
    if set(rule.kwargs) == {"min_value"}:
        return "_rows", dict(rule.kwargs)
    previous = check.ctx.previous_rows.get(check.file.kind)
    if previous and rule.kwargs == {"min_value": math.ceil(previous * 0.5),
                                    "max_value": math.floor(previous * 1.5)}:
        # rows >= ceil(0.5 p) and rows <= floor(1.5 p), for whole rows
        return "_rows_to_previous", {"min_value": 0.5, "max_value": 1.5}
    return None


def _file_finding(check: _Check, rule: Rule, error: str | None,
                  lines: list | None = None, count: int = 0,
                  detail: str | None = None) -> Finding:
    base = dict(file=check.file.name, rule=rule.words, severity=rule.severity,
                column=rule.column)
    if error:
        return Finding(**base | {"severity": ERROR},
                       detail=f"the check could not run: {error}")
    if detail:
        return Finding(**base, detail=detail)
    if not count:
        return Finding(**base, passed=True)
    return Finding(**base, unexpected_count=count,
                   examples=_examples(check.file.frame, rule.column, sorted(set(lines))))


def _run_shared(kind: str, checks: list[_Check]) -> dict[tuple[int, int], Finding]:
    """The row rules of many files of one kind in one suite run."""
    specs: dict[str, int] = {}  # expectation -> its position in the suite
    expectations, uses = [], []  # uses: (check, rule index, spec)
    columns: dict[int, dict[str, pd.Series]] = {}
    for n, check in enumerate(checks):
        columns[n] = {}
        for i, rule in enumerate(check.rules):
            if _is_table_rule(rule):
                continue
            expectation, kwargs, extra = _shared(check, rule)
            key = json.dumps([expectation, kwargs], sort_keys=True, default=str)
            if key not in specs:
                specs[key] = len(expectations)
                expectations.append((expectation, kwargs))
            uses.append((n, i, specs[key]))
            columns[n].update(extra)
            columns[n].update({c: check.derived[c] for c in _used_columns([rule])
                               if c not in extra})
    if not expectations:
        return {}
    wanted = sorted({c for expectation, kwargs in expectations
                     for c in _used_columns([Rule("", None, expectation, kwargs)])})
    parts, item_of, line_of = [], [], []
    for n, check in enumerate(checks):
        part = pd.DataFrame({c: columns[n][c] for c in wanted if c in columns[n]})
        parts.append(part.reset_index(drop=True))
        item_of.append(np.full(len(part), n))
        line_of.append(check.derived.index.to_numpy())
    frame = pd.concat(parts, ignore_index=True)
    for column in wanted:  # a column no file has (cannot happen for batchable files)
        if column not in frame:
            frame[column] = None
    frame = frame[wanted]
    item_at, line_at = np.concatenate(item_of), np.concatenate(line_of)

    gxe = gx_runner.expectations()
    suite = [getattr(gxe, expectation)(**kwargs, meta={"rule_id": str(s)})
             for s, (expectation, kwargs) in enumerate(expectations)]
    results = gx_runner.run_suite(kind, frame, suite)

    by_spec: list[dict[int, list]] = []  # spec -> check -> unexpected lines
    errors: list[str | None] = []
    for result in results:
        errors.append(gx_runner.error_of(result))
        lines: dict[int, list] = {}
        if not result.success:
            details = result.result or {}
            for position in details.get("unexpected_index_list") or []:
                lines.setdefault(int(item_at[position]), []).append(line_at[position])
        by_spec.append(lines)
    found = {}
    for n, i, s in uses:
        check, rule = checks[n], checks[n].rules[i]
        lines = by_spec[s].get(n, [])
        found[(n, i)] = _file_finding(check, rule, errors[s], lines, len(lines))
    return found


def _run_table_rules(checks: list[_Check]) -> dict[tuple[int, int], Finding]:
    """The table rules of many files as column rules on a frame of one row per file."""
    uses = [(n, i, _table_spec(check, rule))
            for n, check in enumerate(checks)
            for i, rule in enumerate(check.rules) if _is_table_rule(rule)]
    if not uses:
        return {}
    rows = pd.Series([float(len(c.derived)) for c in checks])
    summary = pd.DataFrame({"_rows": rows, "_rows_to_previous": np.nan})
    for n, _, (column, _) in uses:
        if column == "_rows_to_previous":
            previous = checks[n].ctx.previous_rows[checks[n].file.kind]
            summary.loc[n, column] = len(checks[n].derived) / previous
    specs: dict[str, int] = {}
    expectations = []
    for _, _, (column, kwargs) in uses:
        key = json.dumps([column, kwargs], sort_keys=True)
        if key not in specs:
            specs[key] = len(expectations)
            expectations.append((column, kwargs))
    gxe = gx_runner.expectations()
    suite = [gxe.ExpectColumnValuesToBeBetween(column=column, **kwargs,
                                               meta={"rule_id": str(s)})
             for s, (column, kwargs) in enumerate(expectations)]
    results = gx_runner.run_suite("files", summary, suite)
    found = {}
    for n, i, (column, kwargs) in uses:
        result = results[specs[json.dumps([column, kwargs], sort_keys=True)]]
        failed = n in set((result.result or {}).get("unexpected_index_list") or [])
        detail = f"found {len(checks[n].derived)} rows" if failed else None
        found[(n, i)] = _file_finding(checks[n], checks[n].rules[i],
                                      gx_runner.error_of(result), detail=detail)
    return found


def validate_months(items: list[tuple[MonthContext, ExtractedFile | None,
                                      ExtractedFile | None]]) -> list[list[Finding]]:
    """`validate_month` for many (context, caseload, staff) items at once: the
    findings of each item, as `validate_month` gives them, from one suite run per
    file kind (plus one for the table rules) instead of one per file."""
    checks: list[_Check] = []
    for item, (ctx, caseload, staff) in enumerate(items):
        roster = None
        if staff is not None and staff.readable:
            roster = derive_columns(STAFF, staff.frame, ctx, None)
            checks.append(_Check(item, ctx, staff, roster, rules_for(STAFF, ctx, None)))
        if caseload is not None and caseload.readable:
            derived = derive_columns(CASELOAD, caseload.frame, ctx, roster)
            checks.append(_Check(item, ctx, caseload, derived,
                                 rules_for(CASELOAD, ctx, roster)))
    shared = [c for c in checks if _batchable(c)]
    if len(shared) <= len({c.file.kind for c in shared}) + 1:
        shared = []  # a month on its own: its own suites are fewer runs than shared ones
    found: dict[tuple[int, int], Finding] = {}
    for kind in (STAFF, CASELOAD):
        of_kind = [c for c in shared if c.file.kind == kind]
        found |= {(id(of_kind[n]), i): f for (n, i), f in _run_shared(kind, of_kind).items()}
    found |= {(id(shared[n]), i): f for (n, i), f in _run_table_rules(shared).items()}
    findings: list[list[Finding]] = [[] for _ in items]
    shared_ids = {id(c) for c in shared}
    for check in checks:
        if id(check) in shared_ids:
            findings[check.item] += [found[(id(check), i)] for i in range(len(check.rules))]
        else:
            findings[check.item] += run_file_rules(check.file, check.derived, check.rules)
    return findings
