"""Which runs are alive, and what dead runs left behind.

The process executing a run holds `.pipeline/runs/<run id>.lock` from the
start of the run's execution to its end (the Dagster resource's setup and
teardown hold it in whatever process runs the steps; the CLI holds it around
its in-process runs). The kernel frees the lock when that process dies, and
the note in the file then still says "held": the run died. A run that ended
normally notes "released", and whether it succeeded.

This module only reads and cleans the data folder; marking a dead run failed
in the Dagster instance and freeing its pool slot is the Dagster layer's part
(defs/reaper.py).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from caseload_pipeline.core.locks import HELD, FileLock, Note, lock_is_free, read_note
from caseload_pipeline.core.months import Month, parse_month
from caseload_pipeline.core.settings import Settings
from caseload_pipeline.core.staging import run_staging_dir

# A failed run's staging is kept this long, so that "re-execute from failure"
# in the Dagster UI can take it over (adopt_staging); then it is removed.
KEEP_FAILED_STAGING = 24 * 3600.0
ALIVE, DIED, ENDED = "alive", "died", "ended"
UNNOTED_GRACE = 60.0


def run_lock_path(settings: Settings, run_id: str) -> Path:
    return settings.runs_dir / f"{run_id}.lock"


class RunLock:
    """Held by the process executing run `run_id` (re-entrant within it)."""

    def __init__(self, settings: Settings, run_id: str, what: str,
                 months: Sequence[Month] = ()):
        self.settings = settings
        self.run_id = run_id
        # The months are noted so that a sensor of another Dagster instance
        # over the same folder sees what this run is handling.
        self.lock = FileLock(run_lock_path(settings, run_id), what, f"run {run_id}",
                             extra={"months": [str(m) for m in months]})

    def hold(self) -> bool:
        """Take the lock; False when another process already holds it (a process
        of the same run, which keeps the run alive as long as it lives)."""
        return self.lock.try_acquire()

    def release(self, succeeded: bool) -> None:
        """The outermost release notes how the run ended and, when it succeeded,
        removes its staging (a failed run's is kept for a re-execution)."""
        if self.lock.release(extra={"succeeded": succeeded, "ended": time.time()}) \
                and succeeded:
            remove_staging(self.settings, self.run_id)


@dataclass(frozen=True)
class RunTrace:
    """What the runs folder tells about one run."""

    run_id: str
    state: str  # ALIVE, DIED or ENDED
    note: Note | None

    @property
    def succeeded(self) -> bool:
        return bool(self.note and (self.note.extra or {}).get("succeeded"))

    @property
    def months(self) -> list[Month]:
        return [parse_month(m) for m in (self.note and (self.note.extra or {}).get("months"))
                or []]

    @property
    def ended_at(self) -> float:
        return float((self.note and (self.note.extra or {}).get("ended")) or 0.0)


def run_trace(settings: Settings, run_id: str) -> RunTrace | None:
    path = run_lock_path(settings, run_id)
    if not path.exists():
        return None
    if not lock_is_free(path):
        return RunTrace(run_id, ALIVE, read_note(path))
    note = read_note(path)
    if note is None:
        # Created a moment ago and not locked yet (starting), or its process died
        # while writing the note: a minute tells them apart.
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return None
        return RunTrace(run_id, DIED if age > UNNOTED_GRACE else ALIVE, None)
    return RunTrace(run_id, DIED if note.state == HELD else ENDED, note)


def run_traces(settings: Settings) -> list[RunTrace]:
    if not settings.runs_dir.is_dir():
        return []
    traces = [run_trace(settings, path.stem) for path in sorted(settings.runs_dir.glob("*.lock"))]
    return [t for t in traces if t is not None]


def remove_staging(settings: Settings, run_id: str) -> None:
    shutil.rmtree(run_staging_dir(settings, run_id), ignore_errors=True)


def forget_run(settings: Settings, run_id: str) -> None:
    """Remove a dead or finished run's staging and lock file."""
    remove_staging(settings, run_id)
    run_lock_path(settings, run_id).unlink(missing_ok=True)


def clean_leftovers(settings: Settings, now: float | None = None) -> None:
    """Remove the staging of runs that are over, except a recently failed run's,
    and lock files of runs over for longer than that. Runs that died are the
    caller's (forget_run, once the instance knows)."""
    now = time.time() if now is None else now
    traces = {t.run_id: t for t in run_traces(settings)}
    for trace in traces.values():
        if trace.state == ENDED and now - trace.ended_at > KEEP_FAILED_STAGING:
            forget_run(settings, trace.run_id)
    if not settings.staging_dir.is_dir():
        return
    for folder in settings.staging_dir.iterdir():
        # A run takes its lock before it stages anything, so a folder that
        # appeared since the traces were read has a lock file by now.
        trace = traces.get(folder.name) or run_trace(settings, folder.name)
        keep = trace is not None and (
            trace.state in (ALIVE, DIED)
            or (not trace.succeeded and now - trace.ended_at <= KEEP_FAILED_STAGING))
        if not keep:  # a finished run's, or one with no run lock (older versions' months)
            shutil.rmtree(folder, ignore_errors=True)


def adopt_staging(settings: Settings, run_id: str, parent_run_id: str | None) -> bool:
    """A re-execution of a failed run takes over what that run extracted and
    validated, when it has no staging of its own yet."""
    if not parent_run_id:
        return False
    mine, parent = run_staging_dir(settings, run_id), run_staging_dir(settings, parent_run_id)
    if mine.exists() or not parent.is_dir():
        return False
    mine.parent.mkdir(parents=True, exist_ok=True)
    parent.rename(mine)
    return True


def months_being_run(settings: Settings) -> set[Month]:
    """The months of runs alive now, whichever Dagster instance they belong to."""
    return {m for t in run_traces(settings) if t.state == ALIVE for m in t.months}
