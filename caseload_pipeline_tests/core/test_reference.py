"""Broken reference files (SPEC 4): each problem names the file and the line,
all problems are reported together, and the CLI exits 1 without running."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from caseload_pipeline.core.reference import ReferenceDataError, load_reference
from caseload_pipeline_tests import department as dep
from caseload_pipeline_tests.conftest import new_project


def _lineage_unknown_team(ref: Path) -> None:
    dep.write_csv(ref / "team_lineage.csv", ["team", "predecessor", "from_audit"],
                  [["Hospital Discharge Team", "Hospital Team", "2023/24"],
                   ["Nowhere Team", "Review Team", "2023/24"]])


def _audit_ends_before_it_starts(ref: Path) -> None:
    (ref / "audits.yaml").write_text(dep.AUDITS_YAML.replace("last_month: 2023-07",
                                                             "last_month: 2023-04"))


def _weights_missing_a_level(ref: Path) -> None:
    (ref / "weights.yaml").write_text(dep.WEIGHTS_YAML.replace(", high: 5}", "}"))


def _alias_clash(ref: Path) -> None:
    teams = [list(t) for t in dep.TEAMS]
    teams[3][1] = "Cares Team; hdt"  # HDT already names the Hospital Discharge Team
    dep.write_csv(ref / "teams.csv", ["team", "aliases", "service_area"], teams)


def _role_points_not_a_number(ref: Path) -> None:
    roles = [list(r) for r in dep.ROLES]
    roles[2][2] = "ten"
    dep.write_csv(ref / "roles.csv", ["role", "aliases", "capacity_points_per_fte"], roles)


def _baseline_unknown_team(ref: Path) -> None:
    dep.write_baselines(ref.parent, [["2022/23", "team", "Review Team", "20.1"],
                                     ["2022/23", "team", "Atlantis Team", "20.1"]])


def _lineage_two_predecessors(ref: Path) -> None:
    # the Hospital Discharge Team (line 2: replaced Hospital Team) also replaced
    # the Carers Team from the same audit: which to compare with is not clear
    with (ref / "team_lineage.csv").open("a", newline="") as f:
        f.write("Hospital Discharge Team,Cares Team,2023/24\r\n")


def _survey_out_of_range(ref: Path) -> None:
    dep.write_csv(ref / "staff_survey.csv", ["year", "pct_fair_and_manageable"],
                  [["2017", "43"], ["2019", "181"]])


# (id, break the reference folder, the words the problem must hold, in order)
BROKEN: list[tuple[str, Callable[[Path], None], list[str]]] = [
    ("lineage names an unknown team", _lineage_unknown_team,
     ["team_lineage.csv: line 3:", "'Nowhere Team'", "teams.csv"]),
    ("audit window ends before it starts", _audit_ends_before_it_starts,
     ["audits.yaml: line 5:", "'2023/24'", "before it starts"]),
    ("weights miss a level", _weights_missing_a_level,
     ["weights.yaml: line 1:", "complexity.high"]),
    ("alias names two teams", _alias_clash,
     ["teams.csv: line 5:", "'hdt'", "Hospital Discharge Team"]),
    ("role points not a number", _role_points_not_a_number,
     ["roles.csv: line 4:", "'ten'", "not a number"]),
    ("baseline names an unknown team", _baseline_unknown_team,
     ["audit_baselines.csv: line 3:", "'Atlantis Team'"]),
    ("survey percentage out of range", _survey_out_of_range,
     ["staff_survey.csv: line 3:", "0 to 100"]),
    ("a team with two predecessors from one audit", _lineage_two_predecessors,
     ["team_lineage.csv: lines 2 and", "'Hospital Discharge Team'", "two predecessors",
      "'2023/24'", "'Hospital Team' and 'Carers Team'"]),
]


def _in_order(words: list[str], text: str) -> bool:
    position = 0
    for word in words:
        position = text.find(word, position)
        if position < 0:
            return False
        position += len(word)
    return True


@pytest.mark.parametrize(("break_it", "words"), [(b, w) for _, b, w in BROKEN],
                         ids=[i for i, _, _ in BROKEN])
def test_a_broken_reference_file_names_file_and_line(tmp_path, break_it, words):
    ref = dep.write_reference(tmp_path)
    load_reference(ref)  # valid as written
    break_it(ref)
    with pytest.raises(ReferenceDataError) as raised:
        load_reference(ref)
    problems = raised.value.problems
    assert len(problems) == 1, problems
    assert _in_order(words, problems[0]), problems


def test_every_problem_is_reported_at_once(tmp_path):
    ref = dep.write_reference(tmp_path)
    for _, break_it, _ in BROKEN:
        break_it(ref)
    with pytest.raises(ReferenceDataError) as raised:
        load_reference(ref)
    problems = raised.value.problems
    for _, _, words in BROKEN:
        assert any(_in_order(words, p) for p in problems), (words, problems)


@pytest.mark.parametrize(("break_it", "words"), [(b, w) for _, b, w in BROKEN[:5]],
                         ids=[i for i, _, _ in BROKEN[:5]])
def test_the_cli_exits_1_on_a_broken_reference_file(tmp_path, break_it, words):
    project = new_project(tmp_path)
    project.write_month("2023-05")
    break_it(project.data_dir / "reference")

    result = project.materialize("--month", "2023-05")

    assert result.code == 1, result.text
    assert "Reference files are wrong:" in result.err
    assert any(_in_order(words, line) for line in result.lines), result.text
    assert "Traceback" not in result.text
    assert not project.analyst_path.exists() and not project.working_path.exists()
    # `caseload validate` refuses to judge files against broken reference data too
    files = sorted(str(p) for p in project.incoming.iterdir())
    assert project.cli("validate", *files).code == 1


def test_a_missing_reference_file_is_named(tmp_path):
    ref = dep.write_reference(tmp_path)
    (ref / "roles.csv").unlink()
    with pytest.raises(ReferenceDataError) as raised:
        load_reference(ref)
    assert any(p.startswith("roles.csv: file is missing") for p in raised.value.problems)
