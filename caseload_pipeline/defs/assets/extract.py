"""Group `extract`: read each month's files into staging, untouched by judgement."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from caseload_pipeline.defs.assets.common import OWNERS, SINGLE_RUN, progress
from caseload_pipeline.defs.partitions import partition_months
from caseload_pipeline.defs.resources import CaseloadData


def build_extract_assets(partitions_def):
    @asset(
        group_name="extract",
        partitions_def=partitions_def,
        backfill_policy=SINGLE_RUN,
        kinds={"csv", "excel"},
        owners=OWNERS,
        description=(
            "The month's caseload and staff files from incoming/ (CSV or Excel), read as "
            "text with their line numbers into the pipeline's private staging folder. "
            "Nothing reaches the warehouse from here."
        ),
    )
    def month_files(context: AssetExecutionContext, caseload_data: CaseloadData):
        from caseload_pipeline.core.staging import stage_month

        settings = caseload_data.settings()
        rows = []
        for month in partition_months(context):
            staged = stage_month(settings, month, context.run.run_id)
            files = {k: f"{v['name']} ({v['rows']} rows)" for k, v in staged.files.items()}
            progress.info("%s: extracted %s", month, ", ".join(files.values()) or "no files")
            rows.append((str(month), files.get("caseload", "-"), files.get("staff", "-")))
        table = "\n".join(
            ["| month | caseload | staff |", "|---|---|---|"]
            + [f"| {m} | {c} | {s} |" for m, c, s in rows]
        )
        return MaterializeResult(
            metadata={
                "months": len(rows),
                "files": MetadataValue.md(table),
            }
        )

    return [month_files]
