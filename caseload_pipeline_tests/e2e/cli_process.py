"""`caseload` run as a separate process (its own process group), optionally
stopped at a pause point of the pipeline (core/pause.py), so a test can kill
it there with SIGKILL, or let it go on after doing something meanwhile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class CliProcess:
    def __init__(self, args: list[str], env: dict[str, str], workdir: Path,
                 pause_in: str | None = None, name: str = "cli"):
        self.marker = workdir / f"{name}.paused"
        self.log_path = workdir / f"{name}.log"
        self.marker.unlink(missing_ok=True)
        full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        full_env.pop("CASELOAD_TEST_PAUSE_IN", None)
        if pause_in:
            full_env["CASELOAD_TEST_PAUSE_IN"] = pause_in
            full_env["CASELOAD_TEST_PAUSE_MARKER"] = str(self.marker)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "caseload_pipeline.cli", *args], env=full_env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for(self, what: str, check, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"caseload exited ({self.process.returncode}) before "
                                     f"{what}:\n{self.output}")
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.output}")

    def wait_paused(self, timeout: float = 180.0) -> str:
        self.wait_for("its pause point", self.marker.exists, timeout)
        return self.marker.read_text().split()[0]

    def wait_for_output(self, text: str, timeout: float = 180.0) -> None:
        self.wait_for(repr(text), lambda: text in self.output, timeout)

    def resume(self) -> None:
        self.marker.unlink()

    def kill(self) -> None:
        """SIGKILL the whole process group, as `kill -9` or the OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def wait(self, timeout: float = 300.0) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"caseload did not finish in {timeout:.0f} s:\n"
                                 f"{self.output}") from None
