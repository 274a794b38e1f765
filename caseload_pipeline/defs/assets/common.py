"""Small helpers shared by the asset modules."""

from __future__ import annotations

import logging
from pathlib import Path

from dagster import (
    AssetSpec,
    AutomationCondition,
    BackfillPolicy,
    Failure,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
)

from caseload_pipeline.core.reference import Reference, ReferenceDataError
from caseload_pipeline.core.settings import Settings
from caseload_pipeline.defs.resources import CaseloadData

# Month assets take a whole range in one run: each run is a process that takes
# seconds to start, and DuckDB has one writer, so few big runs beat many small.
SINGLE_RUN = BackfillPolicy.single_run()
OWNERS = ["team:performance-and-intelligence"]

# Refresh after any month changes, once no month run is in progress. Months
# that were never loaded (no files yet) must not hold the audit back, so the
# usual "no missing dependencies" part of eager() is left out.
AFTER_MONTHS = AutomationCondition.eager().without(~AutomationCondition.any_deps_missing())


def derived_table(name: str, group: str, description: str, deps: tuple[str, ...] = (),
                  kinds: tuple[str, ...] = ("duckdb",)) -> AssetSpec:
    """An unpartitioned table a step recomputes whole; one computed from the
    monthly tables (`deps`) refreshes by itself after months change."""
    return AssetSpec(name, group_name=group, kinds=set(kinds), owners=OWNERS, deps=list(deps),
                     automation_condition=AFTER_MONTHS if deps else None,
                     description=description)

# The CLI prints this logger's records as progress lines.
progress = logging.getLogger("caseload_pipeline.progress")


def reference_or_fail(data: CaseloadData) -> Reference:
    try:
        return data.reference()
    except ReferenceDataError as exc:
        raise Failure(
            description="Reference files are wrong:\n" + "\n".join(exc.problems),
            metadata={"problems": MetadataValue.md("\n".join(f"* {p}" for p in exc.problems))},
        ) from None


def benchmark_file_or_fail(settings: Settings) -> tuple[Path | None, str]:
    """The published benchmark file named in reference/benchmarks.yaml, if it is
    there, and a note for the asset's metadata. A named file that has not been
    downloaded yet is not an error: the report says no file was provided."""
    from caseload_pipeline.core.benchmarks import read_benchmark_choice

    try:
        choice = read_benchmark_choice(settings.reference_dir)
    except ValueError as exc:
        raise Failure(description=str(exc)) from None
    path = choice.path(settings.external_dir)
    if path is None:
        return None, "reference/benchmarks.yaml names no file"
    if not path.is_file():
        return None, f"{choice.file} is not in {settings.external_dir} (not downloaded yet)"
    return path, str(path)


def table_metadata(rows: list[tuple], columns: list[str]) -> MetadataValue:
    """Rows as a table in the UI; numbers keep their type (the UI formats them)."""

    def column_type(values) -> str:
        kinds = {type(v) for v in values if v is not None}
        if kinds and kinds <= {int}:
            return "int"
        if kinds and kinds <= {int, float}:
            return "float"
        return "string"

    types = [column_type([row[i] for row in rows]) for i in range(len(columns))]
    records = [TableRecord({name: (value if kind != "string" or value is None else str(value))
                            for name, kind, value in zip(columns, types, row, strict=True)})
               for row in rows]
    schema = TableSchema(columns=[TableColumn(n, t) for n, t in zip(columns, types,
                                                                     strict=True)])
    return MetadataValue.table(records, schema=schema)
