"""Reference data under `reference/` (SPEC 4), read and checked together.

Analysts edit these files by hand, so every problem is reported with the file
and line it is on, and all problems are reported at once.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from caseload_pipeline.core.months import Month, parse_month
from caseload_pipeline.core.normalise import clean_text, fold_name

LEVELS = ("low", "medium", "high")


def audit_slug(audit: str) -> str:
    """The audit name as used in folder and file names: "2023/24" -> "2023-24"."""
    return audit.strip().replace("/", "-").replace("\\", "-")


class ReferenceDataError(Exception):
    """One or more reference files are wrong; `problems` holds one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Audit:
    name: str
    first_month: Month
    last_month: Month
    previous: str | None = None

    @property
    def slug(self) -> str:
        return audit_slug(self.name)

    @property
    def months(self) -> list[Month]:
        return self.first_month.range_to(self.last_month)


@dataclass(frozen=True)
class Weights:
    complexity: dict[str, float]
    risk: dict[str, float]
    minutes_per_point: float
    max_travel_points: float
    protected_caseload_factor: float
    green: float
    amber: float

    def as_dict(self) -> dict:
        return {
            "complexity": dict(self.complexity),
            "risk": dict(self.risk),
            "travel": {
                "minutes_per_point": self.minutes_per_point,
                "max_points": self.max_travel_points,
            },
            "protected_caseload_factor": self.protected_caseload_factor,
            "bands": {"green": self.green, "amber": self.amber},
        }


@dataclass
class Reference:
    teams: dict[str, str] = field(default_factory=dict)  # team -> service_area
    team_aliases: dict[str, str] = field(default_factory=dict)  # lower name/alias -> team
    roles: dict[str, float] = field(default_factory=dict)  # role -> capacity points per fte
    role_aliases: dict[str, str] = field(default_factory=dict)
    lineage: list[tuple[str, str, str]] = field(default_factory=list)
    baselines: list[tuple[str, str, str, float]] = field(default_factory=list)
    survey: list[tuple[str, float]] = field(default_factory=list)
    audits: list[Audit] = field(default_factory=list)
    weights: Weights | None = None

    def team(self, name: str) -> str | None:
        return self.team_aliases.get(fold_name(name))

    def role(self, name: str) -> str | None:
        return self.role_aliases.get(fold_name(name))

    def audit(self, name: str) -> Audit | None:
        return next((a for a in self.audits if a.name == name), None)


def _rows(path: Path, columns: list[str], problems: list[str]) -> list[tuple[int, dict]]:
    """Rows of a small reference CSV with their line numbers (header is line 1)."""
    if not path.exists():
        problems.append(f"{path.name}: file is missing from {path.parent}")
        return []
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [(h or "").strip().lower() for h in reader.fieldnames or []]
        missing = [c for c in columns if c not in header]
        if missing:
            problems.append(f"{path.name}: line 1: missing column(s) {', '.join(missing)}")
            return []
        reader.fieldnames = header
        # cells are cleaned as monthly files' values are (normalise.clean_text), so a
        # no-break space typed into teams.csv never becomes part of a team's name
        return [
            (line, {k: clean_text(v if isinstance(v, str) else "") for k, v in row.items() if k})
            for line, row in enumerate(reader, start=2)
            if any(clean_text(v) for v in row.values() if isinstance(v, str))
        ]


def _number(text: str, where: str, problems: list[str]) -> float | None:
    try:
        return float(text)
    except ValueError:
        problems.append(f"{where}: {text!r} is not a number")
        return None


def _names(path: Path, kind: str, extra: str, ref_names: dict, aliases: dict, problems,
           lines: dict | None = None):
    for line, row in _rows(path, [kind, "aliases", extra], problems):
        if lines is not None:
            lines[row[kind]] = line
        where = f"{path.name}: line {line}"
        name = row[kind]
        if not name:
            problems.append(f"{where}: {kind} is blank")
            continue
        for alias in [name, *[a.strip() for a in row["aliases"].split(";") if a.strip()]]:
            known = aliases.get(fold_name(alias))
            if known and known != name:
                problems.append(f"{where}: {alias!r} already names {kind} {known!r}")
            aliases[fold_name(alias)] = name
        ref_names[name] = row[extra]


def _audits(path: Path, problems: list[str]) -> list[Audit]:
    if not path.exists():
        problems.append(f"{path.name}: file is missing from {path.parent}")
        return []
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        problems.append(f"{path.name}: not valid YAML: {exc}".replace("\n", " "))
        return []
    entries = doc.get("audits") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        problems.append(f"{path.name}: expected a list under 'audits:'")
        return []
    lines = text.splitlines()
    audits: list[Audit] = []
    for i, entry in enumerate(entries, start=1):
        name = str(entry.get("name", "")).strip() if isinstance(entry, dict) else ""
        line = next((n for n, t in enumerate(lines, 1) if name and name in t), None)
        where = f"{path.name}: line {line}" if line else f"{path.name}: audit {i}"
        if not name:
            problems.append(f"{where}: an audit has no name")
            continue
        try:
            first = parse_month(str(entry.get("first_month", "")))
            last = parse_month(str(entry.get("last_month", "")))
        except ValueError as exc:
            problems.append(f"{where}: audit {name!r}: {exc}")
            continue
        if last < first:
            problems.append(f"{where}: audit {name!r} ends ({last}) before it starts ({first})")
            continue
        audits.append(Audit(name, first, last))
    if len({a.name for a in audits}) != len(audits):
        problems.append(f"{path.name}: two audits share a name")
    audits.sort(key=lambda a: a.first_month)
    return [
        Audit(a.name, a.first_month, a.last_month, audits[i - 1].name if i else None)
        for i, a in enumerate(audits)
    ]


def _yaml_line(text: str, keys: tuple[str, ...]) -> int | None:
    """The line of the deepest of `keys` present in the YAML text (for a missing
    key, the line of its parent), or None."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        found = next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)
        if found is None:
            break
        line, node = found[0].start_mark.line + 1, found[1]
    return line


def _weights(path: Path, problems: list[str]) -> Weights | None:
    if not path.exists():
        problems.append(f"{path.name}: file is missing from {path.parent}")
        return None
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        problems.append(f"{path.name}: not valid YAML: {exc}".replace("\n", " "))
        return None
    start = len(problems)

    def where(keys: tuple[str, ...]) -> str:
        line = _yaml_line(text, keys)
        return f"{path.name}: line {line}" if line else path.name

    def number(keys: tuple[str, ...]) -> float:
        node = doc
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, bool) or not isinstance(node, int | float) or node < 0:
            problems.append(f"{where(keys)}: {'.'.join(keys)} must be a number >= 0, "
                            f"got {node!r}")
            return 0.0
        return float(node)

    weights = Weights(
        complexity={level: number(("complexity", level)) for level in LEVELS},
        risk={level: number(("risk", level)) for level in LEVELS},
        minutes_per_point=number(("travel", "minutes_per_point")),
        max_travel_points=number(("travel", "max_points")),
        protected_caseload_factor=number(("protected_caseload_factor",)),
        green=number(("bands", "green")),
        amber=number(("bands", "amber")),
    )
    if len(problems) > start:
        return None
    if weights.minutes_per_point <= 0:
        problems.append(f"{where(('travel', 'minutes_per_point'))}: "
                        "travel.minutes_per_point must be greater than 0")
    if weights.amber < weights.green:
        problems.append(f"{where(('bands', 'amber'))}: bands.amber must not be below bands.green")
    return weights


def load_reference(reference_dir: Path) -> Reference:
    """Read every reference file; raise ReferenceDataError listing all problems."""
    problems: list[str] = []
    ref = Reference()
    _names(reference_dir / "teams.csv", "team", "service_area", ref.teams, ref.team_aliases,
           problems)
    roles: dict[str, str] = {}
    role_lines: dict[str, int] = {}
    roles_path = reference_dir / "roles.csv"
    _names(roles_path, "role", "capacity_points_per_fte", roles, ref.role_aliases, problems,
           role_lines)
    for role, text in roles.items():
        where = f"{roles_path.name}: line {role_lines[role]}: role {role!r}"
        points = _number(text, f"{where}: capacity_points_per_fte", problems)
        if points is not None and points <= 0:
            problems.append(f"{where}: capacity_points_per_fte must be above 0")
        ref.roles[role] = points or 0.0

    before = len(problems)
    ref.audits = _audits(reference_dir / "audits.yaml", problems)
    # When audits.yaml is wrong its audits are not all known: checking from_audit
    # against them would only repeat the problem as a misleading one.
    audit_names = {a.name for a in ref.audits} if len(problems) == before else set()

    path = reference_dir / "team_lineage.csv"
    # (team, from_audit) -> (line, predecessor) of the first row saying so
    replaced: dict[tuple[str, str], tuple[int, str]] = {}
    for line, row in _rows(path, ["team", "predecessor", "from_audit"], problems):
        where = f"{path.name}: line {line}"
        for column in ("team", "predecessor"):
            if ref.teams and ref.team(row[column]) is None:
                problems.append(f"{where}: {column} {row[column]!r} is not in teams.csv")
        if audit_names and row["from_audit"] not in audit_names:
            problems.append(f"{where}: from_audit {row['from_audit']!r} is not in audits.yaml")
        team = ref.team(row["team"]) or row["team"]
        predecessor = ref.team(row["predecessor"]) or row["predecessor"]
        # A team compares with one predecessor: with two from the same audit (a
        # merger) which figure it should be compared with is the analyst's call.
        # (A row naming the team as its own predecessor says nothing changed.)
        if predecessor != team:
            first = replaced.setdefault((team, row["from_audit"]), (line, predecessor))
            if first[1] != predecessor:
                problems.append(
                    f"{path.name}: lines {first[0]} and {line}: team {team!r} has two "
                    f"predecessors from audit {row['from_audit']!r} ({first[1]!r} and "
                    f"{predecessor!r}); keep the one line whose team its figures should be "
                    "compared with")
        ref.lineage.append((team, predecessor, row["from_audit"]))

    path = reference_dir / "audit_baselines.csv"
    for line, row in _rows(path, ["audit", "dimension", "name", "avg_caseload"], problems):
        where = f"{path.name}: line {line}"
        value = _number(row["avg_caseload"], f"{where}: avg_caseload", problems)
        dimension = row["dimension"].lower()
        if dimension not in ("team", "role"):
            problems.append(f"{where}: dimension must be team or role, got {row['dimension']!r}")
            continue
        resolve = ref.team if dimension == "team" else ref.role
        name = resolve(row["name"])
        if name is None:
            problems.append(f"{where}: {dimension} {row['name']!r} is not in {dimension}s.csv")
        if value is not None and name is not None:
            ref.baselines.append((row["audit"], dimension, name, value))

    path = reference_dir / "staff_survey.csv"
    for line, row in _rows(path, ["year", "pct_fair_and_manageable"], problems):
        value = _number(row["pct_fair_and_manageable"], f"{path.name}: line {line}", problems)
        if value is not None and not 0 <= value <= 100:
            problems.append(f"{path.name}: line {line}: a percentage must be 0 to 100")
        elif value is not None:
            ref.survey.append((row["year"], value))

    ref.weights = _weights(reference_dir / "weights.yaml", problems)
    if problems:
        raise ReferenceDataError(problems)
    return ref
