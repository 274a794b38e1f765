"""`caseload validate FILE...`: the same suites as the pipeline, loading nothing."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from caseload_pipeline.contract import CASELOAD, FILE_NAME, STAFF
from caseload_pipeline.extract import extract_file
from caseload_pipeline.months import parse_month
from caseload_pipeline.reference import Reference
from caseload_pipeline.settings import Settings
from caseload_pipeline.validation.findings import ERROR, Finding
from caseload_pipeline.validation.rules import MonthContext
from caseload_pipeline.validation.suites import validate_month


def validate_paths(settings: Settings, paths: list[Path], reference: Reference) -> list[Finding]:
    findings: list[Finding] = []
    by_month: dict[str, dict[str, list[Path]]] = defaultdict(lambda: defaultdict(list))
    for path in paths:
        match = FILE_NAME.match(path.name)
        if not path.is_file():
            findings.append(Finding(path.name, "the file must exist", ERROR,
                                    detail=f"not found: {path}"))
        elif not match:
            findings.append(Finding(path.name, "the file name must be like "
                                    "caseload_2023-06.csv or staff_2023-06.xlsx", ERROR))
        else:
            by_month[match.group(2)][match.group(1).lower()].append(path)
    for month_text, kinds in sorted(by_month.items()):
        month = parse_month(month_text)
        extracted = {}
        for kind, kind_paths in kinds.items():
            if len(kind_paths) > 1:
                findings.append(Finding(kind_paths[0].name, "a month must have one file of "
                                        "each kind, CSV or Excel, not both", ERROR,
                                        detail=" and ".join(p.name for p in kind_paths)))
                continue
            extracted[kind] = extract_file(kind_paths[0], kind)
            findings += extracted[kind].findings
        # Without the warehouse there is no previous month to compare row counts with.
        ctx = MonthContext(month, reference, previous_rows={})
        findings += validate_month(ctx, extracted.get(CASELOAD), extracted.get(STAFF))
    return findings
