"""The audit report (SPEC 9): an offline HTML file and an Excel workbook per audit.

    from caseload_pipeline.core.report import write_audit_report
    html, xlsx = write_audit_report(con, "2023/24", reports_dir / "2023-24", weights=weights)

`con` is a connection to the warehouse (read-only is enough); `weights` is the
parsed `reference/weights.yaml`, shown in the weighting section; `benchmark_areas`
are the area names from `reference/benchmarks.yaml` (None: England only).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import duckdb

from caseload_pipeline.core.pause import pause_point
from caseload_pipeline.core.reference import audit_slug as slug

from .excel import write_workbook
from .html import render_html
from .queries import load_report_data

__all__ = ["remove_dead_report_copies", "slug", "write_audit_report"]

_COPY = re.compile(r"^\.caseload_audit_.+\.(?:html|xlsx)\.(\d+)\.[^.]+$")


def write_audit_report(
    con: duckdb.DuckDBPyConnection,
    audit: str,
    out_dir: Path,
    *,
    weights: dict,
    benchmark_areas: list[str] | None = None,
) -> tuple[Path, Path]:
    """Write `caseload_audit_<slug>.html` and `.xlsx` into out_dir; return both paths.

    Raises ValueError when the audit is not in the `audits` table.
    """
    data = load_report_data(con, audit, benchmark_areas)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"caseload_audit_{slug(audit)}"
    html_path, xlsx_path = out_dir / f"{stem}.html", out_dir / f"{stem}.xlsx"

    html = render_html(data, weights)
    # Write beside the target and rename over it, so someone opening the report
    # while it is regenerated sees the old or the new file, never half of one.
    with _replacing(html_path) as tmp:
        tmp.write_text(html, encoding="utf-8")
        pause_point("report")
    with _replacing(xlsx_path) as tmp:
        write_workbook(tmp, data, weights)
    return html_path, xlsx_path


class _replacing:
    """Context manager: a temporary path that replaces `target` on success."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __enter__(self) -> Path:
        # The pid in the name lets a later run remove what a killed one left
        # (remove_dead_report_copies).
        fd, name = tempfile.mkstemp(prefix=f".{self.target.name}.{os.getpid()}.",
                                    dir=self.target.parent)
        os.close(fd)
        self.tmp = Path(name)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.tmp.chmod(0o644)  # mkstemp makes it private; a report is for sharing
            os.replace(self.tmp, self.target)
        else:
            self.tmp.unlink(missing_ok=True)


def remove_dead_report_copies(reports_dir: Path) -> None:
    """Remove half-written reports that processes which have since died left
    (a live process's copy is kept: it is about to be renamed into place)."""
    for path in Path(reports_dir).glob("*/.caseload_audit_*"):
        found = _COPY.match(path.name)
        if found and not _alive(int(found.group(1))):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
