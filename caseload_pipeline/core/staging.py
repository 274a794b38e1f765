"""Staging: a month's files extracted to parquet, before anything is validated.

The extract step writes `.pipeline/staging/YYYY-MM/` (the text of both files
with their line numbers, and a manifest with file names, hashes, row counts
and any extraction findings). Validation reads it and adds its findings; the
load step reads it again only when validation passed. Nothing here touches
the warehouse, so a bad month can never half-load.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from caseload_pipeline.core.contract import KINDS, expected_names, find_month_files
from caseload_pipeline.core.disk import no_space_left
from caseload_pipeline.core.extract import ExtractedFile, extract_file
from caseload_pipeline.core.findings import ERROR, Finding
from caseload_pipeline.core.months import Month
from caseload_pipeline.core.settings import Settings

LINE = "line"  # the column holding source line numbers in the parquet files


@dataclass
class StagedMonth:
    month: Month
    folder: Path
    files: dict[str, dict] = field(default_factory=dict)  # kind -> name, sha256, rows
    extraction: list[Finding] = field(default_factory=list)  # found while reading the files
    findings: list[Finding] = field(default_factory=list)  # extraction + validation, once run

    def parquet(self, kind: str) -> Path:
        return self.folder / f"{kind}.parquet"

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    def save(self) -> None:
        manifest = {
            "month": str(self.month),
            "files": self.files,
            "extraction": [dataclasses.asdict(f) for f in self.extraction],
            "findings": [dataclasses.asdict(f) for f in self.findings],
        }
        # written beside and renamed: a full disk never leaves half a manifest
        path = self.folder / "manifest.json"
        partial = path.with_name(".manifest.json.partial")
        try:
            partial.write_text(json.dumps(manifest, indent=1))
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    def frame(self, kind: str) -> pd.DataFrame | None:
        path = self.parquet(kind)
        if not path.exists():
            return None
        return pd.read_parquet(path).set_index(LINE).rename_axis(None)


def _finding_from(data: dict) -> Finding:
    data = dict(data)
    data["examples"] = tuple(tuple(e) for e in data.get("examples", ()))
    return Finding(**data)


def read_staged(settings: Settings, month: Month) -> StagedMonth:
    folder = settings.staging_dir / str(month)
    manifest = json.loads((folder / "manifest.json").read_text())
    return StagedMonth(month, folder, manifest["files"],
                       [_finding_from(f) for f in manifest["extraction"]],
                       [_finding_from(f) for f in manifest["findings"]])


def extract_month_files(incoming: Path, month: Month) -> tuple[dict[str, ExtractedFile],
                                                              list[Finding]]:
    """Extract both files of a month; a missing or ambiguous file is a finding."""
    found = find_month_files(incoming, month)
    extracted, findings = {}, []
    for kind in KINDS:
        paths = found.paths[kind]
        names = expected_names(kind, month)
        if not paths:
            findings.append(Finding(
                names[0], f"the month's {kind} file must be present in incoming/",
                ERROR, detail=f"expected {' or '.join(names)} in {incoming}"))
        elif len(paths) > 1:
            findings.append(Finding(
                names[0], "a month must have one file of each kind, CSV or Excel, not both",
                ERROR, detail=f"found {' and '.join(p.name for p in paths)}"))
        else:
            extracted[kind] = extract_file(paths[0], kind)
    return extracted, findings


def stage_month(settings: Settings, month: Month) -> StagedMonth:
    folder = settings.staging_dir / str(month)
    shutil.rmtree(folder, ignore_errors=True)
    extracted, findings = extract_month_files(settings.incoming_dir, month)
    # a full disk leaves no half-written staging behind, and says so in one line
    with no_space_left(f"staging {month}", settings.pipeline_dir, remove=[folder]):
        folder.mkdir(parents=True)
        staged = StagedMonth(month, folder, extraction=findings)
        for kind, file in extracted.items():
            staged.extraction.extend(file.findings)
            if file.readable:
                staged.files[kind] = {"name": file.name, "sha256": file.sha256,
                                      "rows": len(file.frame)}
                file.frame.rename_axis(LINE).reset_index().to_parquet(staged.parquet(kind),
                                                                      index=False)
        staged.findings = list(staged.extraction)
        staged.save()
    return staged


def staged_as_extracted(staged: StagedMonth, kind: str) -> ExtractedFile | None:
    """Turn a staged file back into an ExtractedFile for the validation suites."""
    info = staged.files.get(kind)
    if info is None:
        return None
    return ExtractedFile(path=Path(info["name"]), kind=kind, frame=staged.frame(kind),
                         sha256=info["sha256"])
