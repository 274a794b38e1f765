"""The Dagster instance (DAGSTER_HOME) that the CLI and the UI share."""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

from caseload_pipeline.core.settings import Settings

WORKSPACE = """load_from:
  - python_module:
      module_name: caseload_pipeline.definitions
      location_name: caseload_pipeline
"""


def prepare_dagster_home(settings: Settings) -> Path:
    """Create DAGSTER_HOME with our dagster.yaml (never overwriting a user's) and
    point this process at it, so runs land in the same history as the UI's."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        with resources.as_file(resources.files(__package__) / "dagster.yaml") as template:
            shutil.copyfile(template, config)
    workspace = home / "workspace.yaml"
    if not workspace.exists():
        workspace.write_text(WORKSPACE)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
