"""File locks (flock) that say who holds them.

The kernel drops an flock when the process holding it ends, however it ends,
so a killed holder never blocks anyone. Each lock file holds a short note,
written by its holder, which a waiting process reads to say what it waits for,
and which tells whether the last holder let go cleanly ("released") or died
holding the lock ("held", and nobody holds it).

A lock is re-entrant within a process: a step that already holds it (the
working database across a step's connection and its publish) takes it again
without waiting for itself. Threads of one process take turns.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from caseload_pipeline.core.problems import PipelineProblem

progress = logging.getLogger("caseload_pipeline.progress")

HELD, RELEASED = "held", "released"
# A waiting process says so after this long, then every REPORT_EVERY seconds.
FIRST_REPORT = 2.0
REPORT_EVERY = 30.0


class LockTimeout(PipelineProblem):
    pass


@dataclass(frozen=True)
class Note:
    """What a lock file says about its last holder."""

    pid: int
    what: str  # e.g. "run 3f2a1b0c" or "caseload rebuild"
    since: float  # epoch seconds
    state: str = HELD
    extra: dict | None = None

    def describe(self) -> str:
        when = time.strftime("%H:%M:%S", time.localtime(self.since))
        return f"{self.what} (pid {self.pid}) has held it since {when}"


def read_note(path: Path) -> Note | None:
    try:
        data = json.loads(path.read_text() or "null")
        return Note(int(data["pid"]), str(data["what"]), float(data["since"]),
                    str(data.get("state", HELD)), data.get("extra"))
    except (OSError, ValueError, TypeError, KeyError):
        return None  # missing, empty (just created) or not ours


def _write_note(fd: int, note: Note) -> None:
    data = json.dumps({"pid": note.pid, "what": note.what, "since": note.since,
                       "state": note.state, "extra": note.extra}).encode()
    # Padded with spaces over a longer old note rather than truncated: a
    # truncation costs milliseconds on some file systems, this microseconds.
    # The note only informs; on a full disk the lock holds without it (and the
    # step that needs the space says so in its own words).
    with contextlib.suppress(OSError):
        os.pwrite(fd, data.ljust(os.fstat(fd).st_size), 0)


class _Holding:
    def __init__(self, fd: int, thread: int):
        self.fd, self.thread, self.depth = fd, thread, 1


_held: dict[str, _Holding] = {}  # lock path -> this process's holding of it
_guard = threading.Lock()


class FileLock:
    """An exclusive lock on `path` (created if missing), noted as held by `what`."""

    def __init__(self, path: Path, what: str, purpose: str, extra: dict | None = None):
        self.path = Path(path)
        self.what = what
        self.purpose = purpose  # for messages: "the working database (...)"
        self.extra = extra  # more for the note (a run's months)

    def try_acquire(self) -> bool:
        key = str(self.path)
        me = threading.get_ident()
        with _guard:
            holding = _held.get(key)
            if holding is not None:
                if holding.thread != me:
                    return False  # another thread of this process has it
                holding.depth += 1
                return True
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            except BaseException:
                os.close(fd)
                raise
            _write_note(fd, Note(os.getpid(), self.what, time.time(), extra=self.extra))
            _held[key] = _Holding(fd, me)
            return True

    def acquire(self, timeout: float | None, log: logging.Logger = progress) -> None:
        """Wait until the lock is ours; say what we wait for now and then; after
        `timeout` seconds (None: no limit) give up with LockTimeout."""
        if self.try_acquire():
            return
        start = time.monotonic()
        report_at = start + FIRST_REPORT
        delay = 0.005
        while True:
            time.sleep(delay)
            if self.try_acquire():
                waited = time.monotonic() - start
                if waited >= FIRST_REPORT:
                    log.info("got %s after waiting %.0f s", self.purpose, waited)
                return
            delay = min(delay * 2, 0.25)
            now = time.monotonic()
            if timeout is not None and now - start >= timeout:
                raise LockTimeout(self._timeout_message(now - start))
            if now >= report_at:
                log.info("waiting for %s: %s (waited %.0f s so far)", self.purpose,
                         self._holder_text(), now - start)
                report_at = now + REPORT_EVERY

    def release(self, state: str = RELEASED, extra: dict | None = None) -> bool:
        """Let go; the outermost release of this process writes the final note,
        drops the lock and returns True."""
        key = str(self.path)
        with _guard:
            holding = _held.get(key)
            if holding is None or holding.thread != threading.get_ident():
                return False
            holding.depth -= 1
            if holding.depth:
                return False
            del _held[key]
            try:
                note = read_note(self.path)
                since = note.since if note else time.time()
                extra = {**((note.extra or {}) if note else {}), **(extra or {})}
                _write_note(holding.fd, Note(os.getpid(), self.what, since, state, extra))
            finally:
                os.close(holding.fd)  # closing drops the flock
        return True

    def __enter__(self) -> FileLock:
        self.acquire(None)
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def _holder_text(self) -> str:
        note = read_note(self.path)
        if note is None or note.state != HELD:
            return "another process holds it"
        return note.describe()

    def _timeout_message(self, waited: float) -> str:
        note = read_note(self.path)
        holder = self._holder_text()
        stop = f" (kill {note.pid})" if note and note.state == HELD else ""
        return (f"gave up waiting for {self.purpose} after {waited:.0f} s: {holder}. "
                f"If that is stuck, stop it{stop} and run again; to wait longer, set "
                "CASELOAD_LOCK_TIMEOUT (seconds).")


def lock_is_free(path: Path) -> bool:
    """True when nobody holds the lock at `path` now (a file that is not there is free)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # also drops the lock if we got it
    return True
