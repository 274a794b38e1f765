"""Every odd file gets a message, never a traceback (issue 8, item 8): names
that are not a month, old Mac line ends, UTF-16 and other encodings, files with
thousands of columns, and a full disk."""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from caseload_pipeline.core.contract import months_with_files, skipped_files
from caseload_pipeline.core.extract import extract_file
from caseload_pipeline.core.months import parse_month
from caseload_pipeline_tests import department as dep
from caseload_pipeline_tests.conftest import (
    Project,
    assert_same_tables,
    new_project,
    read_tables,
)

MAY, JUNE = "2022-05", "2022-06"


# --- names that are not months -----------------------------------------------------------

def test_a_name_that_is_not_a_month_is_skipped_with_its_reason(tmp_path: Path):
    incoming = tmp_path / "incoming"
    dep.write_month(tmp_path, MAY)
    for name in ("caseload_2023-13.csv", "staff_2023-00.xlsx", "caseload_2023-6.csv",
                 "caseload_2023-06.txt", "~$caseload_2023-06.xlsx", ".staff_2023-06.csv",
                 "notes.txt"):
        (incoming / name).write_text("case_id,worker_id\n")

    assert months_with_files(incoming) == {parse_month(MAY)}
    assert [s.message for s in skipped_files(incoming)] == [
        "caseload_2023-06.txt: the file name must be like caseload_2023-06.csv or "
        "staff_2023-06.xlsx (only .csv and .xlsx files are read, not .txt: save it as CSV "
        "UTF-8 or .xlsx); the file is skipped",
        "caseload_2023-13.csv: the file name must be like caseload_2023-06.csv or "
        "staff_2023-06.xlsx (2023-13 is not a month: months run from 01 to 12); the file is "
        "skipped",
        "caseload_2023-6.csv: the file name must be like caseload_2023-06.csv or "
        "staff_2023-06.xlsx (the month must follow the kind as YYYY-MM, e.g. "
        "caseload_2023-06.csv); the file is skipped",
        "staff_2023-00.xlsx: the file name must be like caseload_2023-06.csv or "
        "staff_2023-06.xlsx (2023-00 is not a month: months run from 01 to 12); the file is "
        "skipped",
    ]


def test_materialize_all_warns_about_a_stray_file_and_goes_on(project: Project):
    project.write_month(MAY)
    (project.incoming / "caseload_2023-13.csv").write_text("case_id,worker_id\nC1,W1\n")

    result = project.materialize("--all")

    assert result.code == 0, result.text
    assert "Traceback" not in result.text
    assert any(line.startswith("Warning: caseload_2023-13.csv: ") and "2023-13 is not a month"
               in line for line in result.lines), result.text
    with duckdb.connect(str(project.analyst_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM staff").fetchone() == (5,)


def test_validate_names_a_file_that_is_not_a_month(project: Project, tmp_path: Path):
    path = tmp_path / "caseload_2023-13.csv"
    path.write_text(",".join(dep.CASELOAD_HEADER) + "\n")

    result = project.cli("validate", str(path))

    assert result.code == 1, result.text
    assert "Traceback" not in result.text
    assert "ERROR: caseload_2023-13.csv: the file name must be like caseload_2023-06.csv"\
        " or staff_2023-06.xlsx: 2023-13 is not a month: months run from 01 to 12"\
        in result.lines, result.text


def test_the_sensor_goes_on_past_a_stray_file(tmp_path: Path):
    import dagster as dg

    from caseload_pipeline.core.settings import load_settings
    from caseload_pipeline.defs import build_definitions
    from caseload_pipeline.defs.resources import CaseloadData
    from caseload_pipeline.defs.sensors import SENSOR_NAME

    data = tmp_path / "data"
    dep.write_reference(data)
    dep.write_month(data, "2023-06")
    (data / "incoming" / "caseload_2023-13.csv").write_text("case_id,worker_id\n")
    for path in (data / "incoming").iterdir():  # copied long ago
        os.utime(path, (1_600_000_000, 1_600_000_000))
    settings = load_settings({"CASELOAD_DATA_DIR": str(data)})
    repo = build_definitions(settings).get_repository_def()
    with dg.instance_for_test() as instance, dg.build_sensor_context(
            instance=instance, repository_def=repo,
            resources={"caseload_data": CaseloadData.from_settings(settings)}) as context:
        result = repo.get_sensor_def(SENSOR_NAME).evaluate_tick(context)
    assert [r.partition_key for r in result.run_requests] == ["2023-06"]


# --- line ends, encodings, width -----------------------------------------------------------

def _csv_bytes(header: list[str], rows: list[list], newline: bytes) -> bytes:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    return newline.join(line.encode() for line in lines) + newline


@pytest.mark.parametrize("newline", [b"\r", b"\r\n", b"\n"], ids=["CR", "CRLF", "LF"])
def test_old_mac_line_ends_read_like_any_other(tmp_path: Path, newline: bytes):
    path = tmp_path / "caseload_2022-05.csv"
    rows = dep.caseload_rows(MAY)
    path.write_bytes(_csv_bytes(dep.CASELOAD_HEADER, rows, newline))

    extracted = extract_file(path, "caseload")

    assert extracted.findings == []
    frame = extracted.frame
    assert list(frame.index) == list(range(2, 2 + len(rows)))
    assert frame["case_id"].tolist() == [r[0] for r in rows]
    assert frame.loc[9, "team"] == "Review Team"


def test_mixed_line_ends_keep_their_line_numbers(tmp_path: Path):
    path = tmp_path / "caseload_2022-05.csv"
    rows = dep.caseload_rows(MAY)
    rows[3][4] = "extreme"  # line 5
    lines = [",".join(dep.CASELOAD_HEADER).encode()] + [",".join(r).encode() for r in rows]
    # LF, then CR LF, then CR alone, then a blank line: as pasted together by hand
    data = b"\n".join(lines[:3]) + b"\r\n" + b"\r\n".join(lines[3:6]) + b"\r" \
        + b"\r".join(lines[6:8]) + b"\n\n" + lines[8] + b"\n"
    path.write_bytes(data)

    frame = extract_file(path, "caseload").frame

    assert list(frame.index) == [2, 3, 4, 5, 6, 7, 8, 10]
    assert frame.loc[5, "complexity"] == "extreme"
    assert frame.loc[10, "case_id"] == "C7"


@pytest.mark.parametrize(("encoding", "words"), [
    ("utf-16", "UTF-16 text (what Excel's 'Unicode Text' saves)"),
    ("utf-16-le", "UTF-16 text"),
    ("utf-16-be", "UTF-16 text"),
    ("utf-32", "UTF-32 text"),
    ("cp1252", "line 3 is not UTF-8 text (it looks like Windows-1252 / Latin-1 text"),
])
def test_other_encodings_are_named_with_the_fix(project: Project, tmp_path: Path, encoding,
                                                 words):
    rows = [list(r) for r in dep.STAFF]
    rows[1][1] = "Caf\u00e9 Team"
    text = "\t".join(dep.STAFF_HEADER) if encoding.startswith("utf-16") else None
    lines = [text or ",".join(dep.STAFF_HEADER)] + [
        ("\t" if text else ",").join(r) for r in rows]
    path = tmp_path / "staff_2022-05.csv"
    path.write_bytes("\r\n".join(lines).encode(encoding))
    dep.write_csv(tmp_path / "caseload_2022-05.csv", dep.CASELOAD_HEADER,
                  dep.caseload_rows(MAY))

    result = project.cli("validate", str(path), str(tmp_path / "caseload_2022-05.csv"))

    assert result.code == 1, result.text
    assert "Traceback" not in result.text
    [message] = [line for line in result.lines if line.startswith("ERROR: staff_2022-05.csv")]
    assert "the file must be readable" in message and words in message, message
    assert "save it from Excel as 'CSV UTF-8" in message, message
    assert "binary" not in message


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_file_separated_otherwise_is_named_as_such(tmp_path: Path, separator, name):
    path = tmp_path / "staff_2022-05.csv"
    path.write_text("\n".join(separator.join(r) for r in [dep.STAFF_HEADER, *dep.STAFF]))
    [finding] = extract_file(path, "staff").findings
    assert finding.message == (
        f"staff_2022-05.csv: the file must be readable: line 1 (the header) is separated by "
        f"{name}, not commas: save it from Excel as 'CSV UTF-8 (Comma delimited) (*.csv)'")


def test_an_excel_workbook_named_csv_is_named_as_such(tmp_path: Path):
    workbook = dep.write_xlsx(tmp_path / "book.xlsx", dep.STAFF_HEADER, dep.STAFF)
    path = tmp_path / "staff_2022-05.csv"
    path.write_bytes(workbook.read_bytes())
    [finding] = extract_file(path, "staff").findings
    assert "an Excel workbook (or another zip file) named .csv" in finding.message


@pytest.mark.parametrize(("change", "words"), [
    (lambda data: data[:len(data) // 2], "the Excel workbook cannot be read: it is damaged or "
     "cut short (open it in Excel and save it again)"),
    (lambda data: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + data[8:],
     "the file is an old Excel 97-2003 workbook (.xls) named .xlsx"),
    (lambda data: b"worker_id,team\nW1,Review Team\n", "the file is not an Excel workbook"),
], ids=["cut short", "xls", "csv"])
def test_a_workbook_that_cannot_be_read_says_why(tmp_path: Path, change, words):
    path = dep.write_xlsx(tmp_path / "staff_2022-05.xlsx", dep.STAFF_HEADER, dep.STAFF)
    path.write_bytes(change(path.read_bytes()))
    [finding] = extract_file(path, "staff").findings
    assert finding.message.startswith("staff_2022-05.xlsx: the file must be readable: ")
    assert words in finding.message, finding.message


def test_thousands_of_columns_name_a_few_and_count_the_rest(tmp_path: Path):
    header = dep.STAFF_HEADER + [f"Extra {n}" for n in range(5000)]
    rows = [row + ["x"] * 5000 for row in dep.STAFF]
    path = dep.write_csv(tmp_path / "staff_2022-05.csv", header, rows)

    extracted = extract_file(path, "staff")

    assert [f.message for f in extracted.findings] == [
        "staff_2022-05.csv: extra columns are ignored and not loaded: Extra 0, Extra 1, "
        "Extra 2, Extra 3, Extra 4, Extra 5, Extra 6, Extra 7, Extra 8, Extra 9 and 4,990 more"]
    assert list(extracted.frame.columns) == dep.STAFF_HEADER
    assert extracted.frame["worker_id"].tolist() == [r[0] for r in dep.STAFF]


# --- a full disk -----------------------------------------------------------------------------

@contextmanager
def small_disk(mount_point: Path, size: str = "16m"):
    """A real filesystem of `size` at `mount_point` (a tmpfs; needs root, as on
    this machine): writes there fail with ENOSPC once it is full."""
    mount_point.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(mount_point)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def fill(folder: Path, leave: int) -> Path:
    """Fill the filesystem holding `folder` but for `leave` bytes; returns the filler."""
    stats = os.statvfs(folder)
    filler = folder / "filler.bin"
    with filler.open("wb") as f:
        f.write(b"\0" * max(0, stats.f_bavail * stats.f_frsize - leave))
    return filler


def leftovers(*folders: Path) -> list[str]:
    """Half-written files: temporary copies and partial manifests."""
    return sorted(p.name for folder in folders for p in folder.rglob("*")
                  if p.name.endswith((".tmp", ".partial")))


@pytest.fixture(scope="module")
def roomy_tables(tmp_path_factory) -> dict:
    """May and June loaded on a disk with room: what the runs below must end with."""
    project = new_project(tmp_path_factory.mktemp("roomy"))
    project.write_month(MAY)
    project.write_month(JUNE, caseload=dep.reassignment_rows(JUNE))
    assert project.materialize("--from", MAY, "--to", JUNE).code == 0
    return read_tables(project.analyst_path, exclude_columns=("checked_at", "loaded_at",
                                                              "run_id"))


@pytest.mark.slow  # three runs per case, on a mounted filesystem
@pytest.mark.parametrize(("full", "leave", "step"), [
    ("data", 0, "staging 2022-06"),
    ("data", 300_000, "writing the working database"),
    ("analyst", 0, "publishing the analysts' database"),
], ids=["while staging", "while loading", "while publishing"])
def test_a_full_disk_is_one_plain_line_and_leaves_nothing_behind(tmp_path, roomy_tables, full,
                                                                 leave, step):
    root = tmp_path / "project"
    analyst = tmp_path / "analyst" / "caseload.duckdb"
    with small_disk(root / "data" if full == "data" else analyst.parent) as disk:
        project = new_project(root)
        env = {"CASELOAD_DUCKDB_PATH": str(analyst)}
        project.write_month(MAY)
        assert project.cli("materialize", "--month", MAY, **env).code == 0
        before = read_tables(analyst)
        project.write_month(JUNE, caseload=dep.reassignment_rows(JUNE))
        filler = fill(disk, leave)

        result = project.cli("materialize", "--month", JUNE, **env)

        assert result.code == 1, result.text
        assert "Traceback" not in result.text and "Errno" not in result.text, result.text
        failed = result.lines.index(next(line for line in result.lines
                                         if line.startswith("Run ") and "failed" in line))
        assert result.lines[failed + 1:] == [
            f"the disk is full: {step} needs more space in "
            f"{project.data_dir / '.pipeline' if full == 'data' else analyst.parent}; free "
            "some space there and run again (nothing was loaded or published by this step)"]
        assert leftovers(project.data_dir, analyst.parent) == []
        assert_same_tables(before, read_tables(analyst))

        filler.unlink()  # space freed: the same command now does the whole job
        assert project.cli("materialize", "--month", JUNE, **env).code == 0
        assert_same_tables(roomy_tables, read_tables(
            analyst, exclude_columns=("checked_at", "loaded_at", "run_id")))
        assert leftovers(project.data_dir, analyst.parent) == []
