"""The committed reference files are the demo generator's, and agree with the seed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from caseload_pipeline.core.demo import write_reference

REPO = Path(__file__).parents[3]
COMMITTED = REPO / "data" / "reference"
SEED = REPO.parent / "shared" / "seed"
PUBLISHED = Path(__file__).parents[2] / "data" / "published_audits.csv"
FILES = {
    "teams.csv",
    "roles.csv",
    "team_lineage.csv",
    "audit_baselines.csv",
    "staff_survey.csv",
    "audits.yaml",
    "weights.yaml",
    "benchmarks.yaml",
}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reference")
    write_reference(folder)
    return folder


def test_committed_reference_files_are_what_the_generator_writes(written):
    # Regenerate with: uv run python -c "from caseload_pipeline.core.demo import write_reference;
    # write_reference('data/reference', overwrite=True)"
    assert {p.name for p in written.iterdir()} == FILES
    assert {p.name for p in COMMITTED.iterdir()} == FILES
    for name in sorted(FILES):
        assert (COMMITTED / name).read_bytes() == (written / name).read_bytes(), name


def test_existing_reference_files_are_left_alone(tmp_path):
    (tmp_path / "teams.csv").write_text("edited\n")
    written = write_reference(tmp_path)
    assert {p.name for p in written} == FILES - {"teams.csv"}
    assert (tmp_path / "teams.csv").read_text() == "edited\n"
    assert len(write_reference(tmp_path, overwrite=True)) == len(FILES)


def test_reference_files_describe_the_published_audits(written):
    published = pd.read_csv(PUBLISHED)
    audits = yaml.safe_load((written / "audits.yaml").read_text())["audits"]
    windows = published.groupby("audit")[["first_month", "last_month"]].first()
    assert [a["name"] for a in audits] == ["2019/20", "2023/24", "2024/25"]
    for audit in audits:
        assert (audit["first_month"], audit["last_month"]) == tuple(windows.loc[audit["name"]])

    teams = pd.read_csv(written / "teams.csv", keep_default_na=False)
    known = set(teams["team"]) | {a for cell in teams["aliases"] for a in cell.split(";") if a}
    assert set(published.loc[published["dimension"] == "team", "name_as_published"]) <= known
    roles = pd.read_csv(written / "roles.csv", keep_default_na=False)
    assert set(published.loc[published["dimension"] == "role", "name_as_published"]) <= set(
        roles["role"]
    )
    assert (roles["capacity_points_per_fte"] > 0).all()

    lineage = pd.read_csv(written / "team_lineage.csv")
    assert set(lineage["team"]) | set(lineage["predecessor"]) <= set(teams["team"])

    baselines = pd.read_csv(written / "audit_baselines.csv")
    first = published[published["audit"] == "2019/20"]
    assert sorted(zip(baselines["name"], baselines["avg_caseload"], strict=True)) == sorted(
        zip(first["name_as_published"], first["avg_caseload"], strict=True)
    )
    assert set(baselines["dimension"]) == {"team"}

    weights = yaml.safe_load((written / "weights.yaml").read_text())
    assert weights == {
        "complexity": {"low": 2, "medium": 3, "high": 5},
        "risk": {"low": 0, "medium": 1, "high": 2},
        "travel": {"minutes_per_point": 30, "max_points": 3},
        "protected_caseload_factor": 0.9,
        "bands": {"green": 1.0, "amber": 1.1},
    }


@pytest.mark.skipif(not SEED.is_dir(), reason="shared/seed is not beside the repository")
def test_lineage_and_survey_are_the_seed_files(written):
    for ours, seed in (
        ("team_lineage.csv", "inferred_team_lineage.csv"),
        ("staff_survey.csv", "staff_survey.csv"),
    ):
        assert (written / ours).read_bytes() == (SEED / seed).read_bytes()
