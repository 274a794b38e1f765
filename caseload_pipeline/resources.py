"""The one resource the assets share: where the department's data lives."""

from __future__ import annotations

import os

from dagster import ConfigurableResource

from caseload_pipeline.reference import Reference, load_reference
from caseload_pipeline.settings import Settings, load_settings
from caseload_pipeline.warehouse import Warehouse

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

    def reference(self) -> Reference:
        return load_reference(self.settings().reference_dir)

    def warehouse(self) -> Warehouse:
        return Warehouse(self.settings())

    @classmethod
    def from_settings(cls, settings: Settings) -> CaseloadData:
        return cls(data_dir=str(settings.data_dir), duckdb_path=str(settings.duckdb_path))
