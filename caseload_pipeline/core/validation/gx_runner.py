"""Run Great Expectations 1.x suites in a worker process of their own.

Importing GX costs about 2 s of CPU, nearly all of it Python holding the GIL:
in a thread beside the run it slowed everything else the run did in Python
(Dagster's start, reading the files) by as much. So GX lives in a process of
its own: `preload` starts it as soon as a run begins, it imports GX on the
other core meanwhile, and each suite goes to it as plain data (a frame and the
expectations by name, arguments and row condition) and comes back as plain
`Outcome`s. Nothing outside this module touches a GX object.

The worker reads its jobs from a pipe, one at a time. When this process ends,
however it ends (a SIGKILL too), the pipe closes and the worker exits; `release`
ends it once validation is done, so its memory is not held through the load.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Expectation:
    """A GX expectation by class name and arguments; with `where` (column,
    value) it looks only at the rows whose column holds that value."""

    name: str  # e.g. "ExpectColumnValuesToNotBeNull"
    kwargs: dict[str, Any]
    where: tuple[str, Any] | None = None


@dataclass(frozen=True)
class Outcome:
    """What GX found for one expectation, in the terms of its result."""

    success: bool
    error: str | None = None  # why the expectation could not run (then success is False)
    unexpected_index_list: list | None = None  # index labels of the rows it refused
    unexpected_count: int | None = None
    observed_value: Any = None  # what a table expectation saw (e.g. the row count)


class WorkerFailed(RuntimeError):
    """The GX worker ended without answering (its error is on stderr above)."""


# --- this process's side -------------------------------------------------------------

class _Worker:
    def __init__(self):
        root = str(Path(__file__).resolve().parents[3])  # where caseload_pipeline is
        env = {**os.environ, "GX_ANALYTICS_ENABLED": "false",
               "PYTHONPATH": os.pathsep.join(
                   [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
        self.process = subprocess.Popen(
            [sys.executable, "-c", f"from {__name__} import serve; serve({os.getpid()})"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def ask(self, job: tuple) -> list[Outcome]:
        try:
            pickle.dump(job, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.flush()
            status, value = pickle.load(self.process.stdout)
        except (EOFError, BrokenPipeError, pickle.UnpicklingError):
            code = self.process.wait()
            raise WorkerFailed(f"the Great Expectations worker stopped (exit code {code}) "
                               "before answering; its error is printed above") from None
        if status == "error":
            raise WorkerFailed(f"Great Expectations failed: {value}")
        return value

    def stop(self) -> None:
        # Between suites the worker holds nothing worth finishing, and it may
        # still be importing GX (a run whose months were all skipped): ended
        # at once rather than waited for.
        self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()


_lock = threading.Lock()
_worker: _Worker | None = None


def preload() -> None:
    """Start the worker, which imports GX at once; the first suite waits for it.
    Costs nothing when it is running already."""
    global _worker
    with _lock:
        if _worker is None or _worker.process.poll() is not None:
            _worker = _Worker()


def run_suite(kind: str, frame: pd.DataFrame, expectations: list[Expectation]
              ) -> list[Outcome]:
    """Validate `frame` with the expectations; one outcome per expectation, in order."""
    preload()
    with _lock:
        try:
            return _worker.ask((kind, frame, expectations))
        except WorkerFailed:
            _stop_worker()
            raise


def _stop_worker() -> None:
    global _worker
    if _worker is not None:
        _worker.stop()
        _worker = None


def release(stop_worker: bool = True) -> None:
    """Hand what validation used back to the system before the load step that
    follows in the same process: the worker (when `stop_worker`), and memory
    this process freed."""
    import ctypes

    import pyarrow

    if stop_worker:
        with _lock:
            _stop_worker()
    pyarrow.default_memory_pool().release_unused()
    # glibc keeps freed heap pages unless asked; elsewhere this is a no-op
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# --- the worker's side ---------------------------------------------------------------

def serve(parent: int) -> None:
    """The worker's loop: import GX, then answer jobs until the input closes."""
    _end_with(parent)
    # Ctrl-C at a terminal reaches the whole process group: the run decides what
    # happens, and this worker ends with it (its input closes).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    jobs = sys.stdin.buffer
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a print cannot corrupt an answer
    _context()
    while True:
        try:
            kind, frame, expectations = pickle.load(jobs)
        except EOFError:  # this process's end: nothing left to finish, so no
            os._exit(0)  # interpreter teardown (GX's takes most of a second)
        try:
            answer = ("ok", _validate(kind, frame, expectations))
        except Exception as exc:  # noqa: BLE001 - sent back, raised there as WorkerFailed
            answer = ("error", f"{type(exc).__name__}: {exc}")
        try:
            pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
            answers.flush()
        except BrokenPipeError:  # the process that asked has ended
            os._exit(0)


def _end_with(parent: int) -> None:
    """On Linux, have the kernel end this worker the moment `parent` ends (the
    thread of it that started us, which is its main thread here). The closed
    pipe says the same, but only once GX's import is done: a command that
    stopped at once (a wrong month) would leave seconds of import running."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it ended before we asked
        os._exit(0)


@functools.cache
def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@functools.cache
def _batch_definition(kind: str):
    source = _context().data_sources.add_pandas(f"{kind}_files")
    asset = source.add_dataframe_asset(f"{kind}_month")
    return asset.add_batch_definition_whole_dataframe("whole_file")


def _validate(kind: str, frame: pd.DataFrame, expectations: list[Expectation]
              ) -> list[Outcome]:
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    suite = gx.ExpectationSuite(name=f"{kind}_file")
    for position, spec in enumerate(expectations):
        only = {} if spec.where is None else {"row_condition": Column(spec.where[0])
                                              == spec.where[1]}
        suite.add_expectation(getattr(gxe, spec.name)(**spec.kwargs, **only,
                                                      meta={"rule_id": str(position)}))
    batch = _batch_definition(kind).get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    by_position = {int(r.expectation_config.meta["rule_id"]): r for r in result.results}
    return [_outcome(by_position[i]) for i in range(len(expectations))]


def _outcome(result) -> Outcome:
    details = result.result or {}
    error = _error_of(result)
    listed = details.get("unexpected_index_list")
    count = details.get("unexpected_count")
    return Outcome(
        success=bool(result.success) and error is None,
        error=error,
        unexpected_index_list=None if listed is None else [_plain(i) for i in listed],
        unexpected_count=None if count is None else int(count),
        observed_value=_plain(details.get("observed_value")),
    )


def _plain(value):
    """numpy scalars as Python ones (what an index label or a count may be)."""
    return value.item() if hasattr(value, "item") else value


def _error_of(result) -> str | None:
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
