"""The Dagster code location (workspace.yaml points here).

Loading it must stay fast: nothing here imports Great Expectations, reads
data files or opens the warehouse.
"""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from caseload_pipeline.assets.audit import build_audit_assets
from caseload_pipeline.assets.extract import build_extract_assets
from caseload_pipeline.assets.load import build_load_assets
from caseload_pipeline.assets.metrics import build_metric_assets
from caseload_pipeline.assets.report import build_report_assets
from caseload_pipeline.assets.validate import build_validate_assets
from caseload_pipeline.jobs import build_jobs
from caseload_pipeline.partitions import monthly_partitions
from caseload_pipeline.resources import CaseloadData
from caseload_pipeline.schedules import build_monthly_schedule
from caseload_pipeline.sensors import build_automation_sensor, build_incoming_sensor
from caseload_pipeline.settings import Settings, load_settings


def build_definitions(settings: Settings) -> Definitions:
    months = monthly_partitions(settings)
    assets = [
        *build_extract_assets(months),
        *build_validate_assets(months),
        *build_load_assets(months),
        *build_metric_assets(months),
        *build_audit_assets(),
        *build_report_assets(),
    ]
    monthly_job, audit_job = build_jobs()
    return Definitions(
        assets=assets,
        jobs=[monthly_job, audit_job],
        schedules=[build_monthly_schedule(monthly_job, months)],
        sensors=[build_incoming_sensor(monthly_job, months), build_automation_sensor()],
        resources={"caseload_data": CaseloadData.from_settings(settings)},
        # Steps run one after another in the run's own process: on a 2-core
        # machine a process per step costs more than it saves.
        executor=in_process_executor,
    )


defs = build_definitions(load_settings())
