"""Run a Great Expectations 1.x suite on a whole DataFrame and return its results.

Great Expectations is imported lazily: the import costs seconds and must not
slow down loading the Dagster code location. The ephemeral context is built
once per process.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

import pandas as pd


@functools.cache
def _context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def expectations():
    """The `great_expectations.expectations` module (imported on first use)."""
    _context()
    import great_expectations.expectations as gxe

    return gxe


@functools.cache
def _batch_definition(kind: str):
    source = _context().data_sources.add_pandas(f"{kind}_files")
    asset = source.add_dataframe_asset(f"{kind}_month")
    return asset.add_batch_definition_whole_dataframe("whole_file")


def run_suite(kind: str, frame: pd.DataFrame, expectations_list: list) -> list[Any]:
    """Validate `frame` with the expectations; one result per expectation, in order."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=f"{kind}_file")
    for expectation in expectations_list:
        suite.add_expectation(expectation)
    batch = _batch_definition(kind).get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    by_id = {r.expectation_config.meta["rule_id"]: r for r in result.results}
    return [by_id[e.meta["rule_id"]] for e in expectations_list]


def release() -> None:
    """Drop GX's references to the last batch's DataFrame and hand the freed
    memory back to the system, so a million-row month's frames do not stay
    resident through the load step that follows in the same process."""
    import contextlib
    import ctypes
    import gc

    import pyarrow

    _batch_definition.cache_clear()
    _context.cache_clear()
    gc.collect()
    pyarrow.default_memory_pool().release_unused()
    # glibc keeps freed heap pages unless asked; elsewhere this is a no-op
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def error_of(result) -> str | None:
    """The error an expectation raised, if any.

    GX does not raise: an erroring expectation reports success=False with
    `exception_info` either flat ({"raised_exception": True, ...}) or keyed by
    metric ({metric_id: {"raised_exception": True, ...}}).
    """
    info = result.exception_info or {}
    candidates = [info] if "raised_exception" in info else list(info.values())
    for entry in candidates:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return str(entry.get("exception_message") or "unknown error").splitlines()[0]
    return None
