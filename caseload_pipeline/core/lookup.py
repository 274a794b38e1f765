"""`caseload lookup WORKER_ID`: a manager who holds the pseudonym key finds one
worker's recent months in the analysts' database.

The worker's key is computed here, in memory, with the same HMAC as the load
(pseudonym.py); the id itself is never written anywhere and the database is
opened read-only. Without a key the lookup refuses, and it never creates a key
file: a new key would match nobody and would be mistaken for the real one later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from caseload_pipeline.core.early_warning import KEY_CHECK_TEXT, SUSTAINED_MONTHS
from caseload_pipeline.core.pseudonym import pseudonym, pseudonym_key
from caseload_pipeline.core.settings import Settings


class LookupRefused(Exception):
    """The lookup cannot be done as asked; `settings_problem` says whether the
    fix is in the settings (no key, wrong key, no database) or the id."""

    def __init__(self, message: str, settings_problem: bool):
        super().__init__(message)
        self.settings_problem = settings_problem


@dataclass
class WorkerMonths:
    months: list[dict]  # newest first: month, team, role, fte, cases, weighted, utilisation, band
    streaks: dict = field(default_factory=dict)  # the latest month's worker_alerts row, if any
    latest_loaded: dt.date | None = None


def lookup_key(settings: Settings) -> bytes:
    """The pseudonym key as the pipeline would use it, without ever creating one."""
    if settings.pseudonym_key:
        return pseudonym_key(settings.pseudonym_key, settings.pseudonym_key_file)
    path = settings.pseudonym_key_file
    if path.is_file() and path.read_text().strip():
        return pseudonym_key(None, path)
    raise LookupRefused(
        "no pseudonym key: set CASELOAD_PSEUDONYM_KEY to the department's key, or "
        f"CASELOAD_PSEUDONYM_KEY_FILE to the key file it is kept in (looked for {path}). "
        "A lookup never creates a key: only the key the data was loaded with finds anyone.",
        settings_problem=True)


def lookup_worker(settings: Settings, worker_id: str, months: int) -> WorkerMonths:
    worker_id = worker_id.strip()  # the load trims ids before hashing them
    if not worker_id:
        raise LookupRefused("give a worker id, as in the staff file", settings_problem=True)
    key = lookup_key(settings)
    path = settings.duckdb_path
    if not path.is_file():
        raise LookupRefused(f"no analysts' database at {path}: run `caseload materialize` "
                            "first, or set CASELOAD_DUCKDB_PATH", settings_problem=True)
    worker_key = pseudonym(key, worker_id)
    with duckdb.connect(str(path), read_only=True) as con:
        _check_key(con, key)
        found = _rows(con, """
            SELECT month, team, role, fte, cases, weighted_caseload, utilisation, band
            FROM worker_monthly WHERE worker_key = ? ORDER BY month DESC LIMIT ?""",
                      [worker_key, months])
        if not found:
            rostered = con.execute("SELECT count(*) FROM staff WHERE worker_key = ?",
                                   [worker_key]).fetchone()[0]
            if rostered:
                raise LookupRefused(
                    f"{worker_id} is on the roster in {rostered} month(s) but never as a "
                    "case-holding worker, so there are no caseload figures", False)
            raise LookupRefused(_not_found(con, worker_id), settings_problem=False)
        latest = con.execute("SELECT max(month) FROM worker_monthly").fetchone()[0]
        streaks = _rows(con, """
            SELECT band, consecutive_months, since_month, above_green_months, above_green_since
            FROM worker_alerts WHERE worker_key = ? AND month = ?""",
                        [worker_key, found[0]["month"]]) if _has_table(con, "worker_alerts") \
            else []
    return WorkerMonths(found, streaks[0] if streaks else {}, latest)


def _check_key(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    if not _has_table(con, "pseudonym_check"):
        return
    stored = {f for (f,) in con.execute("SELECT fingerprint FROM pseudonym_check").fetchall()}
    if stored and pseudonym(key, KEY_CHECK_TEXT) not in stored:
        raise LookupRefused(
            "this pseudonym key is not the one the database was built with, so it finds "
            "nobody: use the department's key (CASELOAD_PSEUDONYM_KEY or the key file)",
            settings_problem=True)


def _not_found(con: duckdb.DuckDBPyConnection, worker_id: str) -> str:
    checked = _has_table(con, "pseudonym_check") and con.execute(
        "SELECT count(*) FROM pseudonym_check").fetchone()[0]
    if checked:
        return (f"no worker {worker_id} in any loaded month (the key is the database's, "
                "so the id is unknown: check it against the staff file)")
    return (f"no worker {worker_id} in any loaded month: the id is unknown, or the key is "
            "not the one the data was loaded with")


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
        [name]).fetchone()[0])


def _rows(con: duckdb.DuckDBPyConnection, query: str, params: list) -> list[dict]:
    result = con.execute(query, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def describe(worker_id: str, found: WorkerMonths) -> list[str]:
    """The lines `caseload lookup` prints: a table, newest month first, then the streak."""
    header = f"{'month':<8} {'team':<34} {'role':<24} {'fte':>4} {'cases':>5} " \
             f"{'weighted':>8} {'of capacity':>11}  band"
    lines = [f"Worker {worker_id}: the last {len(found.months)} month(s) held as a "
             "case-holding worker", header]
    for row in found.months:
        share = "-" if row["utilisation"] is None else f"{100 * row['utilisation']:.0f}%"
        lines.append(
            f"{row['month']:%Y-%m}  {row['team'][:34]:<34} {row['role'][:24]:<24} "
            f"{row['fte']:>4.2g} {row['cases']:>5} {row['weighted_caseload']:>8.1f} "
            f"{share:>11}  {row['band'] or '-'}")
    s = found.streaks
    if s:
        lines.append(f"In {found.months[0]['month']:%Y-%m}: {s['band']} for "
                     f"{s['consecutive_months']} loaded month(s) in a row, since "
                     f"{s['since_month']:%Y-%m}; over green for {s['above_green_months']}, "
                     f"since {s['above_green_since']:%Y-%m}.")
        if s["band"] == "red" and s["consecutive_months"] >= SUSTAINED_MONTHS:
            lines.append(f"Sustained overload: red for {SUSTAINED_MONTHS} months or more.")
    if found.latest_loaded and found.months[0]["month"] < found.latest_loaded:
        lines.append(f"Not a case-holding worker in the latest loaded month "
                     f"({found.latest_loaded:%Y-%m}).")
    return lines
