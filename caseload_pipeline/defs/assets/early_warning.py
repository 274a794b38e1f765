"""Group `early_warning`: workers red or amber month after month (worker_alerts)
and teams heading for red (team_outlook). Like the audit tables they are
computed from every loaded month, so they are unpartitioned and refresh by
themselves after months change; the audit job (and so the CLI) runs them too.

A WARN check on team_outlook names the teams that may enter red within three
months and counts the workers red for three months or more."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from caseload_pipeline.defs.assets.common import (
    derived_table,
    progress,
    reference_or_fail,
    table_metadata,
)
from caseload_pipeline.defs.resources import WAREHOUSE_POOL, CaseloadData

CHECK_NAME = "no_team_heading_for_red"

SPECS = [
    derived_table(
        "worker_alerts", "early_warning",
        "Each case-holding worker's amber and red months, with how many loaded "
        "months in a row they have been in that band (and over green at all) and since "
        "when. Keyed by worker_key only.",
        deps=("worker_monthly",)),
    derived_table(
        "team_outlook", "early_warning",
        "Each team's utilisation projected 1, 2 and 3 months ahead from every "
        "loaded month, with a low-high range from a rolling-origin backtest; a trend is "
        "shown only where it beat 'next month equals this month' (outlook_backtest).",
        deps=("worker_monthly",)),
]

CHECK = AssetCheckSpec(
    CHECK_NAME, asset="team_outlook",
    description="In the latest loaded month, no team that is not red yet has red within its "
    "projected range in the next three months, and no worker has been red for three "
    "months or more. Warns, naming the teams and counting the workers by team and role.")


def build_early_warning_assets():
    @multi_asset(specs=SPECS, check_specs=[CHECK], pool=WAREHOUSE_POOL, can_subset=False)
    def early_warning_tables(caseload_data: CaseloadData):
        from caseload_pipeline.core.early_warning import (
            SUSTAINED_MONTHS,
            early_warning,
            refresh_early_warning,
        )
        from caseload_pipeline.core.outlook import Bands

        reference = reference_or_fail(caseload_data)
        bands = Bands(reference.weights.green, reference.weights.amber)
        warehouse = caseload_data.warehouse()
        with warehouse.connect(reference) as con:
            con.execute("BEGIN TRANSACTION")
            refresh_early_warning(con, bands)
            con.execute("COMMIT")
            warning = early_warning(con)
            alerts = con.execute(
                "SELECT band, count(*) FROM worker_alerts WHERE month = "
                "(SELECT max(month) FROM worker_alerts) GROUP BY band ORDER BY band").fetchall()
        warehouse.publish()
        as_of = f"{warning.as_of:%Y-%m}" if warning.as_of else "no month loaded"
        progress.info("early warning as of %s: %d team(s) may enter red, %d worker(s) red "
                      "for %d+ months", as_of, len(warning.heading_for_red),
                      warning.workers_red_sustained, SUSTAINED_MONTHS)
        yield MaterializeResult(asset_key="worker_alerts", metadata={
            "latest_month": as_of,
            "workers_by_band": table_metadata(alerts, ["band", "workers"])})
        yield MaterializeResult(asset_key="team_outlook", metadata={
            "as_of_month": as_of,
            "method": warning.method or "none",
            "backtest": table_metadata(
                [(b["method"], b["horizon"], b["forecasts"],
                  None if b["mean_absolute_error"] is None
                  else round(100 * b["mean_absolute_error"], 2), str(b["shown"]).lower())
                 for b in warning.backtest],
                ["method", "horizon", "forecasts", "MAE (points)", "shown"])})
        yield _check(warning, SUSTAINED_MONTHS)

    return [early_warning_tables]


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def _check(warning, sustained_months: int) -> AssetCheckResult:
    teams = [t for t in warning.teams if t["may_enter_red"]]
    red = warning.workers_red_sustained
    parts = []
    if teams:
        parts.append("may enter red within 3 months: " + ", ".join(
            f"{t['team']} ({_percent(t['utilisation'])}% now, red possible from "
            f"{t['red_from']:%Y-%m})" for t in teams))
    if red:
        parts.append(f"{red} worker(s) red for {sustained_months}+ months")
    return AssetCheckResult(
        asset_key="team_outlook", check_name=CHECK_NAME, passed=not parts,
        severity=AssetCheckSeverity.WARN,
        description=(f"{warning.as_of:%Y-%m}: " + "; ".join(parts)) if parts else None,
        metadata={
            "as_of_month": MetadataValue.text(f"{warning.as_of:%Y-%m}" if warning.as_of
                                              else "no month loaded"),
            "teams_heading_for_red": MetadataValue.text(
                ", ".join(t["team"] for t in teams) or "none"),
            "workers_red_3_months_or_more": red,
            "teams": table_metadata(
                [(t["team"], _percent(t["utilisation"]), t["band"], t["method"],
                  *[_percent(v) for v in t["projected"]], _percent(t["high"][-1]),
                  f"{t['red_from']:%Y-%m}" if t["red_from"] else None) for t in teams],
                ["team", "% now", "band", "method", "+1 %", "+2 %", "+3 %", "+3 high %",
                 "red possible from"]),
            "sustained_overload": table_metadata(
                [(r["team"], r["role"], r["red_workers"], r["above_green_workers"])
                 for r in warning.sustained],
                ["team", "role", f"red {sustained_months}+ months",
                 f"amber or red {sustained_months}+ months"]),
        })
