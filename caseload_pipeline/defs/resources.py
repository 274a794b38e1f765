"""The one resource the assets, schedule and sensors share: the department's
settings (SPEC 8), as resource config rather than read from the environment
inside the run, so the UI shows them and every run sees the same values.

While a run executes, the resource also

* holds the run's lock (core/run_lock.py), so that anyone can tell a live run
  from one whose process died (defs/reaper.py marks those failed);
* shows the pipeline's progress lines (the `caseload_pipeline.progress`
  logger: months extracted, validated, loaded; a writer waiting for the
  working database) in the run's Dagster log;
* turns operational problems (core/problems.py) into step failures whose
  description is the plain message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import (
    ConfigurableResource,
    DagsterEventType,
    EnvVar,
    Failure,
    InitResourceContext,
)
from pydantic import PrivateAttr

from caseload_pipeline.core.settings import Settings, load_settings

# Every asset that writes the working database runs in this pool. It only
# orders the UI's queue (cli/dagster.yaml sets its limit to 1); what keeps
# writers apart whatever launched them is the warehouse's own lock
# (core/locks.py).
WAREHOUSE_POOL = "caseload_warehouse"

progress = logging.getLogger("caseload_pipeline.progress")


class _ToDagsterLog(logging.Handler):
    """Progress lines into the run's Dagster log. Lines about single months
    (core/update.py's ONE_MONTH) come in bursts, one per month of the run; they
    are held and written together, at most one entry a second, since every
    entry is a write to the instance's storage (an 88-month run's 180 lines
    took most of a second). Any other line writes what is held first, then
    itself, so a line that matters now (a wait for a lock) is never held."""

    HOLD_SECONDS = 1.0

    def __init__(self, log):
        super().__init__(logging.INFO)
        self.log = log
        self.held: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        one_month = getattr(record, "one_month", False)
        if one_month:
            self.held.append(record)
            if record.created - self.held[0].created < self.HOLD_SECONDS:
                return
        self.flush()
        if not one_month:
            self.log.log(record.levelno, record.getMessage())

    def flush(self) -> None:
        with self.lock:  # (emit holds it already; the step's end does not)
            if self.held:
                level = max(r.levelno for r in self.held)
                self.log.log(level, "\n".join(r.getMessage() for r in self.held))
                self.held = []


@contextmanager
def plain_failures() -> Iterator[None]:
    """A PipelineProblem fails the step with its message, without a stack trace."""
    from caseload_pipeline.core.problems import PipelineProblem

    try:
        yield
    except PipelineProblem as exc:
        raise Failure(description=str(exc)) from None


class _RunWarehouse:
    """The core Warehouse, with its problems as plain step failures."""

    def __init__(self, warehouse):
        self.inner = warehouse
        self.settings = warehouse.settings

    @contextmanager
    def connect(self, reference=None):
        with plain_failures(), self.inner.connect(reference) as con:
            yield con

    def publish(self, con=None):
        with plain_failures():
            return self.inner.publish(con)


def run_months(tags: dict[str, str]) -> list:
    """The months a run covers, from its partition tags (none for the audit job)."""
    from caseload_pipeline.core.months import parse_month
    from caseload_pipeline.defs.partitions import (
        PARTITION_RANGE_END_TAG,
        PARTITION_RANGE_START_TAG,
        PARTITION_TAG,
    )

    first = tags.get(PARTITION_RANGE_START_TAG) or tags.get(PARTITION_TAG)
    last = tags.get(PARTITION_RANGE_END_TAG) or tags.get(PARTITION_TAG)
    try:
        return parse_month(first).range_to(parse_month(last)) if first and last else []
    except ValueError:  # another kind of partition
        return []


class CaseloadData(ConfigurableResource):
    """Where the department's data lives, and the pseudonym key."""

    data_dir: str
    duckdb_path: str
    pseudonym_key_file: str
    # EnvVar in the definitions, so the UI shows the variable's name, never the key
    pseudonym_key: str | None = None
    first_month: str | None = None
    analyst_storage_version: str | None = None
    # seconds a writer waits for the working database (CASELOAD_LOCK_TIMEOUT)
    lock_timeout: float | None = None
    _run_lock = PrivateAttr(default=None)
    _run_id = PrivateAttr(default=None)
    _log_handler = PrivateAttr(default=None)

    def settings(self) -> Settings:
        values = {
            "CASELOAD_DATA_DIR": self.data_dir,
            "CASELOAD_DUCKDB_PATH": self.duckdb_path,
            "CASELOAD_PSEUDONYM_KEY_FILE": self.pseudonym_key_file,
            "CASELOAD_PSEUDONYM_KEY": self.pseudonym_key,
            "CASELOAD_FIRST_MONTH": self.first_month,
            "CASELOAD_LOCK_TIMEOUT": None if self.lock_timeout is None else str(self.lock_timeout),
            "CASELOAD_ANALYST_STORAGE_VERSION": self.analyst_storage_version,
        }
        return load_settings({name: value for name, value in values.items() if value})

    def setup_for_execution(self, context: InitResourceContext) -> None:
        run = context.run
        if run is None:  # a sensor or schedule evaluation, not a run
            return
        from caseload_pipeline.core.run_lock import RunLock, adopt_staging

        settings = self.settings()
        if adopt_staging(settings, run.run_id, run.parent_run_id):
            progress.info("taking over what run %s extracted and validated", run.parent_run_id)
        self._run_id = run.run_id
        self._run_lock = RunLock(settings, run.run_id, f"run {run.run_id[:8]}",
                                 run_months(run.tags))
        self._run_lock.hold()
        self._log_handler = _ToDagsterLog(context.log)
        progress.addHandler(self._log_handler)
        if progress.level == logging.NOTSET or progress.level > logging.INFO:
            progress.setLevel(logging.INFO)

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._log_handler is not None:
            progress.removeHandler(self._log_handler)
            self._log_handler.flush()
        if self._run_lock is not None:
            failures = context.instance.get_records_for_run(
                self._run_id, of_type=DagsterEventType.STEP_FAILURE, limit=1).records
            self._run_lock.release(succeeded=not failures)

    # Imported on use: they pull in pandas and DuckDB, which the code location
    # does not need to load (the UI answers sooner).
    def reference(self):
        from caseload_pipeline.core.reference import load_reference

        return load_reference(self.settings().reference_dir)

    def warehouse(self):
        from caseload_pipeline.core.warehouse import Warehouse

        holder = f"run {self._run_id[:8]}" if self._run_id else None
        return _RunWarehouse(Warehouse(self.settings(), holder))

    @classmethod
    def from_settings(cls, settings: Settings) -> CaseloadData:
        return cls(
            data_dir=str(settings.data_dir),
            duckdb_path=str(settings.duckdb_path),
            pseudonym_key_file=str(settings.pseudonym_key_file),
            pseudonym_key=EnvVar("CASELOAD_PSEUDONYM_KEY") if settings.pseudonym_key else None,
            first_month=settings.first_month,
            lock_timeout=settings.lock_timeout,
            analyst_storage_version=settings.analyst_storage_version,
        )
