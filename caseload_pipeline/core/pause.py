"""A hook for the crash and concurrency tests: stop the pipeline at a named
point, so that a test can kill it there or do something meanwhile
(caseload_pipeline_tests/e2e/test_crash_recovery.py).

It does nothing unless CASELOAD_TEST_PAUSE_IN names the point: then the
process writes "<point> <pid>" to the file CASELOAD_TEST_PAUSE_MARKER and
waits there until that file is removed (or the process killed; an hour at
most). The points are: extract (a month's first file staged), validate
(a batch of months' findings stored), before-load (a run about to load what
it validated, holding the working database), load (the months' rows written,
inside the run's transaction, not yet checked), loaded (every month loaded
and checked, the metrics not yet computed, same transaction), metrics (half
the metric tables rewritten), publish (the analyst copy written beside the
old one, not yet renamed into place), audit (inside the audit tables'
transaction) and report (while writing a report).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

POINTS = ("extract", "validate", "before-load", "load", "loaded", "metrics", "audit", "report",
          "publish")


def pause_point(name: str) -> None:
    if os.environ.get("CASELOAD_TEST_PAUSE_IN") != name:
        return
    marker = Path(os.environ["CASELOAD_TEST_PAUSE_MARKER"])
    marker.write_text(f"{name} {os.getpid()}\n")
    deadline = time.monotonic() + 3600
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
