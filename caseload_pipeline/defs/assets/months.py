"""The monthly assets: the month's files (extract), their validation record
(validate), the loaded tables (load) and the worker, team and role tables
(metrics), one partition per month.

One step does a run's months (core/update.py): it validates every month before
writing anything, loads the months that pass, and reports what it wrote month
by month. A month that breaks a blocking rule fails the blocking check of the
table it would have gone into (`staff` or `allocations`), is marked failed in
the partition view, and fails the run; the other months are loaded and shown
materialized. A month without files is skipped and stays missing.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetMaterialization,
    AssetObservation,
    AssetSpec,
    Failure,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
    TimeWindowPartitionMapping,
    multi_asset,
)

from caseload_pipeline.defs.assets.common import (
    OWNERS,
    SINGLE_RUN,
    reference_or_fail,
    table_metadata,
)
from caseload_pipeline.defs.partitions import partition_months
from caseload_pipeline.defs.resources import WAREHOUSE_POOL, CaseloadData

BLOCKING_CHECK = "passes_blocking_rules"
COMPLETE_CHECK = "holds_every_validated_row"
WARNING_CHECK = "no_warnings"
# Findings shown in a check's metadata table; every finding is in data_quality.
MAX_SHOWN = 200


def _schema(*columns: tuple[str, str, str]) -> TableSchema:
    return TableSchema(columns=[TableColumn(n, t, description=d) for n, t, d in columns])


def month_files_spec(partitions_def) -> AssetSpec:
    """The files an analyst drops into incoming/: read by the monthly step, never
    written by the pipeline, so an external asset."""
    return AssetSpec(
        "month_files",
        group_name="extract",
        partitions_def=partitions_def,
        kinds={"csv", "excel"},
        owners=OWNERS,
        description="The month's caseload and staff extracts in incoming/ "
        "(caseload_YYYY-MM and staff_YYYY-MM, CSV or Excel). The monthly step reads them "
        "as text with their line numbers into a staging folder of its own run.",
    )


def month_specs(partitions_def) -> list[AssetSpec]:
    # skippable: a run materializes only the months it loaded (or refreshed),
    # each reported as its own partition.
    def spec(key, group, description, deps=(), **kwargs) -> AssetSpec:
        return AssetSpec(key, group_name=group, kinds={"duckdb"}, owners=OWNERS,
                         partitions_def=partitions_def, skippable=True, deps=list(deps),
                         description=description, **kwargs)

    # Reassignment in month M compares M's allocations with M-1's (SPEC 5); the first
    # month has no month before it.
    previous_month = TimeWindowPartitionMapping(
        start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True)
    return [
        spec("data_quality", "validate", "Every validation rule's outcome for the month's "
             "files (passed ones too), with the message a person can act on.",
             deps=["month_files"]),
        spec("staff", "load", "The monthly roster: one row per worker in post (keyed id, "
             "team, role, fte, case holding, protected caseload, capacity points).",
             deps=["month_files"]),
        spec("allocations", "load", "One row per case allocated to a worker at the month "
             "end, keyed ids, with case weight, reassignment and whether the worker is "
             "rostered. Reassignment compares with the month before.",
             deps=["month_files", "staff",
                   AssetDep("allocations", partition_mapping=previous_month)]),
        spec("load_log", "load", "The files each loaded month came from: sha256, rows, "
             "when and by which run.", deps=["month_files"]),
        spec("worker_monthly", "metrics", "Per case-holding worker and month: cases, "
             "weighted caseload, capacity, utilisation and capacity band (green/amber/red).",
             deps=["allocations", "staff"],
             metadata={"dagster/column_schema": _schema(
                 ("month", "date", "first day of the month"),
                 ("worker_key", "varchar", "keyed pseudonym of the worker id"),
                 ("team", "varchar", "roster team"),
                 ("role", "varchar", "roster role"),
                 ("fte", "double", "full-time equivalent"),
                 ("cases", "integer", "allocations held"),
                 ("weighted_caseload", "double", "sum of case weights"),
                 ("capacity_points", "double", "role points x fte (x protected factor)"),
                 ("utilisation", "double", "weighted_caseload / capacity_points"),
                 ("band", "varchar", "green / amber / red"))}),
        spec("team_monthly", "metrics", "Per team and month: workers, fte, cases, average "
             "caseload per worker and per fte, weighted average, median, maximum and "
             "reassignment.", deps=["worker_monthly", "allocations"],
             metadata={"dagster/column_schema": _schema(
                 ("month", "date", "first day of the month"),
                 ("team", "varchar", "team"),
                 ("workers", "integer", "case-holding workers on the roster"),
                 ("fte", "double", "their fte"),
                 ("cases", "integer", "allocations they hold"),
                 ("avg_caseload", "double", "cases / workers"),
                 ("avg_caseload_per_fte", "double", "cases / fte"),
                 ("avg_weighted_caseload", "double", "weighted caseload / workers"),
                 ("median_caseload", "double", "median cases per worker"),
                 ("max_caseload", "integer", "most cases one worker holds"),
                 ("reassigned_cases", "integer", "allocations new to their worker this month"),
                 ("reassignment_rate", "double", "reassigned_cases / cases"))}),
        spec("role_monthly", "metrics", "Per role (across teams) and month: workers, fte, "
             "cases and averages.", deps=["worker_monthly"]),
    ]


# Which table a file's findings protect: the staff file feeds `staff`, the
# caseload file `allocations`.
TABLE_OF_FILE = {"staff": "staff", "caseload": "allocations"}

CHECK_SPECS = [
    spec
    for table, kind in (("staff", "staff"), ("allocations", "caseload"))
    for spec in (
        AssetCheckSpec(BLOCKING_CHECK, asset=table, blocking=True,
                       description=f"Each month's {kind} file passes every blocking rule of "
                       "the input contract before anything is written; a month that breaks "
                       "one is refused (and shown failed), the others load."),
        AssetCheckSpec(COMPLETE_CHECK, asset=table, blocking=True,
                       description=f"After loading, the table holds exactly the rows of "
                       f"each month's validated {kind} file: nothing validation accepted "
                       "vanished (or doubled) in a join. A month that fails is not loaded."),
        AssetCheckSpec(WARNING_CHECK, asset=table,
                       description=f"No warning on the {kind} files: unrostered workers, "
                       "team mismatches, over 60 allocations, row count jumps."),
    )
]

FINDINGS_SCHEMA = TableSchema(columns=[
    TableColumn("month", "string"), TableColumn("file", "string"),
    TableColumn("column", "string"), TableColumn("rows", "int"),
    TableColumn("lines", "string"), TableColumn("message", "string"),
])


def findings_table(rows: list[tuple]) -> MetadataValue:
    """(month, finding) pairs as a table: the check's metadata in the UI, and what the
    CLI prints after a failed run."""
    records = [TableRecord({"month": str(month), "file": f.file, "column": f.column or "",
                            "rows": f.unexpected_count, "lines": f.example_lines,
                            "message": f.message})
               for month, f in rows[:MAX_SHOWN]]
    return MetadataValue.table(records, schema=FINDINGS_SCHEMA)


def _kind(finding) -> str:
    return finding.file.split("_", 1)[0].lower()


def _check_results(result) -> list[AssetCheckResult]:
    from caseload_pipeline.core.completeness import RULE

    checks = []
    for kind, table in TABLE_OF_FILE.items():
        lost_rule = RULE.format(table=table)
        lost = [(m.month, f) for m in result.months for f in m.blocking
                if _kind(f) == kind and f.rule == lost_rule]
        checks.append(AssetCheckResult(
            asset_key=table, check_name=COMPLETE_CHECK, passed=not lost,
            description=lost[0][1].message if lost else None,
            metadata={"months_not_loaded": MetadataValue.text(
                ", ".join(sorted({str(m) for m, _ in lost})) or "none"),
                "findings": findings_table(lost)}))
        errors = [(m.month, f) for m in result.months for f in m.blocking
                  if _kind(f) == kind and f.rule != lost_rule]
        warns = [(m.month, f) for m in result.months for f in m.warnings if _kind(f) == kind]
        refused = sorted({str(month) for month, _ in errors})
        checks.append(AssetCheckResult(
            asset_key=table, check_name=BLOCKING_CHECK, passed=not errors,
            description=(f"refused: {', '.join(refused)}. {errors[0][1].message}"
                         if errors else None),
            metadata={"refused_months": MetadataValue.text(", ".join(refused) or "none"),
                      "failures": len(errors), "findings": findings_table(errors)}))
        checks.append(AssetCheckResult(
            asset_key=table, check_name=WARNING_CHECK, passed=not warns,
            severity=AssetCheckSeverity.WARN,
            description=warns[0][1].message if warns else None,
            metadata={"warnings": len(warns), "findings": findings_table(warns)}))
    return checks


def build_month_assets(partitions_def):
    @multi_asset(
        name="monthly_tables",
        specs=month_specs(partitions_def),
        check_specs=CHECK_SPECS,
        partitions_def=partitions_def,
        backfill_policy=SINGLE_RUN,
        pool=WAREHOUSE_POOL,
        # One step writes all of these tables for its months and reports every one,
        # whatever subset was selected: it cannot do less. It is declared
        # subsettable only because Dagster 1.13.27 refuses UI backfills of a
        # non-subsettable multi-asset, depending on the webserver's hash seed
        # ("Targeted subset must match between every key ..."; the e2e tests hit it).
        can_subset=True,
    )
    def monthly_tables(context: AssetExecutionContext, caseload_data: CaseloadData):
        from caseload_pipeline.core.update import LOADED, REFUSED, SKIPPED, update_months

        reference = reference_or_fail(caseload_data)
        months = partition_months(context)
        result = update_months(caseload_data.warehouse(), reference, months,
                               context.run.run_id)
        skipped = result.with_status(SKIPPED)
        if len(skipped) == len(months):
            raise Failure(description="No files for "
                          + "; ".join(f"{m.month}: {m.reason}" for m in skipped))
        for month_result in result.months:
            key = str(month_result.month)
            if month_result.status == SKIPPED:
                context.log.warning(f"{key} skipped: {month_result.reason}")
                continue
            yield AssetMaterialization("data_quality", partition=key, metadata={
                "rules_checked": len(month_result.findings),
                "blocking_failures": len(month_result.blocking),
                "warnings": len(month_result.warnings)})
            if month_result.status == REFUSED:
                for finding in month_result.blocking:
                    context.log.error(f"{key}: {finding.message}")
                continue
            rows = {kind: info["rows"] for kind, info in month_result.files.items()}
            files = {kind: info["name"] for kind, info in month_result.files.items()}
            yield AssetMaterialization("staff", partition=key,
                                       metadata={"rows": rows.get("staff", 0)})
            yield AssetMaterialization("allocations", partition=key,
                                       metadata={"rows": rows.get("caseload", 0)})
            yield AssetMaterialization("load_log", partition=key,
                                       metadata={"files": ", ".join(files.values())})
            yield from _metric_materializations(key, {})
        for month in result.refreshed:
            reason = {"reason": f"reassignment recomputed: {month.previous()} was reloaded"}
            yield AssetMaterialization("allocations", partition=str(month), metadata=reason)
            yield from _metric_materializations(str(month), reason)
        loaded = result.with_status(LOADED)
        if loaded:  # the latest loaded month's tables, as a person would look first
            yield from _latest_month_tables(caseload_data, loaded[-1].month)
        context.log.info(
            f"loaded {len(result.with_status(LOADED))}, refused "
            f"{len(result.with_status(REFUSED))}, skipped {len(skipped)} month(s)")
        yield from _check_results(result)

    return [monthly_tables]


def _metric_materializations(key: str, metadata: dict):
    for asset in ("worker_monthly", "team_monthly", "role_monthly"):
        yield AssetMaterialization(asset, partition=key, metadata=dict(metadata))


def _latest_month_tables(caseload_data: CaseloadData, month):
    """The month's team and role figures as tables in the metadata of an
    observation (the step's materializations are already reported)."""
    from caseload_pipeline.core.metrics import month_summary

    teams, roles = month_summary(caseload_data.settings(), month)
    key = str(month)
    yield AssetObservation("team_monthly", partition=key, metadata={
        "teams": table_metadata(teams, ["team", "workers", "cases", "avg", "per fte",
                                        "weighted"])})
    yield AssetObservation("role_monthly", partition=key, metadata={
        "roles": table_metadata(roles, ["role", "workers", "cases", "avg"])})
