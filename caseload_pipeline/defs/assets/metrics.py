"""Group `metrics`: worker, team and role tables per month (SPEC 5)."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    TableColumn,
    TableSchema,
    multi_asset,
)

from caseload_pipeline.defs.assets.common import (
    OWNERS,
    SINGLE_RUN,
    markdown_table,
    progress,
    reference_or_fail,
)
from caseload_pipeline.defs.partitions import partition_months
from caseload_pipeline.defs.resources import WAREHOUSE_POOL, CaseloadData


def _schema(*columns: tuple[str, str, str]) -> TableSchema:
    return TableSchema(columns=[TableColumn(n, t, description=d) for n, t, d in columns])


METRIC_SPECS = [
    AssetSpec(
        "worker_monthly",
        group_name="metrics",
        kinds={"duckdb"},
        owners=OWNERS,
        deps=["allocations", "staff"],
        description="Per case-holding worker and month: cases, weighted caseload, capacity, "
        "utilisation and capacity band (green/amber/red).",
        metadata={
            "dagster/column_schema": _schema(
                ("month", "date", "first day of the month"),
                ("worker_key", "varchar", "keyed pseudonym of the worker id"),
                ("team", "varchar", "roster team"),
                ("role", "varchar", "roster role"),
                ("fte", "double", "full-time equivalent"),
                ("cases", "integer", "allocations held"),
                ("weighted_caseload", "double", "sum of case weights"),
                ("capacity_points", "double", "role points x fte (x protected factor)"),
                ("utilisation", "double", "weighted_caseload / capacity_points"),
                ("band", "varchar", "green / amber / red"),
            )
        },
    ),
    AssetSpec(
        "team_monthly",
        group_name="metrics",
        kinds={"duckdb"},
        owners=OWNERS,
        deps=["worker_monthly"],
        description="Per team and month: workers, fte, cases, average caseload per worker "
        "and per fte, weighted average, median, maximum and reassignment.",
        metadata={
            "dagster/column_schema": _schema(
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
                ("reassignment_rate", "double", "reassigned_cases / cases"),
            )
        },
    ),
    AssetSpec(
        "role_monthly",
        group_name="metrics",
        kinds={"duckdb"},
        owners=OWNERS,
        deps=["worker_monthly"],
        description="Per role (across teams) and month: workers, fte, cases and averages.",
    ),
]


def build_metric_assets(partitions_def):
    @multi_asset(
        specs=METRIC_SPECS,
        partitions_def=partitions_def,
        backfill_policy=SINGLE_RUN,
        pool=WAREHOUSE_POOL,
        can_subset=True,  # all three are always computed together; see assets/load.py
    )
    def monthly_metrics(context: AssetExecutionContext, caseload_data: CaseloadData):
        from caseload_pipeline.core.metrics import refresh_metrics

        reference = reference_or_fail(caseload_data)
        months = partition_months(context)
        warehouse = caseload_data.warehouse()
        with warehouse.connect(reference) as con:
            con.execute("BEGIN TRANSACTION")
            refresh_metrics(con, months)
            con.execute("COMMIT")
            last = months[-1].first_day
            teams = con.execute(
                "SELECT team, workers, cases, avg_caseload, avg_caseload_per_fte,"
                " avg_weighted_caseload FROM team_monthly WHERE month = ? ORDER BY team",
                [last],
            ).fetchall()
            roles = con.execute(
                "SELECT role, workers, cases, avg_caseload FROM role_monthly WHERE month = ?"
                " ORDER BY role",
                [last],
            ).fetchall()
            warehouse.publish(con)  # under the same lock: exactly the state computed here
        progress.info(
            "metrics refreshed for %d month(s); published %s",
            len(months),
            warehouse.settings.duckdb_path,
        )
        metadata = {
            "worker_monthly": {"months": len(months)},
            "team_monthly": {
                "months": len(months),
                f"teams_{months[-1]}": markdown_table(
                    teams, ["team", "workers", "cases", "avg", "per fte", "weighted"]
                ),
            },
            "role_monthly": {
                f"roles_{months[-1]}": markdown_table(roles, ["role", "workers", "cases", "avg"]),
            },
        }
        for key, values in metadata.items():
            if AssetKey(key) in context.selected_asset_keys:
                yield MaterializeResult(asset_key=key, metadata=values)

    return [monthly_metrics]
