"""A full disk is a plain sentence, and what was half written is removed.

Writing staging files, the working database or the analyst copy can fail with
"No space left on device" (or a full quota) from Python, pyarrow or DuckDB,
each in its own words. `no_space_left` turns any of them into one `DiskFull`
whose message says where and what to do, after removing the files the failed
step had begun; the warehouse's transaction has already been rolled back by
then, so what was loaded before stays as it was.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from caseload_pipeline.core.problems import PipelineProblem

_NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# How DuckDB and pyarrow say it (they do not always carry the errno)
_NO_SPACE_WORDS = ("no space left on device", "disk quota exceeded", "not enough space")


class DiskFull(PipelineProblem):
    """The disk is full; the message is one plain sentence for the person running it."""


def is_disk_full(exc: BaseException) -> bool:
    while exc is not None:
        if isinstance(exc, PipelineProblem):
            return False  # already said in plain words, by the step that knew where
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE_ERRNOS:
            return True
        if any(words in str(exc).lower() for words in _NO_SPACE_WORDS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@contextmanager
def no_space_left(doing: str, where: Path, remove: Iterable[Path] = ()) -> Iterator[None]:
    """Raise DiskFull (naming `doing` and the folder `where`) for a full disk in
    the block, after removing `remove` (files or folders the block creates)."""
    try:
        yield
    except DiskFull:
        raise
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        for path in remove:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise DiskFull(
            f"the disk is full: {doing} needs more space in {where}; free some space there "
            "and run again (nothing was loaded or published by this step)") from None
