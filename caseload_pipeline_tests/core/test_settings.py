"""Settings from the environment (SPEC 8): defaults, and wrong settings exit 2
with a plain message before anything is created."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from caseload_pipeline.core.settings import SettingsError, load_settings
from caseload_pipeline_tests.conftest import Project, new_project


def test_defaults_follow_the_data_folder(tmp_path):
    settings = load_settings({"CASELOAD_DATA_DIR": str(tmp_path / "data")})
    data = (tmp_path / "data").resolve()
    assert settings.data_dir == data
    assert settings.duckdb_path == data / "caseload.duckdb"
    assert settings.dagster_home == data / "dagster_home"
    assert settings.working_db_path == data / ".pipeline" / "working.duckdb"
    assert settings.incoming_dir == data / "incoming"
    assert settings.pseudonym_key is None and settings.first_month is None
    assert settings.lock_timeout == 3600  # a writer waits up to an hour for another
    # the analysts' copy in the format every DuckDB from 1.0 on reads
    assert settings.analyst_storage_version == "v1.0.0"


def test_explicit_settings(tmp_path):
    settings = load_settings({
        "CASELOAD_DATA_DIR": str(tmp_path / "data"),
        "CASELOAD_DUCKDB_PATH": str(tmp_path / "shared" / "adults.duckdb"),
        "CASELOAD_PSEUDONYM_KEY": "x" * 16,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "CASELOAD_FIRST_MONTH": "2019-07",
        "CASELOAD_LOCK_TIMEOUT": "90.5",
        "CASELOAD_ANALYST_STORAGE_VERSION": "v1.4.0",
    })
    assert settings.lock_timeout == 90.5
    assert settings.duckdb_path == (tmp_path / "shared" / "adults.duckdb").resolve()
    assert settings.pseudonym_key == "x" * 16
    assert settings.dagster_home == (tmp_path / "home").resolve()
    assert settings.first_month == "2019-07"
    assert settings.analyst_storage_version == "v1.4.0"
    assert load_settings({"CASELOAD_ANALYST_STORAGE_VERSION": "latest"}
                         ).analyst_storage_version == "latest"


def test_default_data_folder_is_data_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings({}).data_dir == tmp_path.resolve() / "data"


def _folder(project: Project) -> dict[str, str]:
    folder = project.root / "a-folder.duckdb"
    folder.mkdir()
    return {"CASELOAD_DUCKDB_PATH": str(folder)}


def _file_as_data_dir(project: Project) -> dict[str, str]:
    path = project.root / "not-a-folder"
    path.write_text("")
    return {"CASELOAD_DATA_DIR": str(path)}


WRONG = [
    ("duckdb path is a folder", _folder, ["CASELOAD_DUCKDB_PATH=", "is a folder"]),
    ("duckdb path not .duckdb", lambda p: {"CASELOAD_DUCKDB_PATH": str(p.root / "x.db")},
     ["CASELOAD_DUCKDB_PATH=", "must end in .duckdb"]),
    ("short key", lambda p: {"CASELOAD_PSEUDONYM_KEY": "short"},
     ["CASELOAD_PSEUDONYM_KEY", "at least 16 characters"]),
    ("first month not a month", lambda p: {"CASELOAD_FIRST_MONTH": "2019-13"},
     ["CASELOAD_FIRST_MONTH='2019-13'", "2019-07"]),
    ("first month in words", lambda p: {"CASELOAD_FIRST_MONTH": "July 2019"},
     ["CASELOAD_FIRST_MONTH='July 2019'"]),
    ("data folder is a file", _file_as_data_dir, ["CASELOAD_DATA_DIR=", "not a folder"]),
    ("lock timeout in words", lambda p: {"CASELOAD_LOCK_TIMEOUT": "an hour"},
     ["CASELOAD_LOCK_TIMEOUT='an hour'", "seconds"]),
    ("negative lock timeout", lambda p: {"CASELOAD_LOCK_TIMEOUT": "-5"},
     ["CASELOAD_LOCK_TIMEOUT='-5'"]),
    ("storage version before 1.0", lambda p: {"CASELOAD_ANALYST_STORAGE_VERSION": "v0.10.2"},
     ["CASELOAD_ANALYST_STORAGE_VERSION='v0.10.2'", "from v1.0.0 on"]),
    ("storage version not a version", lambda p: {"CASELOAD_ANALYST_STORAGE_VERSION": "1.1"},
     ["CASELOAD_ANALYST_STORAGE_VERSION='1.1'", "v1.0.0", "latest"]),
]


@pytest.mark.parametrize(("make", "words"), [(m, w) for _, m, w in WRONG],
                         ids=[i for i, _, _ in WRONG])
@pytest.mark.parametrize("command", [["materialize", "--month", "2022-05"],
                                     ["validate", "caseload_2022-05.csv"]],
                         ids=["materialize", "validate"])
def test_wrong_settings_exit_2_with_a_plain_message(tmp_path, make, words, command):
    project = new_project(tmp_path, product_instance=True)
    project.write_month("2022-05")
    env = make(project)
    if command[0] == "validate":
        command = ["validate", str(project.incoming / "caseload_2022-05.csv")]

    result = project.cli(*command, **env)

    assert result.code == 2, result.text
    assert result.out == ""
    message = result.err.strip()
    assert message.startswith("caseload: ") and "\n" not in message, result.err
    assert all(word in message for word in words), message
    assert "Traceback" not in result.text
    assert not (project.root / "dagster_home").exists()
    assert not (project.data_dir / ".pipeline").exists()


def test_a_storage_version_duckdb_cannot_write_stops_materialize_before_any_work(tmp_path):
    project = new_project(tmp_path, product_instance=True)
    project.write_month("2022-05")

    result = project.cli("materialize", "--month", "2022-05",
                         CASELOAD_ANALYST_STORAGE_VERSION="v1.99.0")

    assert result.code == 2, result.text
    assert result.err.strip() == (
        "caseload: CASELOAD_ANALYST_STORAGE_VERSION='v1.99.0' is not a version DuckDB "
        f"{duckdb.__version__} can write: give one from v1.0.0 to v{duckdb.__version__}, "
        "or latest")
    assert not (project.root / "dagster_home").exists()
    assert not (project.data_dir / ".pipeline").exists()


def test_settings_error_is_a_settings_error():
    with pytest.raises(SettingsError, match="at least 16"):
        load_settings({"CASELOAD_DATA_DIR": str(Path.cwd()), "CASELOAD_PSEUDONYM_KEY": "k"})
