"""`caseload lookup` and `caseload outlook-backtest`: the early warning's two
commands. Both read the analysts' database read-only and write nothing."""

from __future__ import annotations

import sys

from caseload_pipeline.core.settings import Settings

EXIT_OK, EXIT_NOT_FOUND, EXIT_SETTINGS = 0, 1, 2


def lookup(settings: Settings, worker_id: str, months: int) -> int:
    """Exit 0 with the worker's months; 1 when no month holds that id; 2 when the
    key is missing or is not the database's, or there is no database."""
    from caseload_pipeline.core.lookup import LookupRefused, describe, lookup_worker

    try:
        found = lookup_worker(settings, worker_id, months)
    except LookupRefused as exc:
        print(f"caseload lookup: {exc}", file=sys.stderr)
        return EXIT_SETTINGS if exc.settings_problem else EXIT_NOT_FOUND
    print("\n".join(describe(worker_id.strip(), found)))
    return EXIT_OK


def outlook_backtest(settings: Settings) -> int:
    """The rolling-origin backtest of the team outlook on every loaded month."""
    import duckdb

    from caseload_pipeline.core import outlook as ol
    from caseload_pipeline.core.early_warning import team_series

    if not settings.duckdb_path.is_file():
        print(f"caseload outlook-backtest: no analysts' database at {settings.duckdb_path}: "
              "run `caseload materialize` (or `caseload demo`) first", file=sys.stderr)
        return EXIT_SETTINGS
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        series = team_series(con)
    months = sorted({m for history in series.values() for m in history})
    if not months:
        print("caseload outlook-backtest: no loaded months", file=sys.stderr)
        return EXIT_NOT_FOUND
    judged = ol.scores(ol.backtest(series))
    shown = ol.shown_method(judged)
    print(f"Team utilisation, projected from every loaded month in turn "
          f"({ol.month_date(months[0]):%Y-%m} to {ol.month_date(months[-1]):%Y-%m}, "
          f"{len(months)} months, {len(series)} teams).")
    print("Mean absolute error, in percentage points of capacity:")
    print(f"{'method':<16}" + "".join(f"{f'+{h} month' + ('s' if h > 1 else ''):>12}"
                                      for h in ol.HORIZONS)
          + f"{'forecasts (+1)':>16}")
    for method in ol.METHODS:
        cells = []
        for horizon in ol.HORIZONS:
            score = judged.get((method, horizon))
            cells.append(f"{100 * score.mean_absolute_error:>12.2f}" if score else f"{'-':>12}")
        count = judged[(method, 1)].forecasts if (method, 1) in judged else 0
        print(f"{method:<16}" + "".join(cells) + f"{count:>16}")
    if shown == ol.NAIVE:
        print("Shown in team_outlook: naive. No other method beat \"next month equals this "
              "month\" at +1 and +3 months on this history.")
    else:
        print(f"Shown in team_outlook: {shown}, which beat naive at +1 and +3 months.")
    return EXIT_OK
