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
from caseload_pipeline.assets.validate import build_validate_assets
from caseload_pipeline.jobs import build_jobs
from caseload_pipeline.partitions import monthly_partitions
from caseload_pipeline.resources import CaseloadData
from caseload_pipeline.settings import Settings, load_settings


def build_definitions(settings: Settings) -> Definitions:
    months = monthly_partitions(settings)
    assets = [
        *build_extract_assets(months),
        *build_validate_assets(months),
        *build_load_assets(months),
        *build_metric_assets(months),
        *build_audit_assets(),
    ]
    return Definitions(
        assets=assets,
        jobs=list(build_jobs(months)),
        resources={"caseload_data": CaseloadData.from_settings(settings)},
        # Steps run one after another in the run's own process: on a 2-core
        # machine a process per step costs more than it saves.
        executor=in_process_executor,
    )


defs = build_definitions(load_settings())
