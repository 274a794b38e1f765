"""Group `load`: validated months replace their rows in `allocations` and `staff`."""

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from caseload_pipeline.defs.assets.common import OWNERS, SINGLE_RUN, progress, reference_or_fail
from caseload_pipeline.defs.partitions import partition_months
from caseload_pipeline.defs.resources import WAREHOUSE_POOL, CaseloadData

LOAD_SPECS = [
    AssetSpec(
        "staff",
        group_name="load",
        kinds={"duckdb"},
        owners=OWNERS,
        deps=["month_validation"],
        description="The monthly roster: one row per worker in post (keyed id, team, role, "
        "fte, case holding, protected caseload, capacity points).",
    ),
    AssetSpec(
        "allocations",
        group_name="load",
        kinds={"duckdb"},
        owners=OWNERS,
        deps=["month_validation", "staff"],
        description="One row per case allocated to a worker at the month end, keyed ids, "
        "with case weight, reassignment and whether the worker is rostered.",
    ),
]


def build_load_assets(partitions_def):
    @multi_asset(
        specs=LOAD_SPECS,
        partitions_def=partitions_def,
        backfill_policy=SINGLE_RUN,
        pool=WAREHOUSE_POOL,
        # Both tables are always loaded together; subsetting only decides which
        # materializations are reported. Non-subsettable multi-assets trip a
        # Dagster 1.13 check on UI backfills that depends on the hash seed.
        can_subset=True,
    )
    def load_month_tables(context: AssetExecutionContext, caseload_data: CaseloadData):
        from caseload_pipeline.core.load import load_validated

        reference = reference_or_fail(caseload_data)
        months = partition_months(context)
        with caseload_data.warehouse().connect(reference) as con:
            load_validated(con, caseload_data.settings(), months, context.run.run_id)
            counts = dict(
                con.execute(
                    "SELECT 'allocations', count(*) FROM allocations WHERE month BETWEEN ? AND ?"
                    " UNION ALL SELECT 'staff', count(*) FROM staff WHERE month BETWEEN ? AND ?",
                    [months[0].first_day, months[-1].first_day] * 2,
                ).fetchall()
            )
        progress.info(
            "loaded %d month(s): %s allocations, %s staff",
            len(months),
            counts["allocations"],
            counts["staff"],
        )
        for key in ("staff", "allocations"):
            if AssetKey(key) not in context.selected_asset_keys:
                continue
            yield MaterializeResult(
                asset_key=key, metadata={"rows_in_run": counts[key], "months": len(months)}
            )

    return [load_month_tables]
