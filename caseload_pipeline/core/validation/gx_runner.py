"""Run a Great Expectations 1.x suite on a whole DataFrame and return its results.

Great Expectations is imported lazily: the import costs seconds and must not
slow down loading the Dagster code location. A run starts it early in a thread
of its own (`preload`), while DuckDB reads the month's files (it lets go of
the GIL meanwhile). The ephemeral context is built once per process.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from typing import Any

import pandas as pd

_loading: list[threading.Thread] = []


def preload() -> None:
    """Import GX and build its context in the background; the first use waits
    for it. Costs nothing when GX is loaded already."""
    if _loading or _context.cache_info().currsize:
        return

    def load():
        with contextlib.suppress(Exception):  # the first use raises it again, in its thread
            _context()

    thread = threading.Thread(target=load, name="great-expectations-import", daemon=True)
    _loading.append(thread)
    thread.start()


def _ready():
    """The context, once a preload under way has finished."""
    while _loading:
        _loading.pop().join()
    return _context()


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
    _ready()
    import great_expectations.expectations as gxe

    return gxe


@functools.cache
def _batch_definition(kind: str):
    source = _ready().data_sources.add_pandas(f"{kind}_files")
    asset = source.add_dataframe_asset(f"{kind}_month")
    return asset.add_batch_definition_whole_dataframe("whole_file")


def run_suite(kind: str, frame: pd.DataFrame, expectations_list: list) -> list[Any]:
    """Validate `frame` with the expectations; one result per expectation, in order."""
    _ready()
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=f"{kind}_file")
    for expectation in expectations_list:
        suite.add_expectation(expectation)
    batch = _batch_definition(kind).get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    by_id = {r.expectation_config.meta["rule_id"]: r for r in result.results}
    return [by_id[e.meta["rule_id"]] for e in expectations_list]


def release() -> None:
    """Drop GX's references to the last suite's frames and hand freed memory back
    to the system, so that what validation used does not stay resident through
    the load step that follows in the same process. (The frames are small now:
    a full garbage collection, which walks every object Dagster and GX made,
    would cost more time than it frees.)"""
    import ctypes

    import pyarrow

    _batch_definition.cache_clear()
    _context.cache_clear()
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


def rows_where(column: str, value):
    """A row condition: the expectation looks only at rows whose `column` is `value`."""
    _ready()
    from great_expectations.expectations.row_conditions import Column

    return Column(column) == value
