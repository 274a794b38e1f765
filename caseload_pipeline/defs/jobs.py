"""Jobs: the months (validate, load, metrics), then the audit tables, the early
warning and the reports."""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

# `extract` holds the files in incoming/, which the pipeline reads but never writes.
MONTH_GROUPS = ("validate", "load", "metrics")
AUDIT_GROUPS = ("audit", "early_warning", "report")


def build_jobs():
    monthly_job = define_asset_job(
        "monthly_job",
        selection=AssetSelection.groups(*MONTH_GROUPS),
        description="Extract, validate, load and compute the metrics of one or more months.",
    )
    audit_job = define_asset_job(
        "audit_job",
        selection=AssetSelection.groups(*AUDIT_GROUPS),
        description="Recompute the audit tables and the early warning, and write the audit "
        "reports.",
    )
    return monthly_job, audit_job
