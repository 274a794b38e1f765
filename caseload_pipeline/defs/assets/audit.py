"""Group `audit`: audit-period averages, the comparison with the previous audit,
and the staff survey trend. Unpartitioned: each run recomputes every audit in
audits.yaml from the monthly tables (they are small)."""

from dagster import MaterializeResult, multi_asset

from caseload_pipeline.defs.assets.common import (
    benchmark_file_or_fail,
    derived_table,
    progress,
    reference_or_fail,
    table_metadata,
)
from caseload_pipeline.defs.resources import WAREHOUSE_POOL, CaseloadData

AUDIT_SPECS = [
    derived_table(
        "audit_team_averages", "audit",
        "Per audit and team: the mean of the monthly averages over the audit's "
        "months in which the team had workers (or the published baseline).",
        deps=("team_monthly",)),
    derived_table(
        "audit_role_averages", "audit",
        "Per audit and role: the same averages by professional role.",
        deps=("role_monthly",)),
    derived_table(
        "audit_comparison", "audit",
        "Each team against its own or its predecessor's figure in the previous "
        "audit: change, percentage change and direction.",
        deps=("audit_team_averages",)),
    derived_table(
        "staff_survey", "audit",
        "Share of staff saying their caseload is fair and manageable, by year."),
    derived_table(
        "benchmarks", "audit",
        "Published peer figures (DfE children's social work workforce "
        "statistics) from external/, as named in reference/benchmarks.yaml.",
        kinds=("duckdb", "csv")),
]


def build_audit_assets():
    @multi_asset(specs=AUDIT_SPECS, pool=WAREHOUSE_POOL, can_subset=False)
    def audit_tables(caseload_data: CaseloadData):
        from caseload_pipeline.core.audit import refresh_audit_tables
        from caseload_pipeline.core.benchmarks import load_benchmarks

        reference = reference_or_fail(caseload_data)
        settings = caseload_data.settings()
        benchmark_file, benchmark_note = benchmark_file_or_fail(settings)
        warehouse = caseload_data.warehouse()
        with warehouse.connect(reference) as con:
            con.execute("BEGIN TRANSACTION")
            refresh_audit_tables(con)
            benchmark_rows = load_benchmarks(con, benchmark_file)
            con.execute("COMMIT")
            summary = con.execute(
                "SELECT audit, count(*), min(months_covered), max(months_expected)"
                " FROM audit_team_averages GROUP BY audit ORDER BY audit"
            ).fetchall()
            directions = con.execute(
                "SELECT audit, direction, count(*) FROM audit_comparison GROUP BY ALL ORDER BY ALL"
            ).fetchall()
            warehouse.publish(con)  # under the same lock: exactly the state computed here
        progress.info("audit tables refreshed for %d audit(s)", len(summary))
        yield MaterializeResult(
            asset_key="audit_team_averages",
            metadata={
                "audits": table_metadata(summary, ["audit", "teams", "min months", "expected"])
            },
        )
        yield MaterializeResult(asset_key="audit_role_averages")
        yield MaterializeResult(
            asset_key="audit_comparison",
            metadata={"directions": table_metadata(directions, ["audit", "direction", "teams"])},
        )
        yield MaterializeResult(asset_key="staff_survey", metadata={"years": len(reference.survey)})
        yield MaterializeResult(
            asset_key="benchmarks",
            metadata={
                "rows": benchmark_rows,
                "file": benchmark_note,
            },
        )

    return [audit_tables]
