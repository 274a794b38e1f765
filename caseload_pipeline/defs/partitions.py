"""One partition per calendar month (SPEC 7), from the first month the
settings or audits.yaml name to the last complete month."""

from __future__ import annotations

import yaml
from dagster import MonthlyPartitionsDefinition

from caseload_pipeline.core.months import Month, parse_month
from caseload_pipeline.core.settings import Settings

# Used only when neither the settings nor audits.yaml name a first month
# (a fresh folder before `caseload demo`); it is the demo's first month.
FALLBACK_FIRST_MONTH = "2019-07"
PARTITION_FORMAT = "%Y-%m"
TIMEZONE = "Europe/London"

# The run tags Dagster reads a run's months from. Dagster exports no public name
# for them, so they are written out here rather than imported from
# dagster._core; caseload_pipeline_tests/defs/test_partitions.py pins them to
# Dagster's own values, so an upgrade that renames them fails a test.
PARTITION_TAG = "dagster/partition"
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def first_month(settings: Settings) -> Month:
    if settings.first_month:
        return parse_month(settings.first_month)
    # Read only the dates, leniently: a broken audits.yaml must not stop the
    # code location from loading; the assets report it properly.
    try:
        doc = yaml.safe_load((settings.reference_dir / "audits.yaml").read_text())
        return min(parse_month(str(a["first_month"])) for a in doc["audits"])
    except (OSError, ValueError, TypeError, KeyError, yaml.YAMLError):
        return parse_month(FALLBACK_FIRST_MONTH)


def monthly_partitions(settings: Settings) -> MonthlyPartitionsDefinition:
    # London time, as the monthly schedule: a month's partition exists from
    # midnight on the 1st of the next month in London, not in UTC.
    return MonthlyPartitionsDefinition(
        start_date=str(first_month(settings)), fmt=PARTITION_FORMAT, end_offset=0,
        timezone=TIMEZONE,
    )


def partition_months(context) -> list[Month]:
    """The months an asset step covers (one, or a range in a single-run backfill)."""
    return [parse_month(key) for key in context.partition_keys]
