"""Group `validate`: Great Expectations suites over whole months, before loading.

`month_validation` records every rule's outcome in `data_quality`; its
blocking check fails when any month in the run breaks a blocking rule, which
stops the load for the whole run (a run's months land together or not at all).
Warnings are a second, non-blocking check.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)

from caseload_pipeline.core.findings import WARNING
from caseload_pipeline.defs.assets.common import OWNERS, SINGLE_RUN, progress, reference_or_fail
from caseload_pipeline.defs.partitions import partition_months
from caseload_pipeline.defs.resources import WAREHOUSE_POOL, CaseloadData

BLOCKING_CHECK = "passes_blocking_rules"
WARNING_CHECK = "no_warnings"
MAX_SHOWN = 50


def _messages(findings) -> MetadataValue:
    shown = [f"* {f.message}" for f in findings[:MAX_SHOWN]]
    if len(findings) > MAX_SHOWN:
        shown.append(f"* ... and {len(findings) - MAX_SHOWN} more (see data_quality)")
    return MetadataValue.md("\n".join(shown) or "none")


def build_validate_assets(partitions_def):
    @asset(
        group_name="validate",
        deps=["month_files"],
        partitions_def=partitions_def,
        backfill_policy=SINGLE_RUN,
        pool=WAREHOUSE_POOL,
        kinds={"great_expectations", "duckdb"},
        owners=OWNERS,
        description=(
            "Every rule of the input contract run as Great Expectations expectations on "
            "the whole month; each outcome is stored in the data_quality table."
        ),
        check_specs=[
            AssetCheckSpec(
                BLOCKING_CHECK,
                asset="month_validation",
                blocking=True,
                description="No blocking rule is broken: the months may load.",
            ),
            AssetCheckSpec(
                WARNING_CHECK,
                asset="month_validation",
                description="No warning (unrostered workers, team mismatches, "
                "over 60 allocations, row count jumps).",
            ),
        ],
    )
    def month_validation(context: AssetExecutionContext, caseload_data: CaseloadData):
        from caseload_pipeline.core.validate import validate_staged_months
        from caseload_pipeline.core.validation import gx_runner

        reference = reference_or_fail(caseload_data)
        warehouse = caseload_data.warehouse()
        errors, warnings, checked = [], [], 0
        with warehouse.connect(reference) as con:
            months = partition_months(context)
            for staged in validate_staged_months(con, caseload_data.settings(), reference,
                                                 months, context.run.run_id):
                checked += len(staged.findings)
                errors += staged.blocking
                warnings += [f for f in staged.findings if f.severity == WARNING and not f.passed]
                progress.info(
                    "%s: validated, %d blocking, %d warnings",
                    staged.month,
                    len(staged.blocking),
                    sum(f.severity == WARNING and not f.passed for f in staged.findings),
                )
        gx_runner.release()
        if errors:
            warehouse.publish()  # analysts see why the month was refused
            for finding in errors:
                context.log.error(finding.message)
        yield MaterializeResult(
            metadata={
                "rules_checked": checked,
                "blocking_failures": len(errors),
                "warnings": len(warnings),
            }
        )
        yield AssetCheckResult(
            check_name=BLOCKING_CHECK,
            passed=not errors,
            description=errors[0].message if errors else None,
            metadata={"failures": len(errors), "messages": _messages(errors)},
        )
        yield AssetCheckResult(
            check_name=WARNING_CHECK,
            passed=not warnings,
            severity=AssetCheckSeverity.WARN,
            description=warnings[0].message if warnings else None,
            metadata={"warnings": len(warnings), "messages": _messages(warnings)},
        )

    return [month_validation]
