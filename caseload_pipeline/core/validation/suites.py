"""Running the rules: Great Expectations suites on small frames of each file.

`validate_month` is what `caseload validate` and a one-month run use;
`validate_months` is what a run over many months uses. Both give each file the
findings GX gives on the whole file (`run_file_rules`, which still judges a
file GX must see whole: an empty one, or one lacking a column a rule reads);
caseload_pipeline_tests/validation/test_batch.py holds them to that.

GX judges a file through the small frames of validation/distinct.py: each
part of the file is a few rows of one frame, tagged with the part's name in
`_part`, and each expectation looks only at its own part's rows (a row
condition). A month on its own gets a suite per file, its table rules (row
counts) judged on a row for the file in the same frame. Months validated
together share one suite per file kind, plus one for the table rules of every
file: GX costs a fraction of a second per suite run whatever the frame.
"""

from __future__ import annotations

import bisect
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd

from caseload_pipeline.core.contract import CASELOAD, STAFF
from caseload_pipeline.core.extract import ExtractedFile
from caseload_pipeline.core.findings import ERROR, MAX_EXAMPLES, Finding
from caseload_pipeline.core.validation import gx_runner
from caseload_pipeline.core.validation.distinct import (
    ROWS,
    FileRows,
    Part,
    columns_read,
    example_text,
    part_of,
    shown_column,
)
from caseload_pipeline.core.validation.rules import (
    MonthContext,
    Rule,
    derive_columns,
    rules_for,
)

# --- one file's own suite, on its whole frame -------------------------------------

def _examples(frame: pd.DataFrame, rule: Rule, lines: list) -> tuple:
    shown = shown_column(rule)
    return tuple((int(line), None if shown is None else example_text(frame.at[line, shown]))
                 for line in lines[:MAX_EXAMPLES])


def _rule_finding(file: ExtractedFile, rule: Rule, error: str | None, **found) -> Finding:
    """A rule's finding on a file, from what GX found; a rule whose check could
    not run is blocking, whatever its severity."""
    if error:
        return Finding(file.name, rule.words, ERROR, rule.column,
                       detail=f"the check could not run: {error}")
    return Finding(file.name, rule.words, rule.severity, rule.column, **found)


def _finding(file: ExtractedFile, frame: pd.DataFrame, rule: Rule,
             outcome: gx_runner.Outcome) -> Finding:
    if outcome.error or outcome.success:
        return _rule_finding(file, rule, outcome.error, passed=outcome.success)
    if outcome.unexpected_index_list is not None or outcome.unexpected_count is not None:
        lines = sorted(set(outcome.unexpected_index_list or []))
        count = int(outcome.unexpected_count or len(lines))
        return _rule_finding(file, rule, None, unexpected_count=count,
                             examples=_examples(frame, rule, lines))
    return _rule_finding(file, rule, None, detail=f"found {outcome.observed_value} rows")


def run_file_rules(file: ExtractedFile, derived: pd.DataFrame, rules: list[Rule]) -> list[Finding]:
    """The rules on the file's whole frame (`derived`: derive_columns of it)."""
    suite = [gx_runner.Expectation(rule.expectation, rule.kwargs) for rule in rules]
    # GX copies and filters the frame it is given for every metric, so it gets
    # only the columns the rules read; examples come from the original text.
    used = sorted({c for rule in rules for c in columns_read(rule)})
    # (a rule naming an absent column stays in: GX reports it as an error)
    outcomes = gx_runner.run_suite(file.kind, derived[[c for c in used if c in derived]], suite)
    return [_finding(file, derived, r, o) for r, o in zip(rules, outcomes, strict=True)]


def validate_month(ctx: MonthContext, caseload: ExtractedFile | None,
                   staff: ExtractedFile | None) -> list[Finding]:
    """Run the suites of a month's readable files; the roster feeds the caseload's
    cross-file warnings. Either file may be missing (then its rules are skipped)."""
    return validate_months([(ctx, caseload, staff)])[0]


# --- files on small frames ----------------------------------------------------------

PART = "_part"  # which part of a file a row of a suite's frame belongs to (a number:
# GX filters the frame by it for every metric, and numbers compare fastest)
FILE_PART = "(file)"  # the row standing for a whole file, for table rules
_FILE_KEY = "\x1f"  # joins a file's number to a value, so uniqueness stays per file
_MONTH_DATES = ("_snapshot_date", "_allocated_on")
# A file of up to this many rows is judged on every row (the part ROWS) rather
# than on its distinct values: fewer queries and pandas passes than its parts,
# where GX's frame grows only by the file's rows.
EVERY_ROW_UP_TO = 10_000


@dataclass(eq=False)
class _Check:
    """One readable file's rules, and the parts of it they are judged on."""

    item: int
    ctx: MonthContext
    file: ExtractedFile
    rules: list[Rule]
    rows: FileRows
    roster: pd.DataFrame | None
    parts: dict[str, Part] = field(default_factory=dict)

    def read_parts(self) -> None:
        """Each part the row rules are judged on, with the derived columns: for
        a small file, one part of every row."""
        if self.file.rows <= EVERY_ROW_UP_TO:
            self.parts[ROWS] = self.rows.every_row(self.derive)
            return
        by_part: dict[str, list[Rule]] = defaultdict(list)
        for rule in self.rules:
            if not _is_table_rule(rule):
                by_part[part_of(rule)].append(rule)
        for name, rules in by_part.items():
            self.parts[name] = self.rows.part(name, rules, self.derive)

    def part_of(self, rule: Rule) -> str:
        """The part a row rule of this file is judged on."""
        return ROWS if ROWS in self.parts else part_of(rule)

    def derive(self, values: pd.DataFrame) -> pd.DataFrame:
        return derive_columns(self.file.kind, values, self.ctx, self.roster)


def _is_table_rule(rule: Rule) -> bool:
    return rule.expectation.startswith("ExpectTable")


def _keyed(item: int, values: pd.Series) -> pd.Series:
    return (f"{item}{_FILE_KEY}" + values.astype(str)).where(values.notna())


def _shared(item: int, frame: pd.DataFrame, rule: Rule) -> tuple[str, dict, dict[str, pd.Series]]:
    """The month-independent expectation for a row rule, and the columns (of the
    rule's part of file `item`) it reads beyond the part's own."""
    kwargs = rule.kwargs
    if rule.expectation == "ExpectColumnValuesToBeUnique":
        name = f"{kwargs['column']}_in_file"
        return rule.expectation, kwargs | {"column": name}, {
            name: _keyed(item, frame[kwargs["column"]])}
    if rule.expectation == "ExpectCompoundColumnsToBeUnique":
        names = [f"{c}_in_file" for c in kwargs["column_list"]]
        return rule.expectation, kwargs | {"column_list": names}, {
            n: _keyed(item, frame[c]) for n, c in zip(names, kwargs["column_list"], strict=True)}
    if (rule.expectation == "ExpectColumnValuesToBeBetween"
            and kwargs.get("column") in _MONTH_DATES and set(kwargs) <= {
                "column", "min_value", "max_value"}):
        column, name = kwargs["column"], f"{kwargs['column']}_outside"
        values = frame[column]
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
    """Whether small frames give this file exactly what its whole frame would.

    An empty file or a rule naming an absent column keeps its own suite (GX's
    results there depend on the frame itself); so does an unknown table rule."""
    if check.file.rows == 0 or not check.rows.has_columns_for(check.rules):
        return False
    return all(_table_spec(check, rule) is not None
               for rule in check.rules if _is_table_rule(rule))


def _table_spec(check: _Check, rule: Rule) -> tuple[str, dict] | None:
    """The file row's column and the expectation kwargs of a table rule."""
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


def _file_row(check: _Check) -> pd.DataFrame:
    """The row standing for the whole file, for its table rules."""
    previous = check.ctx.previous_rows.get(check.file.kind)
    return pd.DataFrame({"_rows": [float(check.file.rows)],
                         "_rows_to_previous": [check.file.rows / previous if previous
                                               else float("nan")]})


@dataclass
class _Suite:
    """The expectations shared by a suite's files, and which rule of which file
    each stands for."""

    specs: dict[str, int] = field(default_factory=dict)  # key -> position
    expectations: list[tuple[str, dict, str]] = field(default_factory=list)
    uses: list[tuple[int, int, int]] = field(default_factory=list)  # (check, rule, spec)

    def use(self, n: int, i: int, expectation: str, kwargs: dict, part: str) -> None:
        key = json.dumps([expectation, kwargs, part], sort_keys=True, default=str)
        if key not in self.specs:
            self.specs[key] = len(self.expectations)
            self.expectations.append((expectation, kwargs, part))
        self.uses.append((n, i, self.specs[key]))


def _run_suite(label: str, checks: list[_Check], row_rules: bool, table_rules: bool
               ) -> dict[tuple[int, int], Finding]:
    """The rules of `checks` (their row rules, table rules or both) in one suite
    run on one frame: every part of every file, and a row for each file."""
    suite = _Suite()
    pieces: list[pd.DataFrame] = []
    owners: list[tuple[int, str]] = []  # (check, part) of each piece
    for n, check in enumerate(checks):
        extra: dict[str, dict[str, pd.Series]] = defaultdict(dict)
        for i, rule in enumerate(check.rules):
            if _is_table_rule(rule):
                if table_rules:
                    column, kwargs = _table_spec(check, rule)
                    suite.use(n, i, "ExpectColumnValuesToBeBetween",
                              {"column": column} | kwargs, FILE_PART)
            elif row_rules:
                part = check.part_of(rule)
                expectation, kwargs, columns = _shared(check.item, check.parts[part].frame, rule)
                extra[part].update(columns)
                suite.use(n, i, expectation, kwargs, part)
        if row_rules:
            for name, part in check.parts.items():
                pieces.append(part.frame.assign(**extra[name]))
                owners.append((n, name))
        if table_rules:
            pieces.append(_file_row(check))
            owners.append((n, FILE_PART))
    if not suite.expectations:
        return {}
    wanted = sorted({c for expectation, kwargs, _ in suite.expectations
                     for c in columns_read(Rule("", None, expectation, kwargs))})
    code = {part: k for k, part in enumerate(dict.fromkeys(part for _, part in owners))}
    frame = pd.concat([piece.reindex(columns=wanted).assign(**{PART: code[part]})
                       for piece, (_, part) in zip(pieces, owners, strict=True)],
                      ignore_index=True)
    starts = [0]
    for piece in pieces:
        starts.append(starts[-1] + len(piece))

    outcomes = gx_runner.run_suite(label, frame, [
        gx_runner.Expectation(expectation, kwargs, where=(PART, code[part]))
        for expectation, kwargs, part in suite.expectations])

    errors, failed = [], []  # per spec: its error; (check, part) -> positions in the part
    for outcome in outcomes:
        errors.append(outcome.error)
        where: dict[tuple[int, str], list[int]] = defaultdict(list)
        if not outcome.success:
            for position in outcome.unexpected_index_list or []:
                piece = _piece_at(starts, int(position))
                where[owners[piece]].append(int(position) - starts[piece])
        failed.append(where)
    found = {}
    for n, i, s in suite.uses:
        check, rule = checks[n], checks[n].rules[i]
        part = FILE_PART if _is_table_rule(rule) else check.part_of(rule)
        found[(id(check), i)] = _file_finding(check, rule, errors[s], part,
                                              failed[s].get((n, part), []))
    return found


def _piece_at(starts: list[int], position: int) -> int:
    return bisect.bisect_right(starts, position) - 1


def _file_finding(check: _Check, rule: Rule, error: str | None, part: str,
                  positions: list[int]) -> Finding:
    """A rule's finding for one file, from the rows of its part GX refused."""
    if error:
        return _rule_finding(check.file, rule, error)
    if part == FILE_PART:
        if positions:
            return _rule_finding(check.file, rule, None,
                                 detail=f"found {check.file.rows} rows")
        return _rule_finding(check.file, rule, None, passed=True)
    count, examples = check.rows.failing_rows(check.parts[part], positions, rule)
    if not count:
        return _rule_finding(check.file, rule, None, passed=True)
    return _rule_finding(check.file, rule, None, unexpected_count=count, examples=examples)


def validate_months(items: list[tuple[MonthContext, ExtractedFile | None,
                                      ExtractedFile | None]]) -> list[list[Finding]]:
    """`validate_month` for many (context, caseload, staff) items at once: the
    findings of each item, as `validate_month` gives them, from one suite run per
    file kind (plus one for the table rules) instead of one per file."""
    checks: list[_Check] = []
    try:
        for item, (ctx, caseload, staff) in enumerate(items):
            roster = None
            if staff is not None and staff.readable:
                rows = FileRows(staff)
                roster = derive_columns(STAFF, rows.roster(), ctx, None)
                checks.append(_Check(item, ctx, staff, rules_for(STAFF, ctx, None), rows, None))
            if caseload is not None and caseload.readable:
                checks.append(_Check(item, ctx, caseload, rules_for(CASELOAD, ctx, roster),
                                     FileRows(caseload), roster))
        return _findings(items, checks)
    finally:
        for check in checks:
            check.rows.close()


def _findings(items: list, checks: list[_Check]) -> list[list[Finding]]:
    shared = [c for c in checks if _batchable(c)]
    for check in shared:
        check.read_parts()
    found: dict[tuple[int, int], Finding] = {}
    if len(shared) <= len({c.file.kind for c in shared}) + 1:
        # a month on its own: a suite per file is no more runs than shared ones
        for check in shared:
            found |= _run_suite(check.file.kind, [check], row_rules=True, table_rules=True)
    else:
        for kind in (STAFF, CASELOAD):
            found |= _run_suite(kind, [c for c in shared if c.file.kind == kind],
                                row_rules=True, table_rules=False)
        found |= _run_suite("files", shared, row_rules=False, table_rules=True)
    findings: list[list[Finding]] = [[] for _ in items]
    for check in checks:
        if check in shared:
            findings[check.item] += [found[(id(check), i)] for i in range(len(check.rules))]
        else:
            derived = derive_columns(check.file.kind, check.rows.whole(), check.ctx,
                                     check.roster)
            findings[check.item] += run_file_rules(check.file, derived, check.rules)
    return findings
