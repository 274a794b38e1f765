"""The one resource the assets share: where the department's data lives."""

from __future__ import annotations

import os

from dagster import ConfigurableResource

from caseload_pipeline.core.settings import Settings, load_settings

# Every asset that writes the working database runs in this pool; the
# instance limits it to one step at a time (dagster.yaml), because DuckDB
# allows a single writing process.
WAREHOUSE_POOL = "caseload_warehouse"


class CaseloadData(ConfigurableResource):
    """The data folder and analyst database, from the environment (SPEC 8)."""

    data_dir: str
    duckdb_path: str

    def settings(self) -> Settings:
        return load_settings(
            {**os.environ, "CASELOAD_DATA_DIR": self.data_dir,
             "CASELOAD_DUCKDB_PATH": self.duckdb_path}
        )

    # Imported on use: they pull in pandas and DuckDB, which the code location
    # does not need to load (the UI answers sooner).
    def reference(self):
        from caseload_pipeline.core.reference import load_reference

        return load_reference(self.settings().reference_dir)

    def warehouse(self):
        from caseload_pipeline.core.warehouse import Warehouse

        return Warehouse(self.settings())

    @classmethod
    def from_settings(cls, settings: Settings) -> CaseloadData:
        return cls(data_dir=str(settings.data_dir), duckdb_path=str(settings.duckdb_path))
