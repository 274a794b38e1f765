"""The demo department, checked from the files it writes.

Everything here reads the written files back with pandas and implements the
contract (SPEC 3) and the metric definitions (SPEC 5) on its own, without the
generator's internals, so a generator that merely believes it is right fails.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from caseload_pipeline.core.demo import DemoSummary, default_last_month, write_demo

LAST_MONTH = "2026-03"
PUBLISHED = Path(__file__).parents[2] / "data" / "published_audits.csv"
WEIGHTS = {"low": 2, "medium": 3, "high": 5, "": 3}
RISK = {"low": 0, "medium": 1, "high": 2, "": 1}
TRUE, FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}
CASELOAD_REQUIRED = {"case_id", "worker_id"}
STAFF_REQUIRED = {"worker_id", "team", "role", "fte"}


# -- reading the files as the contract describes them ---------------------------


def _header(name: object) -> str:
    return re.sub(r"[ \-]", "_", str(name).strip().lower())


def _cell(value: object) -> str:
    """A cell as trimmed text; Excel numbers and dates become their plain text."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_file(path: Path) -> pd.DataFrame:
    if path.suffix == ".xlsx":
        raw = pd.read_excel(path, dtype=object, engine="calamine")
    else:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    columns = [_header(c) for c in raw.columns]
    assert len(set(columns)) == len(columns), f"{path.name}: duplicated column"
    frame = raw.map(_cell)
    frame.columns = columns
    return frame


def parse_date(text: str) -> dt.date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            pass
    raise AssertionError(f"not a date: {text!r}")


def names(reference: Path, key: str) -> dict[str, str]:
    """Every name and alias in a reference file -> the canonical name."""
    table = pd.read_csv(reference, dtype=str, keep_default_na=False)
    lookup = {}
    for _, row in table.iterrows():
        for name in [row[key], *row["aliases"].split(";")]:
            if name.strip():
                assert lookup.setdefault(name.strip(), row[key]) == row[key], name
    return lookup


def flag(text: str, default: bool) -> bool:
    text = text.lower()
    if text == "":
        return default
    assert text in TRUE | FALSE, text
    return text in TRUE


class Department:
    """All months of a data folder, with teams and roles resolved."""

    def __init__(self, data_dir: Path):
        self.dir = data_dir
        self.teams = names(data_dir / "reference" / "teams.csv", "team")
        self.roles = names(data_dir / "reference" / "roles.csv", "role")
        roles = pd.read_csv(data_dir / "reference" / "roles.csv")
        self.capacity = dict(zip(roles["role"], roles["capacity_points_per_fte"], strict=True))
        self.raw: dict[tuple[str, str], pd.DataFrame] = {}
        self.paths: dict[tuple[str, str], Path] = {}
        for path in sorted((data_dir / "incoming").iterdir()):
            kind, month = path.stem.split("_")
            assert (kind, month) not in self.paths, f"both csv and xlsx for {path.stem}"
            self.paths[(kind, month)] = path
            self.raw[(kind, month)] = read_file(path)
        self.months = sorted({m for _, m in self.raw})
        staff, cases = [], []
        for month in self.months:
            s = self.raw[("staff", month)].copy()
            s["month"] = month
            s["team"] = s["team"].map(self.teams)
            s["role"] = s["role"].map(self.roles)
            s["fte"] = s["fte"].astype(float)
            s["case_holding"] = [flag(v, True) for v in s.get("case_holding", [""] * len(s))]
            s["protected"] = [flag(v, False) for v in s.get("protected_caseload", [""] * len(s))]
            staff.append(s)
            c = self.raw[("caseload", month)].copy()
            c["month"] = month
            c["team"] = c["team"].map(self.teams)
            cases.append(c)
        self.staff = pd.concat(staff, ignore_index=True)
        self.cases = pd.concat(cases, ignore_index=True)

    def worker_months(self) -> pd.DataFrame:
        """Case-holding rostered workers per month with their allocation count."""
        holding = self.staff[self.staff["case_holding"]]
        counts = self.cases.groupby(["month", "worker_id"]).size().rename("cases")
        table = holding.join(counts, on=["month", "worker_id"])
        table["cases"] = table["cases"].fillna(0).astype(int)
        return table

    def audit_average(self, dimension: str, first: str, last: str) -> pd.Series:
        """SPEC 5: mean over the window's months of cases / workers, by team or role."""
        table = self.worker_months()
        window = table[(table["month"] >= first) & (table["month"] <= last)]
        monthly = window.groupby([dimension, "month"])["cases"].agg(["sum", "size"])
        return (monthly["sum"] / monthly["size"]).groupby(level=0).mean()


def half_up(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, DemoSummary]:
    data_dir = tmp_path_factory.mktemp("demo")
    return data_dir, write_demo(data_dir, LAST_MONTH)


@pytest.fixture(scope="module")
def department(generated) -> Department:
    return Department(generated[0])


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    return pd.read_csv(PUBLISHED, dtype={"avg_caseload": str})


# -- the published figures -----------------------------------------------------------


def test_every_published_figure_is_reproduced(department, published):
    assert len(published) == 39
    misses = []
    for _, row in published.iterrows():
        averages = department.audit_average(row["dimension"], row["first_month"], row["last_month"])
        lookup = department.teams if row["dimension"] == "team" else department.roles
        value = averages[lookup[row["name_as_published"]]]
        if (
            half_up(value) != Decimal(row["avg_caseload"])
            or abs(value - float(row["avg_caseload"])) > 0.02
        ):
            misses.append((row["audit"], row["name_as_published"], row["avg_caseload"], value))
    assert not misses


def test_audit_windows_hold_exactly_the_published_teams(department, published):
    table = department.worker_months()
    for audit, rows in published[published["dimension"] == "team"].groupby("audit"):
        first, last = rows["first_month"].iloc[0], rows["last_month"].iloc[0]
        expected = {department.teams[n] for n in rows["name_as_published"]}
        for month in department.months:
            if first <= month <= last:
                present = set(table.loc[table["month"] == month, "team"])
                assert present == expected, (audit, month)


def test_change_since_2019_20_follows_the_published_summary(department, published):
    lineage = pd.read_csv(department.dir / "reference" / "team_lineage.csv")
    now = department.audit_average("team", "2022-07", "2023-06")
    before = department.audit_average("team", "2019-07", "2019-09")
    directions = {}
    for _, row in lineage[lineage["from_audit"] == "2023/24"].iterrows():
        change = now[row["team"]] - before[row["predecessor"]]
        directions[row["team"]] = (
            "increased" if change >= 0.05 else "decreased" if change <= -0.05 else "same"
        )
    increased = {"Hospital Discharge Team", "Occupational Therapy Team"}
    assert {t for t, d in directions.items() if d == "increased"} == increased
    assert all(d == "decreased" for t, d in directions.items() if t not in increased)
    assert len(directions) == 7


# -- the contract ----------------------------------------------------------------------


def test_every_month_is_written(generated, department):
    _, summary = generated
    assert summary.first_month == "2019-07" and summary.last_month == LAST_MONTH
    assert department.months == list(summary.months_written)
    assert len(department.months) == 81  # 2019-07 .. 2026-03
    assert {k for k, _ in department.paths} == {"caseload", "staff"}


def test_files_keep_the_contract(department):
    previous_rows = None
    for month in department.months:
        first = dt.date.fromisoformat(f"{month}-01")
        end = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        staff = department.raw[("staff", month)]
        cases = department.raw[("caseload", month)]
        where = month
        assert set(staff.columns) >= STAFF_REQUIRED and set(cases.columns) >= CASELOAD_REQUIRED
        assert len(staff) and len(cases), where
        assert (staff["worker_id"] != "").all() and staff["worker_id"].is_unique, where
        assert staff["team"].isin(department.teams).all(), where
        assert staff["role"].isin(department.roles).all(), where
        fte = staff["fte"].astype(float)
        assert ((fte > 0) & (fte <= 1)).all(), where
        assert (cases["case_id"] != "").all() and (cases["worker_id"] != "").all(), where
        assert not cases.duplicated(["case_id", "worker_id"]).any(), where
        for column in ("complexity", "risk"):
            assert cases[column].str.lower().isin(["low", "medium", "high", ""]).all(), where
        travel = cases.loc[cases["travel_minutes"] != "", "travel_minutes"]
        assert travel.str.fullmatch(r"\d+").all() and travel.astype(int).between(0, 600).all()
        assert cases["team"].isin(department.teams).all(), where
        snapshot = {parse_date(v) for v in cases["snapshot_date"].unique()}
        assert all(first <= d <= end for d in snapshot), where
        allocated = {parse_date(v) for v in cases["allocated_on"].unique()}
        assert max(allocated) <= end, where
        assert cases.groupby("worker_id").size().max() <= 60, where
        if previous_rows:
            assert abs(len(cases) - previous_rows) / previous_rows <= 0.5, where
        previous_rows = len(cases)


def test_files_vary_as_real_extracts_do(department):
    paths = department.paths
    raw_bytes = {key: path.read_bytes() for key, path in paths.items() if path.suffix == ".csv"}
    assert any(b.startswith(b"\xef\xbb\xbf") and b"\r\n" in b for b in raw_bytes.values())
    assert any(path.suffix == ".xlsx" for (kind, _), path in paths.items() if kind == "staff")
    assert any(path.suffix == ".xlsx" for (kind, _), path in paths.items() if kind == "caseload")
    first_lines = {b.lstrip(b"\xef\xbb\xbf").split(b"\n")[0] for b in raw_bytes.values()}
    assert any(b"Worker ID" in line for line in first_lines)
    assert any(b"Case Note" in line for line in first_lines)
    assert any(re.search(rb",\d\d/\d\d/20\d\d,", b) for b in raw_bytes.values())
    assert (department.cases["team"].isna()).sum() == 0
    cares = department.raw[("caseload", "2023-01")]["team"]
    assert (cares == "Cares Team").any()


def test_workbooks_hold_numbers_and_dates_as_excel_would(department):
    staff = openpyxl.load_workbook(department.paths[("staff", "2025-01")], read_only=True)
    header, *rows = staff.active.iter_rows(values_only=True)
    fte = [row[header.index("FTE")] for row in rows]
    assert all(isinstance(value, int | float) for value in fte)
    cases = openpyxl.load_workbook(department.paths[("caseload", "2021-09")], read_only=True)
    header, *rows = cases.active.iter_rows(values_only=True)
    assert all(isinstance(row[header.index("allocated_on")], dt.datetime) for row in rows)
    travel = {type(row[header.index("travel_minutes")]) for row in rows}
    assert travel == {int, type(None)} or travel == {float, type(None)}


# -- determinism -----------------------------------------------------------------------


def _contents(data_dir: Path) -> dict[str, bytes]:
    """Every file's bytes; workbooks too, as their creation date is fixed."""
    return {
        str(path.relative_to(data_dir)): path.read_bytes()
        for path in sorted(data_dir.rglob("*"))
        if path.is_file()
    }


@pytest.mark.slow  # writes the whole demo again
def test_two_runs_write_the_same_files(generated, tmp_path):
    # A separate interpreter with another hash seed: nothing may depend on set order.
    code = ("import sys; from caseload_pipeline.core.demo import write_demo;"
            " write_demo(*sys.argv[1:])")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path), LAST_MONTH], check=True, env=env)
    first, second = _contents(generated[0]), _contents(tmp_path)
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


@pytest.mark.slow  # writes the whole demo again
def test_earlier_months_do_not_depend_on_the_last_month(generated, tmp_path):
    write_demo(tmp_path, "2024-02")
    later, earlier = _contents(generated[0]), _contents(tmp_path)
    assert len(earlier) == 8 + 2 * 56
    assert [k for k in earlier if earlier[k] != later[k]] == []


def test_existing_files_are_kept_unless_overwrite(tmp_path):
    first = write_demo(tmp_path, "2019-09")
    assert first.months_written == ("2019-07", "2019-08", "2019-09")
    assert len(first.files_written) == 8 + 6
    staff = tmp_path / "incoming" / "staff_2019-08.csv"
    staff.write_text("edited by hand\n")
    (tmp_path / "incoming" / "caseload_2019-09.csv").unlink()
    (tmp_path / "incoming" / "staff_2019-09.csv").unlink()
    again = write_demo(tmp_path, "2019-10")
    assert again.months_written == ("2019-09", "2019-10")
    assert again.months_skipped == ("2019-07", "2019-08")
    assert str(again) == "2 months written (2019-07 to 2019-10, 2 months already there), 4 files"
    assert staff.read_text() == "edited by hand\n"
    assert write_demo(tmp_path, "2019-10", overwrite=True).months_written[1] == "2019-08"
    assert staff.read_text() != "edited by hand\n"


def test_default_last_month_is_the_last_complete_month():
    assert default_last_month(dt.date(2026, 11, 25)) == "2026-10"
    assert default_last_month(dt.date(2025, 1, 1)) == "2024-12"
    for wrong in ("2019-7", "2019-06"):
        with pytest.raises(ValueError):
            write_demo(Path("unused"), wrong)


# -- realism -----------------------------------------------------------------------


def test_teams_look_like_teams(department):
    staff = department.staff
    holding = staff[staff["case_holding"]].groupby(["month", "team"]).size()
    assert holding.between(3, 15).all()
    managers = staff[~staff["case_holding"]]
    assert (managers["role"] == "Team manager").all()
    assert (managers.groupby(["month", "team"]).size() == 1).all()
    assert len(managers.groupby(["month", "team"])) == len(holding)
    assert not department.cases["worker_id"].isin(managers["worker_id"]).any()
    per_month = staff[staff["case_holding"]].groupby("month").size()
    assert per_month.min() >= 75 and per_month.max() <= 150
    part_time = (staff.loc[staff["case_holding"], "fte"] < 1).mean()
    assert 0.2 <= part_time <= 0.5
    assert staff["protected"].any()


def test_workers_come_and_go(department):
    table = department.worker_months()
    assert (table["cases"] == 0).sum() >= 40  # new starters
    assert table["cases"].max() <= 55
    rosters = table.groupby("month")["worker_id"].apply(set)
    leavers = [len(a - b) for a, b in zip(rosters.iloc[:-1], rosters.iloc[1:], strict=True)]
    assert sum(leavers) >= 60


def test_cases_carry_over_close_and_move(department):
    cases = department.cases
    by_month = cases.groupby("month")
    ids = by_month["case_id"].apply(set)
    carried = [len(b & a) / len(b) for a, b in zip(ids.iloc[:-1], ids.iloc[1:], strict=True)]
    assert min(carried) >= 0.55 and max(carried) <= 0.9
    co_allocated = by_month.apply(lambda m: m["case_id"].duplicated(keep=False).mean())
    assert co_allocated.between(0.005, 0.05).all()
    reasons = cases.loc[cases["reassignment_reason"] != "", "reassignment_reason"]
    assert set(reasons) == {"MANAGE", "LEFTRL", "ORGRST", "ABSENC"}
    for column, low, high in (("complexity", 0.02, 0.15), ("travel_minutes", 0.05, 0.35)):
        assert low <= (cases[column] == "").mean() <= high, column
    staff_ids = department.staff.groupby("month")["worker_id"].apply(set)
    unrostered = by_month.apply(lambda m: (~m["worker_id"].isin(staff_ids[m.name])).sum())
    assert 3 <= (unrostered > 0).sum() <= 20 and unrostered.max() <= 5


def test_reassignment_is_higher_where_the_audit_says(department):
    # SPEC 5: (case, worker) in M is reassigned when the case was open in M-1
    # and the worker was not one of its workers then.
    cases = department.cases[["month", "case_id", "worker_id", "team", "reassignment_reason"]]
    following = dict(zip(department.months, department.months[1:], strict=False))
    before = cases.assign(month=cases["month"].map(following)).dropna(subset=["month"])
    open_before = before[["month", "case_id"]].drop_duplicates().assign(was_open=True)
    held_before = before[["month", "case_id", "worker_id"]].assign(held=True)
    flagged = cases.merge(open_before, how="left", on=["month", "case_id"]).merge(
        held_before, how="left", on=["month", "case_id", "worker_id"]
    )
    flagged["reassigned"] = flagged["was_open"].eq(True) & flagged["held"].isna()
    window = flagged[(flagged["month"] >= "2022-07") & (flagged["month"] <= "2023-06")]
    busy = window["team"].isin(["Hospital Discharge Team", "Occupational Therapy Team"])
    assert window.loc[busy, "reassigned"].mean() > 2 * window.loc[~busy, "reassigned"].mean()
    assert 0.02 <= window.loc[~busy, "reassigned"].mean() <= 0.08
    # The case system gives a reason exactly where a case changed hands.
    later = flagged[flagged["month"] > department.months[0]]
    assert (later["reassigned"] == (later["reassignment_reason"] != "")).all()


def weighted_worker_months(department) -> pd.DataFrame:
    """worker_months with weighted caseload and capacity (SPEC 5, default weights)."""
    cases = department.cases.copy()
    travel = pd.to_numeric(cases["travel_minutes"]).fillna(0)
    cases["weight"] = (
        cases["complexity"].str.lower().map(WEIGHTS)
        + cases["risk"].str.lower().map(RISK)
        + (travel // 30).clip(upper=3)
    )
    weighted = cases.groupby(["month", "worker_id"])["weight"].sum().rename("weighted")
    table = department.worker_months().join(weighted, on=["month", "worker_id"])
    table["weighted"] = table["weighted"].fillna(0)
    capacity = table["role"].map(department.capacity) * table["fte"]
    table["capacity"] = capacity.where(~table["protected"], capacity * 0.9)
    return table


def test_capacity_bands_are_mostly_green(department):
    table = weighted_worker_months(department)
    utilisation = table["weighted"] / table["capacity"]
    band = pd.cut(utilisation, [-1, 1.0, 1.1, float("inf")], labels=["green", "amber", "red"])
    share = band.value_counts(normalize=True)
    assert share["green"] >= 0.6 and 0.07 <= share["amber"] <= 0.2 and 0.03 <= share["red"] <= 0.2
    busy = table["team"].isin(["Hospital Discharge Team", "Occupational Therapy Team"])
    assert (band[busy] == "red").mean() > 2 * (band[~busy] == "red").mean()


def test_one_team_drifts_towards_red_across_2024_25(department):
    # The early warning's case (department.PRESSURE_DRIFT): the LD Promoting
    # Independence Team's work gets heavier through the window while its caseload
    # counts (and so the published figures above) stay as published.
    table = weighted_worker_months(department)
    team = table.groupby(["team", "month"])[["weighted", "capacity"]].sum()
    utilisation = (team["weighted"] / team["capacity"]).unstack("month")

    def mean(name: str, months: list[str]) -> float:
        return float(utilisation.loc[name, months].mean())

    start, end = ["2024-08", "2024-09", "2024-10"], ["2025-05", "2025-06", "2025-07"]
    drifting = "LD Promoting Independence Team"
    assert mean(drifting, start) < 0.9
    assert 1.0 < mean(drifting, end) <= 1.1  # amber at the end of the window
    assert mean(drifting, ["2025-09", "2025-10", "2025-11"]) > 1.1  # red after it
    for flat in ("Locality Integrated Team North", "Promoting Independence Team"):
        assert abs(mean(flat, end) - mean(flat, start)) < 0.06, flat
