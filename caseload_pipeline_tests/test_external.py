"""A program the tests need from the system (Chromium, PostgreSQL) is found
under any of its names on PATH; when none is there the test is skipped on a
developer's machine and fails in CI, so CI never passes by skipping."""

from __future__ import annotations

import pytest

from caseload_pipeline_tests.external import require_binary

MISSING = ("caseload-no-such-browser", "caseload-no-such-browser-either")


def test_the_first_name_found_on_path_is_used(tmp_path, monkeypatch):
    program = tmp_path / "chromium-browser"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))

    assert require_binary("chromium", "chromium-browser", "google-chrome") == str(program)


def test_missing_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="none of caseload-no-such-browser"):
        require_binary(*MISSING)


def test_missing_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must provide it"):
        require_binary(*MISSING)
