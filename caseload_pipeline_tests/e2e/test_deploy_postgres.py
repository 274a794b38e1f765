"""The shared-deployment instance (deploy/dagster.yaml): Postgres run, event-log
and schedule storage. A throw-away PostgreSQL cluster is started on a free
127.0.0.1 port (initdb in a temporary folder, as the `postgres` user when this
runs as root), `caseload materialize` backfills two months in it, and the runs
and materializations are read back from Postgres."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from caseload_pipeline_tests.department import write_month, write_reference
from caseload_pipeline_tests.e2e.conftest import PSEUDONYM_KEY, free_port
from caseload_pipeline_tests.external import require_binary

DEPLOY_YAML = Path(__file__).resolve().parents[2] / "deploy" / "dagster.yaml"
MONTHS = ["2023-05", "2023-06"]
PASSWORD = "e2e-pg-password"

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def postgres_bin() -> Path:
    """The folder of initdb and pg_ctl (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]))
    initdb = found[-1] if found else require_binary("initdb")
    return Path(initdb).resolve().parent


@pytest.fixture(scope="module")
def postgres():
    bin_dir = postgres_bin()
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="caseload-pg-"))
    if os.geteuid() == 0:  # postgres refuses to run as root
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            account = None
        if account is None or not shutil.which("runuser"):
            shutil.rmtree(folder)
            require_binary("a postgres user and runuser")  # skips, or fails on CI
        os.chown(folder, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    password_file = folder / "password"
    password_file.write_text(PASSWORD + "\n")
    if as_user:
        os.chown(password_file, account.pw_uid, account.pw_gid)
    port = free_port()
    data = folder / "data"
    pg_ctl = [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "dagster",
                        f"--pwfile={password_file}", "--auth=scram-sha-256", "-E", "UTF8",
                        "--no-sync"], check=True, capture_output=True, timeout=120)
        subprocess.run([*pg_ctl, "-l", str(folder / "server.log"), "-w", "-t", "60",
                        "-o", f"-h 127.0.0.1 -p {port} -k {folder} -F", "start"],
                       check=True, capture_output=True, timeout=90)
        import psycopg2

        con = psycopg2.connect(host="127.0.0.1", port=port, user="dagster", password=PASSWORD,
                               dbname="postgres")
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute("CREATE DATABASE caseload_dagster")
        con.close()
        yield {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port),
               "DAGSTER_PG_DB": "caseload_dagster", "DAGSTER_PG_USERNAME": "dagster",
               "DAGSTER_PG_PASSWORD": PASSWORD}
    except subprocess.CalledProcessError as exc:
        log = folder / "server.log"
        raise AssertionError(f"PostgreSQL did not start: {exc.stderr!r}\n"
                             f"{log.read_text() if log.exists() else ''}") from None
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.usefixtures("ui_starting_meanwhile")
def test_months_backfilled_into_the_postgres_backed_instance(postgres, tmp_path, monkeypatch):
    data, home = tmp_path / "data", tmp_path / "dagster_home"
    write_reference(data)
    for month in MONTHS:
        write_month(data, month)
    home.mkdir()
    shutil.copyfile(DEPLOY_YAML, home / "dagster.yaml")
    env = {**os.environ, **postgres, "CASELOAD_DATA_DIR": str(data), "DAGSTER_HOME": str(home),
           "CASELOAD_PSEUDONYM_KEY": PSEUDONYM_KEY,
           "CASELOAD_PSEUDONYM_KEY_FILE": str(tmp_path / "pseudonym.key")}
    env.pop("CASELOAD_DUCKDB_PATH", None)
    result = subprocess.run(
        [sys.executable, "-m", "caseload_pipeline.cli", "materialize",
         "--from", MONTHS[0], "--to", MONTHS[-1]],
        env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]

    for name, value in postgres.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    from dagster import AssetKey, DagsterInstance, DagsterRunStatus
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    with DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
        runs = {run.job_name: run for run in instance.get_runs()}
        assert set(runs) == {"monthly_job", "audit_job"}
        assert all(run.status == DagsterRunStatus.SUCCESS for run in runs.values())
        month_run = runs["monthly_job"]
        assert month_run.tags["dagster/asset_partition_range_start"] == MONTHS[0]
        assert month_run.tags["dagster/asset_partition_range_end"] == MONTHS[-1]
        for asset in ("allocations", "team_monthly"):
            assert instance.get_materialized_partitions(AssetKey(asset)) == set(MONTHS)
        assert instance.get_latest_materialization_event(AssetKey("audit_comparison"))

    # the history really is in Postgres, not in a SQLite file under DAGSTER_HOME
    import psycopg2

    con = psycopg2.connect(host=postgres["DAGSTER_PG_HOST"], port=postgres["DAGSTER_PG_PORT"],
                           user="dagster", password=PASSWORD, dbname=postgres["DAGSTER_PG_DB"])
    try:
        with con.cursor() as cur:
            cur.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'")
            assert cur.fetchone()[0] == 2
    finally:
        con.close()
    assert list(home.rglob("*.db")) == []
