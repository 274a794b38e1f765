"""Group `report`: the audit reports, one HTML and one Excel file per audit."""

from dagster import AssetSpec, MaterializeResult, MetadataValue, multi_asset

from caseload_pipeline.defs.assets.common import AFTER_MONTHS, OWNERS, progress, reference_or_fail
from caseload_pipeline.defs.resources import WAREHOUSE_POOL, CaseloadData


def build_report_assets():
    @multi_asset(
        specs=[AssetSpec(
            "audit_reports", group_name="report", kinds={"html", "excel"}, owners=OWNERS,
            deps=["audit_team_averages", "audit_role_averages", "audit_comparison",
                  "staff_survey", "benchmarks", "worker_alerts", "team_outlook"],
            automation_condition=AFTER_MONTHS,
            description="For each audit in audits.yaml: reports/<audit>/caseload_audit_"
                        "<audit>.html (one offline file, charts inline) and .xlsx, laid out "
                        "as the published audits.",
        )],
        pool=WAREHOUSE_POOL,
    )
    def audit_reports(caseload_data: CaseloadData):
        from caseload_pipeline.core.report.writer import write_reports

        reference = reference_or_fail(caseload_data)
        settings = caseload_data.settings()
        with caseload_data.warehouse().connect(reference) as con:
            paths = write_reports(con, settings, reference)
        progress.info("reports written: %s", ", ".join(p.name for p in paths))
        links = {p.name: MetadataValue.path(str(p)) for p in paths}
        yield MaterializeResult(asset_key="audit_reports",
                                metadata={"reports": len(paths), **links})

    return [audit_reports]
