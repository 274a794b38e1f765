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
    """Create DAGSTER_HOME with our dagster.yaml and point this process at it, so
    runs land in the same history as the UI's.

    Our dagster.yaml goes only into a new or empty DAGSTER_HOME: an instance
    already there (a plain `dagster dev` over its own folder, a deployment)
    keeps its configuration, with or without a dagster.yaml. Processes of one
    instance that disagree about pool limits break Dagster's own pool
    bookkeeping (a run fails with an IntegrityError from
    `_reconcile_concurrency_limits_from_slots`, a step waits for ever); the
    working database's lock does not need the pool anyway."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    in_use = any(entry.name != "workspace.yaml" for entry in home.iterdir())
    if not in_use:
        with resources.as_file(resources.files(__package__) / "dagster.yaml") as template:
            shutil.copyfile(template, config)
    workspace = home / "workspace.yaml"
    if not workspace.exists():
        workspace.write_text(WORKSPACE)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
