"""The one resource the assets, schedule and sensors share: the department's
settings (SPEC 8), as resource config rather than read from the environment
inside the run, so the UI shows them and every run sees the same values."""

from __future__ import annotations

from dagster import ConfigurableResource, EnvVar

from caseload_pipeline.core.settings import Settings, load_settings

# Every asset that writes the working database runs in this pool. It only
# orders the UI's queue (cli/dagster.yaml sets its limit to 1); what keeps
# writers apart whatever launched them is the warehouse's own lock.
WAREHOUSE_POOL = "caseload_warehouse"


class CaseloadData(ConfigurableResource):
    """Where the department's data lives, and the pseudonym key."""

    data_dir: str
    duckdb_path: str
    pseudonym_key_file: str
    # EnvVar in the definitions, so the UI shows the variable's name, never the key
    pseudonym_key: str | None = None
    first_month: str | None = None
    analyst_storage_version: str | None = None

    def settings(self) -> Settings:
        values = {
            "CASELOAD_DATA_DIR": self.data_dir,
            "CASELOAD_DUCKDB_PATH": self.duckdb_path,
            "CASELOAD_PSEUDONYM_KEY_FILE": self.pseudonym_key_file,
            "CASELOAD_PSEUDONYM_KEY": self.pseudonym_key,
            "CASELOAD_FIRST_MONTH": self.first_month,
            "CASELOAD_ANALYST_STORAGE_VERSION": self.analyst_storage_version,
        }
        return load_settings({name: value for name, value in values.items() if value})

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
        return cls(
            data_dir=str(settings.data_dir),
            duckdb_path=str(settings.duckdb_path),
            pseudonym_key_file=str(settings.pseudonym_key_file),
            pseudonym_key=EnvVar("CASELOAD_PSEUDONYM_KEY") if settings.pseudonym_key else None,
            first_month=settings.first_month,
            analyst_storage_version=settings.analyst_storage_version,
        )
