"""The run tags we write out by value agree with Dagster's own (private) names."""

from dagster._core.storage import tags  # test-only: pins our copies of the values

from caseload_pipeline.defs import partitions


def test_partition_tags_are_dagsters():
    assert partitions.PARTITION_TAG == tags.PARTITION_NAME_TAG
    assert partitions.PARTITION_RANGE_START_TAG == tags.ASSET_PARTITION_RANGE_START_TAG
    assert partitions.PARTITION_RANGE_END_TAG == tags.ASSET_PARTITION_RANGE_END_TAG
