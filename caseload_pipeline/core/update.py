"""One run's work on its months: extract, validate, load, reassign, compute metrics.

This is the unit a monthly Dagster run (and so the CLI, the schedule, the sensor
and a UI backfill) executes. Months stand on their own:

* a month with no file in `incoming/` is skipped, with the reason;
* a month that breaks a blocking rule is refused: its findings are stored in
  `data_quality`, nothing of it is loaded;
* every other month is loaded, and the months that passed land together with
  their reassignment and metrics in one transaction, so a crash leaves the
  warehouse as it was before the run.

Reassignment in month M depends on M-1, so loading M also recomputes the
reassignment and metrics of M+1 when M+1 is loaded and not itself in the run;
those months are returned as `refreshed`, so the caller can report them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from caseload_pipeline.core.completeness import RowsNotLoaded
from caseload_pipeline.core.contract import KINDS, expected_names, files_by_month
from caseload_pipeline.core.findings import Finding
from caseload_pipeline.core.load import load_validated
from caseload_pipeline.core.metrics import refresh_metrics
from caseload_pipeline.core.months import Month
from caseload_pipeline.core.pause import pause_point
from caseload_pipeline.core.reference import Reference
from caseload_pipeline.core.staging import stage_month
from caseload_pipeline.core.validate import record_findings, validate_staged_months
from caseload_pipeline.core.warehouse import Warehouse

LOADED, REFUSED, SKIPPED = "loaded", "refused", "skipped"

# The CLI prints this logger's records as progress lines; Dagster shows them too.
progress = logging.getLogger("caseload_pipeline.progress")
# Marks a line about one month of the run: they come in bursts, one per month.
ONE_MONTH = {"one_month": True}


@dataclass
class MonthResult:
    month: Month
    status: str  # LOADED, REFUSED or SKIPPED
    findings: list[Finding] = field(default_factory=list)
    files: dict[str, dict] = field(default_factory=dict)  # kind -> name, sha256, rows
    reason: str | None = None  # why a month was skipped

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning" and not f.passed]


@dataclass
class UpdateResult:
    months: list[MonthResult]
    refreshed: list[Month]  # loaded months after the run's, reassignment and metrics redone

    def with_status(self, status: str) -> list[MonthResult]:
        return [m for m in self.months if m.status == status]


def update_months(warehouse: Warehouse, reference: Reference, months: Sequence[Month],
                  run_id: str) -> UpdateResult:
    from caseload_pipeline.core.validation import gx_runner

    gx_runner.preload()  # imported while the files are extracted
    settings = warehouse.settings
    results: dict[Month, MonthResult] = {}
    incoming = files_by_month(settings.incoming_dir)
    for month in months:
        if month not in incoming:
            expected = " and ".join(expected_names(k, month)[0] for k in KINDS)
            results[month] = MonthResult(month, SKIPPED,
                                         reason=f"no files in incoming/ (expected {expected})")
            progress.info("%s: skipped, %s", month, results[month].reason, extra=ONE_MONTH)
            continue
        staged = stage_month(settings, month, run_id, incoming[month])  # the run's own
        files = ", ".join(f"{v['name']} ({v['rows']} rows)" for v in staged.files.values())
        progress.info("%s: extracted %s", month, files or "no readable file",
                      extra=ONE_MONTH)

    present = [m for m in months if m not in results]
    with warehouse.connect(reference) as con:
        for staged in validate_staged_months(con, settings, reference, present, run_id):
            status = REFUSED if staged.blocking else LOADED
            results[staged.month] = MonthResult(staged.month, status, staged.findings,
                                                staged.files)
            progress.info("%s: validated, %d blocking, %d warnings", staged.month,
                          len(staged.blocking), len(results[staged.month].warnings),
                          extra=ONE_MONTH)
        _release_validation_memory(sum(info["rows"] for r in results.values()
                                       for info in r.files.values()))
        good = [m for m in months if results[m].status == LOADED]
        refreshed: list[Month] = []
        while good:
            con.execute("BEGIN TRANSACTION")
            try:
                load_validated(con, settings, good, run_id)
                pause_point("loaded")
                progress.info("loaded %d month(s): %s", len(good), ", ".join(map(str, good)))
                refreshed = _loaded_followers(con, good)
                refresh_metrics(con, good)  # and each month after, as reassignment does
                con.execute("COMMIT")
                break
            except RowsNotLoaded as lost:
                # A join lost (or repeated) validated rows: those months are refused
                # like a validation failure, and the others are loaded without them.
                con.execute("ROLLBACK")
                good = _refuse_incomplete(con, [results[m] for m in good], lost.findings)
            except BaseException:
                con.execute("ROLLBACK")
                raise
        if good or any(r.status == REFUSED for r in results.values()):
            # the loaded months, or why months were refused; under the same lock,
            # so the copy is exactly the state this run left
            published = warehouse.publish(con)
            progress.info("metrics refreshed for %d month(s); published %s",
                          len(good) + len(refreshed), published)
    return UpdateResult([results[m] for m in months], refreshed)


def _refuse_incomplete(con, loading: list[MonthResult], problems: list[Finding]
                       ) -> list[Month]:
    """Mark the months whose files `problems` name as refused, store their findings
    in data_quality, and return the months still to load."""
    refused = {}
    for result in loading:
        mine = [f for f in problems if f.file in {i["name"] for i in result.files.values()}]
        if mine:
            result.status, result.findings = REFUSED, [*result.findings, *mine]
            refused[result.month] = result.findings
    record_findings(con, refused)
    return [r.month for r in loading if r.status == LOADED]


def _loaded_followers(con, months: Sequence[Month]) -> list[Month]:
    """Months right after one of `months`, loaded earlier and not in `months`: their
    reassignment (and so their metrics) depend on the month before."""
    after = sorted({m.next() for m in months} - set(months))
    if not after:
        return []
    rows = con.execute(
        "SELECT DISTINCT month FROM load_log WHERE month IN (SELECT unnest(?::DATE[]))",
        [[m.first_day for m in after]]).fetchall()
    return sorted(Month(d.year, d.month) for (d,) in rows)


# From this many rows, the load needs memory enough for the GX worker's (about
# 300 MB) to count: it is stopped first. Below, it stays for the process's next
# validation (a test session's many runs), as an import of GX would.
BIG_LOAD_ROWS = 100_000


def _release_validation_memory(rows: int) -> None:
    """Free what extraction and validation held before the load of `rows` rows."""
    from caseload_pipeline.core.extract import close_reader
    from caseload_pipeline.core.validation import gx_runner
    from caseload_pipeline.core.validation.distinct import close_database

    close_reader()
    close_database()
    gx_runner.release(stop_worker=rows >= BIG_LOAD_ROWS)
