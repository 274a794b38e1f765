"""The Dagster code location: `workspace.yaml`, `dg` ([tool.dg] in
pyproject.toml) and `caseload ui` all load `defs` from here."""

from caseload_pipeline.core.settings import load_settings
from caseload_pipeline.defs import build_definitions

defs = build_definitions(load_settings())
