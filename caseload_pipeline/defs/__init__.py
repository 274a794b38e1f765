"""The Dagster layer: assets, checks, partitions, jobs, schedules, sensors and the
resource, each a thin wiring of `caseload_pipeline.core` into Dagster events and
metadata. `build_definitions` puts them together for one department's settings.

Building them must stay fast (every UI start, daemon tick and run loads the code
location): nothing here imports Great Expectations, pandas or DuckDB at module
level, reads data files or opens the warehouse.
"""

from __future__ import annotations

import warnings

from dagster import BetaWarning, Definitions, in_process_executor

from caseload_pipeline.core.settings import Settings
from caseload_pipeline.defs.assets.audit import build_audit_assets
from caseload_pipeline.defs.assets.early_warning import build_early_warning_assets
from caseload_pipeline.defs.assets.months import build_month_assets, month_files_spec
from caseload_pipeline.defs.assets.report import build_report_assets
from caseload_pipeline.defs.jobs import build_jobs
from caseload_pipeline.defs.partitions import monthly_partitions
from caseload_pipeline.defs.resources import CaseloadData
from caseload_pipeline.defs.schedules import build_monthly_schedule
from caseload_pipeline.defs.sensors import (
    build_automation_sensor,
    build_dead_runs_sensor,
    build_incoming_sensor,
)


def build_definitions(settings: Settings) -> Definitions:
    months = monthly_partitions(settings)
    with warnings.catch_warnings():
        # Two parameters we rely on are marked beta: backfill_policy (the documented
        # way to get single-run backfills) and a partition mapping's
        # allow_nonexistent_upstream_partitions (the first month has no month
        # before it). The warnings would only be noise at every load.
        for parameter in ("backfill_policy", "allow_nonexistent_upstream_partitions"):
            warnings.filterwarnings("ignore", category=BetaWarning,
                                    message=f".*{parameter}.*")
        assets = [
            month_files_spec(months),
            *build_month_assets(months),
            *build_audit_assets(),
            *build_early_warning_assets(),
            *build_report_assets(),
        ]
    monthly_job, audit_job = build_jobs()
    return Definitions(
        assets=assets,
        jobs=[monthly_job, audit_job],
        schedules=[build_monthly_schedule(monthly_job, months)],
        sensors=[build_incoming_sensor(monthly_job, months), build_automation_sensor(),
                 build_dead_runs_sensor()],
        resources={"caseload_data": CaseloadData.from_settings(settings)},
        # Steps run one after another in the run's own process: on a 2-core
        # machine a process per step costs more than it saves.
        executor=in_process_executor,
    )
