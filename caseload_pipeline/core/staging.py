"""Staging: a month's files extracted to parquet, before anything is validated.

Staging belongs to a run: the extract step writes
`.pipeline/staging/<run id>/YYYY-MM/` (the text of both files with their line
numbers, and a manifest with file names, hashes, row counts and any extraction
findings), so another run of the same month never replaces what this run
validated. Validation reads it, adds its findings and records the hash of
each staged file it read; the load step loads a month only when validation
passed and the staged files still have those hashes. Nothing here touches the
warehouse, so a bad month can never half-load.

Each source file is copied into staging before it is read, and the copy is
hashed and read, so the sha256 that load_log records is that of the bytes
that were loaded, even if the file in incoming/ is replaced meanwhile.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from caseload_pipeline.core.contract import (
    KINDS,
    MonthFiles,
    expected_names,
    find_month_files,
    sha256_of,
)
from caseload_pipeline.core.disk import no_space_left
from caseload_pipeline.core.extract import ExtractedFile, stage_file
from caseload_pipeline.core.findings import ERROR, Finding
from caseload_pipeline.core.months import Month
from caseload_pipeline.core.pause import pause_point
from caseload_pipeline.core.problems import PipelineProblem
from caseload_pipeline.core.settings import Settings


class NotStaged(PipelineProblem):
    """The load was asked for a month this run did not extract and validate."""


class StagedFileChanged(PipelineProblem):
    """A staged file is not what validation read."""


def run_staging_dir(settings: Settings, run_id: str) -> Path:
    return settings.staging_dir / run_id


@dataclass
class StagedMonth:
    month: Month
    folder: Path
    # kind -> name, sha256 (of the source bytes), rows, staged_sha256 (of the parquet)
    files: dict[str, dict] = field(default_factory=dict)
    extraction: list[Finding] = field(default_factory=list)  # found while reading the files
    findings: list[Finding] = field(default_factory=list)  # extraction + validation, once run
    validated: dict[str, str] = field(default_factory=dict)  # kind -> staged sha256 validated

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
            "validated": self.validated,
        }
        # written beside and renamed: a full disk never leaves half a manifest
        path = self.folder / "manifest.json"
        partial = path.with_name(".manifest.json.partial")
        try:
            partial.write_text(json.dumps(manifest, indent=1))
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    def check_validated(self, kind: str) -> Path:
        """The staged parquet of `kind`, after making sure it is what validation
        read; StagedFileChanged names the file otherwise."""
        name = self.files[kind]["name"]
        expected = self.validated.get(kind)
        if expected is None:
            raise StagedFileChanged(
                f"{name}: {self.month} was not validated in this run, so it is not "
                "loaded. Run the month again.")
        actual = sha256_of(self.parquet(kind))
        if actual != expected:
            raise StagedFileChanged(
                f"{name}: the staged copy of this file changed after it was validated "
                f"(sha256 {expected[:12]}... validated, {actual[:12]}... now); nothing of "
                f"{self.month} was loaded. Run the month again.")
        return self.parquet(kind)


def _finding_from(data: dict) -> Finding:
    data = dict(data)
    data["examples"] = tuple(tuple(e) for e in data.get("examples", ()))
    return Finding(**data)


def read_staged(settings: Settings, month: Month, run_id: str) -> StagedMonth:
    folder = run_staging_dir(settings, run_id) / str(month)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except FileNotFoundError:
        raise NotStaged(
            f"{month} was not extracted in this run (run {run_id}), so it cannot be "
            "validated or loaded here: materialize the month with its extract and "
            "validate steps (a new run of the month, not only its later steps).") from None
    return StagedMonth(month, folder, manifest["files"],
                       [_finding_from(f) for f in manifest["extraction"]],
                       [_finding_from(f) for f in manifest["findings"]],
                       dict(manifest.get("validated", {})))


def _stage_month_files(incoming: Path, month: Month, folder: Path, shown_as: Path
                       ) -> tuple[dict[str, ExtractedFile], list[Finding]]:
    """Extract both files of a month into `folder`; a missing or ambiguous file is
    a finding (naming the folder `shown_as`: the files are read from a copy of it)."""
    found = find_month_files(incoming, month)
    extracted, findings = {}, []
    for kind in KINDS:
        paths = found.paths[kind]
        names = expected_names(kind, month)
        if not paths:
            findings.append(Finding(
                names[0], f"the month's {kind} file must be present in incoming/",
                ERROR, detail=f"expected {' or '.join(names)} in {shown_as}"))
        elif len(paths) > 1:
            findings.append(Finding(
                names[0], "a month must have one file of each kind, CSV or Excel, not both",
                ERROR, detail=f"found {' and '.join(p.name for p in paths)}"))
        else:
            extracted[kind] = stage_file(paths[0], kind, folder / f"{kind}.parquet")
    return extracted, findings


def _copy_sources(found: MonthFiles, folder: Path) -> Path:
    """Copy the month's files from incoming/ into `folder`/source; the copy is what
    the run reads and hashes, whatever happens to incoming/ meanwhile."""
    copies = folder / "source"
    copies.mkdir()
    for path in (p for paths in found.paths.values() for p in paths):
        try:
            shutil.copyfile(path, copies / path.name)
        except FileNotFoundError:  # removed meanwhile: the month misses that file
            continue
    return copies


def stage_month(settings: Settings, month: Month, run_id: str,
                found: MonthFiles | None = None) -> StagedMonth:
    """Extract the month's files (`found` in incoming/, looked up when not given)
    into the run's staging folder."""
    found = found or find_month_files(settings.incoming_dir, month)
    folder = run_staging_dir(settings, run_id) / str(month)
    shutil.rmtree(folder, ignore_errors=True)
    # a full disk leaves no half-written staging behind, and says so in one line
    with no_space_left(f"staging {month}", settings.pipeline_dir, remove=[folder]):
        folder.mkdir(parents=True)
        copies = _copy_sources(found, folder)
        try:
            extracted, findings = _stage_month_files(copies, month, folder,
                                                     settings.incoming_dir)
        finally:
            shutil.rmtree(copies, ignore_errors=True)
        staged = StagedMonth(month, folder, extraction=findings)
        for kind, file in extracted.items():
            staged.extraction.extend(file.findings)
            if file.readable:
                staged.files[kind] = {"name": file.name, "sha256": file.sha256,
                                      "rows": file.rows,
                                      "staged_sha256": sha256_of(file.staged)}
                pause_point("extract")
        staged.findings = list(staged.extraction)
        staged.save()
    return staged


def staged_as_extracted(staged: StagedMonth, kind: str) -> ExtractedFile | None:
    """A staged file as an ExtractedFile for the validation suites, which read
    its parquet file in place (through DuckDB)."""
    info = staged.files.get(kind)
    if info is None or not staged.parquet(kind).exists():
        return None
    return ExtractedFile(path=Path(info["name"]), kind=kind, sha256=info["sha256"],
                         staged=staged.parquet(kind), rows=info["rows"])


def note_validated(staged: StagedMonth, kind: str) -> None:
    """Note the staged file of `kind` as validated, once the suites have read it:
    the load then loads it only if it still has these bytes. Its hash is taken
    after the reads and must be the one staging recorded, so the bytes noted are
    the bytes read."""
    info = staged.files[kind]
    digest = sha256_of(staged.parquet(kind))
    if digest != info["staged_sha256"]:
        raise StagedFileChanged(
            f"{info['name']}: the staged copy of this file changed while it was being "
            f"validated; nothing of {staged.month} was loaded. Run the month again.")
    staged.validated[kind] = digest
