"""Pseudonymisation (SPEC 6): raw ids never reach the DuckDB files, the SQL
HMAC equals Python's, and without a key in the environment a key file is
created once with mode 0600."""

from __future__ import annotations

import hashlib
import hmac
import stat

import duckdb
import pytest

from caseload_pipeline.core.pseudonym import (
    default_key_file,
    pseudonym,
    pseudonym_key,
    sql_macro,
)
from caseload_pipeline_tests import department as dep
from caseload_pipeline_tests.conftest import CARERS_WORKER, Project, disguise

RAW_CASES = sorted({r[0] for r in disguise(dep.caseload_rows("2023-05")
                                           + dep.reassignment_rows("2023-06"))}
                   | {"CASEREF-4471-C10"})
RAW_WORKERS = sorted({r[0] for r in disguise([list(r) for r in dep.STAFF] + [CARERS_WORKER],
                                             columns=(0,))} | {"WKRREF-8812-W9"})
SHORT_IDS = [raw.rsplit("-", 1)[1] for raw in RAW_CASES + RAW_WORKERS]  # C1 ... W9


def _key(project: Project) -> bytes:
    return project.key_file.read_bytes().strip()


def _text_columns(con) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'main' AND data_type = 'VARCHAR' ORDER BY ALL").fetchall()


def test_the_scenario_ran(audit_project):
    with duckdb.connect(str(audit_project.analyst_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM allocations").fetchone()[0] == 8 + 11
        refused = con.execute(
            "SELECT message FROM data_quality WHERE month = DATE '2023-07-01' AND NOT passed"
            " AND severity = 'error'").fetchall()
    assert refused == [("caseload_2023-07.csv: each case_id and worker_id pair must appear only"
                        " once (column case_id, worker_id): 2 rows, lines 2, 10",)]
    assert len(RAW_CASES) == 10 and len(RAW_WORKERS) == 7


@pytest.mark.parametrize("which", ["analyst", "working"])
def test_no_raw_id_in_any_text_column(audit_project, which):
    path = audit_project.analyst_path if which == "analyst" else audit_project.working_path
    found = []
    with duckdb.connect(str(path), read_only=True) as con:
        columns = _text_columns(con)
        assert ("allocations", "case_key") in columns and ("data_quality", "message") in columns
        for table, column in columns:
            values = {v for (v,) in con.execute(
                f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'
            ).fetchall()}
            found += [(table, column, raw) for raw in RAW_CASES + RAW_WORKERS
                      for value in values if raw in value]
            found += [(table, column, raw) for raw in SHORT_IDS if raw in values]
    assert found == []


@pytest.mark.parametrize("which", ["analyst", "working"])
def test_no_raw_id_or_key_in_the_file_bytes(audit_project, which):
    path = audit_project.analyst_path if which == "analyst" else audit_project.working_path
    data = path.read_bytes()
    key = _key(audit_project)
    # The search can see stored text: every pseudonym of a worker is in the file.
    for raw in RAW_WORKERS:
        assert pseudonym(key, raw).encode() in data
    assert [raw for raw in RAW_CASES + RAW_WORKERS if raw.encode() in data] == []
    assert key not in data and key.hex().encode() not in data


def test_keys_in_the_warehouse_are_hmacs_of_the_ids(audit_project):
    key = _key(audit_project)
    with duckdb.connect(str(audit_project.analyst_path), read_only=True) as con:
        workers = {w for (w,) in con.execute("SELECT DISTINCT worker_key FROM allocations")
                   .fetchall()}
        cases = {c for (c,) in con.execute("SELECT DISTINCT case_key FROM allocations")
                 .fetchall()}
        roster = {w for (w,) in con.execute("SELECT DISTINCT worker_key FROM staff").fetchall()}
    expected = {raw: hmac.new(key, raw.encode(), hashlib.sha256).hexdigest()
                for raw in RAW_CASES + RAW_WORKERS}
    assert cases == {expected[c] for c in RAW_CASES}
    assert workers == {expected[w] for w in RAW_WORKERS if not w.endswith("-W4")}
    assert roster == {expected[w] for w in RAW_WORKERS if not w.endswith("-W9")}


def test_key_file_created_with_mode_0600_when_no_key_is_set(audit_project):
    assert "CASELOAD_PSEUDONYM_KEY" not in audit_project.env()
    mode = stat.S_IMODE(audit_project.key_file.stat().st_mode)
    assert mode == 0o600
    assert len(_key(audit_project)) == 64  # 32 random bytes, hex


def test_key_file_is_created_once_and_reused(tmp_path):
    path = tmp_path / "config" / "caseload" / "pseudonym.key"
    assert default_key_file({"CASELOAD_PSEUDONYM_KEY_FILE": str(path)}) == path
    assert default_key_file({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "caseload_pipeline" / "pseudonym.key")
    assert not path.exists()
    first = pseudonym_key(None, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pseudonym_key(None, path) == first == path.read_bytes().strip()
    # a key in the environment wins and leaves the file alone
    assert pseudonym_key("an-environment-key-123", path) == b"an-environment-key-123"
    assert path.read_bytes().strip() == first


@pytest.mark.parametrize("key", [
    b"sixteen-chars-ok",
    b"k" * 64,  # exactly one block
    b"a-key-longer-than-the-sha256-block-size-is-hashed-first-" * 3,
    "clé-secrète-ünïcode-✓".encode(),
])
def test_sql_hmac_equals_python_hmac(key):
    values = ["W1", "C1", "", "a much longer identifier " * 10, "Zoë-ñ-✓", "00123", " W1 "]
    with duckdb.connect() as con:
        con.execute(sql_macro(key))
        got = [con.execute("SELECT pseudonym(?)", [v]).fetchone()[0] for v in values]
        vectorised = con.execute(
            "SELECT list(pseudonym(v) ORDER BY i) FROM (SELECT unnest(?) AS v,"
            " generate_subscripts(?, 1) AS i)", [values, values]).fetchone()[0]
    expected = [hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in values]
    assert got == expected == vectorised
    assert [pseudonym(key, v) for v in values] == expected
