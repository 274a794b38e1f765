"""Write the audit reports (HTML + Excel) for audits in audits.yaml."""

from __future__ import annotations

from pathlib import Path

import duckdb

from caseload_pipeline.core.benchmarks import read_benchmark_choice
from caseload_pipeline.core.reference import Audit, Reference
from caseload_pipeline.core.report import remove_dead_report_copies, write_audit_report
from caseload_pipeline.core.settings import Settings


def write_reports(con: duckdb.DuckDBPyConnection, settings: Settings, reference: Reference,
                  audits: list[Audit] | None = None) -> list[Path]:
    """Reports for `audits` (default: all) into reports/<slug>/; returns the paths."""
    choice = read_benchmark_choice(settings.reference_dir)
    remove_dead_report_copies(settings.reports_dir)
    paths: list[Path] = []
    for audit in audits or reference.audits:
        paths += write_audit_report(
            con, audit.name, settings.reports_dir / audit.slug,
            weights=reference.weights.as_dict(), benchmark_areas=choice.areas or None)
    return paths


def write_report_for(settings: Settings, reference: Reference, audit_name: str) -> list[Path]:
    """`caseload report`: one audit, from the analysts' published snapshot (read-only,
    so it never competes with a run for the pipeline's working database)."""
    if not settings.duckdb_path.exists():
        raise FileNotFoundError(f"{settings.duckdb_path} does not exist yet: run "
                                "`caseload materialize` first")
    con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    try:
        return write_reports(con, settings, reference, [reference.audit(audit_name)])
    finally:
        con.close()
