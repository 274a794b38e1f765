"""`caseload ui` (run as `python -m caseload_pipeline.cli ui`, as a shell would)
stops like Ctrl-C when it gets SIGTERM from `kill`, and takes its `dagster dev`
with it. The UI itself is exercised end to end in e2e/ (slow); this stops it
while it starts, so it takes seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from caseload_pipeline_tests.conftest import ENV_NAMES, Project
from caseload_pipeline_tests.e2e.conftest import free_port, stop_process_group


def catches(pid: int, signum: int) -> bool:
    """Whether the process has a handler for the signal (SigCgt in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signum - 1)))
    return False


def group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process is left in the process group."""
    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except ProcessLookupError:
            continue
    return False


def test_sigterm_stops_the_ui_and_its_dagster_dev(project: Project, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES} | project.env()
    log = tmp_path / "ui.log"
    with log.open("w") as out:
        ui = subprocess.Popen(
            [sys.executable, "-m", "caseload_pipeline.cli", "ui", "--port", str(free_port())],
            env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True)
    try:
        # Ready once dagster dev is started and the SIGTERM handler installed.
        deadline = time.monotonic() + 120
        while not (psutil.Process(ui.pid).children() and catches(ui.pid, signal.SIGTERM)):
            assert ui.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        dagster_dev = psutil.Process(ui.pid).children()[0]
        assert dagster_dev.cmdline()[1:4] == ["-m", "dagster", "dev"]
        assert log.read_text().startswith("Dagster UI on http://127.0.0.1:")

        # A SIGINT that reaches dagster dev while its interpreter is still
        # starting can be lost (seen when coverage measures subprocesses); a
        # second `kill`, as a person would send, is forwarded again.
        deadline = time.monotonic() + 300
        while True:
            ui.send_signal(signal.SIGTERM)
            try:
                code = ui.wait(timeout=15)
                break
            except subprocess.TimeoutExpired:
                assert time.monotonic() < deadline, log.read_text()
        assert code == 0, log.read_text()
        deadline = time.monotonic() + 60
        while group_alive(ui.pid):
            assert time.monotonic() < deadline, "dagster dev left processes behind"
            time.sleep(0.2)
    finally:
        stop_process_group(ui)
