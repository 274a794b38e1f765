"""The `caseload` command (SPEC 8).

Exit codes: 0 done, 1 data failed validation or a run failed, 2 wrong usage
or settings. Data problems are printed as messages, never as stack traces.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import gc
import logging
import sys
from pathlib import Path

from caseload_pipeline.core.months import Month, last_complete_month, parse_month
from caseload_pipeline.core.problems import PipelineProblem
from caseload_pipeline.core.settings import Settings, SettingsError, load_settings

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


def _print_messages(title: str, messages: list[str]) -> None:
    print(title, file=sys.stderr)
    for message in messages:
        print(f"  {message}", file=sys.stderr)


def _show_progress() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    log = logging.getLogger("caseload_pipeline.progress")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _reference_or_exit(settings: Settings):
    from caseload_pipeline.core.reference import ReferenceDataError, load_reference

    try:
        return load_reference(settings.reference_dir)
    except ReferenceDataError as exc:
        _print_messages("Reference files are wrong:", exc.problems)
        raise SystemExit(EXIT_DATA) from None


def months_to_run(args, settings: Settings) -> list[Month]:
    from caseload_pipeline.core.contract import months_with_files, skipped_files
    from caseload_pipeline.defs.partitions import first_month

    first, last = first_month(settings), last_complete_month()
    try:
        if args.month:
            months = [parse_month(args.month)]
        elif args.all:
            for skipped in skipped_files(settings.incoming_dir):
                print(f"Warning: {skipped.message}", file=sys.stderr)
            with_files = months_with_files(settings.incoming_dir)
            months = [m for m in first.range_to(last) if m in with_files]
            if not months:
                raise UsageError(f"no monthly files in {settings.incoming_dir}")
            return months
        else:
            if not (args.from_month and args.to_month):
                raise UsageError("give --month, --from and --to, or --all")
            months = parse_month(args.from_month).range_to(parse_month(args.to_month))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not months:
        raise UsageError("--from must not be after --to")
    if months[0] < first or months[-1] > last:
        raise UsageError(f"months run from {first} to {last} (the last complete month)")
    return months


def materialize(settings: Settings, months: list[Month]) -> int:
    from caseload_pipeline.cli.runs import open_instance, run_audit, run_months

    _reference_or_exit(settings)
    _show_progress()
    span = str(months[0]) if len(months) == 1 else f"{months[0]} to {months[-1]}"
    print(f"Materializing {span} ({len(months)} month(s)) in one run...", file=sys.stderr)
    with open_instance(settings) as instance:
        months_run = run_months(settings, instance, months)
        if not months_run.success:
            _print_messages(f"Run {months_run.run_id} failed:", months_run.messages)
            if not months_run.loaded:
                return EXIT_DATA
            # Months stand on their own: the ones that passed are loaded, so the
            # audit tables and reports still follow them.
            print(f"Loaded despite that: {', '.join(months_run.loaded)}", file=sys.stderr)
        print("Refreshing the audit tables and reports...", file=sys.stderr)
        audit_run = run_audit(settings, instance)
    if not audit_run.success:
        _print_messages(f"Run {audit_run.run_id} failed:", audit_run.messages)
        return EXIT_DATA
    print(f"Done. Analysts' database: {settings.duckdb_path}", file=sys.stderr)
    return EXIT_OK if months_run.success else EXIT_DATA


def _start_validating() -> None:
    """Start the Great Expectations worker now: it imports GX in its own process,
    on the other core, while this one imports Dagster and starts the run."""
    from caseload_pipeline.core.validation import gx_runner

    gx_runner.preload()


def validate(settings: Settings, files: list[Path]) -> int:
    from caseload_pipeline.core.validate import validate_paths

    findings = validate_paths(settings, files, _reference_or_exit(settings))
    shown = [f for f in findings if not f.passed]
    for finding in shown:
        print(f"{finding.severity.upper()}: {finding.message}")
    blocking = [f for f in findings if f.blocking]
    print(f"{len(files)} file(s) checked: {len(blocking)} blocking problem(s), "
          f"{sum(f.severity == 'warning' for f in shown)} warning(s)")
    return EXIT_DATA if blocking else EXIT_OK


def demo(settings: Settings) -> int:
    from caseload_pipeline.core.demo import write_demo
    from caseload_pipeline.core.report.summary import print_findings

    summary = write_demo(settings.data_dir)
    print(f"Demo department in {settings.data_dir}: {summary}", file=sys.stderr)
    code = materialize(settings, months_to_run(
        argparse.Namespace(month=None, all=True, from_month=None, to_month=None), settings))
    if code == EXIT_OK:
        print_findings(settings)
    return code


def rebuild(settings: Settings, from_files: bool) -> int:
    """Set a damaged working database aside and build a new one, from the
    analysts' copy or from the files in incoming/."""
    from caseload_pipeline.core.recovery import rebuild_from_snapshot, start_empty

    _show_progress()
    if from_files:
        months = months_to_run(
            argparse.Namespace(month=None, all=True, from_month=None, to_month=None), settings)
        done = start_empty(settings, "caseload rebuild")
        if done.set_aside:
            print(f"The old working database is set aside as {done.set_aside}.",
                  file=sys.stderr)
        return materialize(settings, months)
    done = rebuild_from_snapshot(settings, "caseload rebuild")
    if done.set_aside:
        print(f"The old working database is set aside as {done.set_aside} (delete it "
              "when you no longer need it).", file=sys.stderr)
    print(f"Rebuilt {settings.working_db_path} from {settings.duckdb_path}: "
          f"{done.months} month(s).", file=sys.stderr)
    if done.differing:
        listed = ", ".join(str(m) for m in done.differing)
        print(f"The files in incoming/ for {listed} are not what it holds: run "
              "`caseload materialize` for those months (or --all).", file=sys.stderr)
    return EXIT_OK


def report(settings: Settings, audit: str) -> int:
    from caseload_pipeline.core.report.writer import write_report_for

    reference = _reference_or_exit(settings)
    if reference.audit(audit) is None:
        names = ", ".join(a.name for a in reference.audits)
        raise UsageError(f"no audit {audit!r} in audits.yaml (there are: {names})")
    for path in write_report_for(settings, reference, audit):
        print(path)
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="caseload", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="write the demo department, run every month and audit")
    m = sub.add_parser("materialize", help="run months, then the audit tables and reports")
    which = m.add_mutually_exclusive_group()
    which.add_argument("--month", help="one month, e.g. 2023-06")
    which.add_argument("--all", action="store_true", help="every month that has files")
    m.add_argument("--from", dest="from_month", help="first month of a range")
    m.add_argument("--to", dest="to_month", help="last month of a range")
    v = sub.add_parser("validate", help="check files against the contract, load nothing")
    v.add_argument("files", nargs="+", type=Path)
    r = sub.add_parser("report", help="(re)write an audit's report and print its path")
    r.add_argument("--audit", required=True, help='e.g. "2023/24"')
    k = sub.add_parser("lookup", help="one worker's recent months (needs the pseudonym key)")
    k.add_argument("worker_id", metavar="WORKER_ID", help="the id in the staff file")
    k.add_argument("--months", type=int, default=12, help="how many months (default 12)")
    sub.add_parser("outlook-backtest",
                   help="how well the team outlook would have done on the loaded months")
    b = sub.add_parser("rebuild", help="rebuild a damaged working database from the "
                                       "analysts' copy (or from incoming/)")
    b.add_argument("--from-files", action="store_true",
                   help="start empty and run every month with files in incoming/")
    q = sub.add_parser("sql", help="run a query on the analysts' database (read-only) and "
                                   "print the result")
    q.add_argument("query", help='e.g. "SELECT * FROM team_monthly"')
    q.add_argument("--max-rows", type=int, default=40,
                   help="longest result printed in full (default 40)")
    u = sub.add_parser("ui", help="start the Dagster UI and daemon on 127.0.0.1")
    u.add_argument("--port", type=int, default=3000)
    return p


@functools.cache  # once per process
def _skip_the_last_collection() -> None:
    """At exit, Python's last garbage collection walks every object Dagster, GX and
    pandas made (about a second, after the work is done). Frozen objects are left
    to the operating system instead; every file and database is closed by then."""
    atexit.register(gc.freeze)


def main(argv: list[str] | None = None) -> int:
    _skip_the_last_collection()
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
        if args.command in ("demo", "materialize"):
            from caseload_pipeline.core.warehouse import check_storage_version

            check_storage_version(settings.analyst_storage_version)
        if args.command in ("materialize", "validate", "demo") or (
                args.command == "rebuild" and args.from_files):
            _start_validating()
        if args.command == "demo":
            return demo(settings)
        if args.command == "materialize":
            if (args.month or args.all) and (args.from_month or args.to_month):
                raise UsageError("--from/--to cannot be combined with --month or --all")
            return materialize(settings, months_to_run(args, settings))
        if args.command == "validate":
            return validate(settings, args.files)
        if args.command == "report":
            return report(settings, args.audit)
        if args.command in ("lookup", "outlook-backtest"):
            from caseload_pipeline.cli import early_warning

            if args.command == "outlook-backtest":
                return early_warning.outlook_backtest(settings)
            if args.months < 1:
                raise UsageError("--months must be 1 or more")
            return early_warning.lookup(settings, args.worker_id, args.months)
        if args.command == "rebuild":
            return rebuild(settings, args.from_files)
        if args.command == "sql":
            from caseload_pipeline.cli.sql import run_query

            return run_query(settings, args.query, args.max_rows)
        from caseload_pipeline.cli.ui import ui

        return ui(settings, args.port)
    except (SettingsError, UsageError) as exc:
        print(f"caseload: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PipelineProblem as exc:  # a lock not freed in time, a damaged database
        print(f"caseload: {exc}", file=sys.stderr)
        return EXIT_DATA


