"""`caseload ui`: the Dagster webserver and daemon on 127.0.0.1, over this
project's persistent instance (DAGSTER_HOME)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from caseload_pipeline.cli.instance import prepare_dagster_home
from caseload_pipeline.core.settings import Settings


def ui(settings: Settings, port: int) -> int:
    """Run `dagster dev` for this project until Ctrl-C or SIGTERM; its exit code."""
    home = prepare_dagster_home(settings)
    env = {**os.environ, "CASELOAD_DATA_DIR": str(settings.data_dir),
           "CASELOAD_DUCKDB_PATH": str(settings.duckdb_path), "DAGSTER_HOME": str(home)}
    command = [sys.executable, "-m", "dagster", "dev", "-w", str(home / "workspace.yaml"),
               "-h", "127.0.0.1", "-p", str(port)]
    print(f"Dagster UI on http://127.0.0.1:{port} (instance {home}); Ctrl-C stops it.",
          file=sys.stderr)
    # Started in the background by a shell, this process (and so dagster dev)
    # would ignore SIGINT; dagster dev shuts its services down on SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    process = subprocess.Popen(command, env=env)
    stopping = False

    def stop(signum, frame):  # `kill` stops it as Ctrl-C does, leaving no orphans
        nonlocal stopping
        stopping = True
        process.send_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, stop)
    while True:
        try:
            code = process.wait()
            return 0 if stopping else code
        except KeyboardInterrupt:
            # Ctrl-C reached dagster dev too: wait while it stops the webserver,
            # the daemon and the code server
            stopping = True
