"""The demo department: roles, teams, restructures and the published audit figures.

Everything the generator needs to know about the (fictional) department lives
here as data, so the timeline can be read in one place. The published figures
are those of the council in ``seed/published_audits.csv``; the generator is
calibrated to reproduce them, the team structures around them are our own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SW = "Social worker"
CCW = "Community case worker"
OT = "Occupational therapist"
OTA = "Occupational therapist assistant"
TM = "Team manager"


@dataclass(frozen=True)
class Role:
    name: str
    aliases: tuple[str, ...]
    capacity_points_per_fte: int
    case_holding: bool = True
    # Relative caseload within a team: assistants and case workers carry more,
    # simpler cases than registered practitioners.
    load_factor: float = 1.0


ROLES: tuple[Role, ...] = (
    Role(SW, ("SW", "Senior social worker"), 115),
    Role(CCW, ("CCW", "Social care practitioner"), 120, load_factor=1.12),
    Role(OT, ("OT", "Senior occupational therapist"), 140, load_factor=1.05),
    Role(OTA, ("OTA", "Occupational therapy assistant"), 150, load_factor=1.15),
    # Managers supervise rather than hold cases; the capacity figure is what a
    # manager could carry if asked to, never used for a case-holding worker.
    Role(TM, ("TM", "Team leader"), 40, case_holding=False),
)
ROLE_BY_NAME = {role.name: role for role in ROLES}
CASE_HOLDING_ROLES = tuple(role.name for role in ROLES if role.case_holding)


@dataclass(frozen=True)
class Team:
    name: str
    aliases: tuple[str, ...]
    service_area: str
    closure_rate: float  # share of a worker's cases closed each month
    travel_minutes: float  # mean round trip for a visit
    travel_blank: float  # share of cases with no travel recorded
    pressure: float  # the utilisation the team's case mix is drawn towards


HOSPITAL = "Hospital and discharge"
THERAPY = "Therapy and sensory"
PREVENTION = "Front door and prevention"
OLDER = "Older people"
DISABILITY = "All age disability"
LOCALITY = "Integrated localities"
HEALTH = "Health partnerships"

TEAMS: tuple[Team, ...] = (
    # 2019/20 structure
    Team("Hospital Team", ("Hospital Social Work Team",), HOSPITAL, 0.50, 10, 0.35, 0.98),
    Team("Occupational Therapy", ("OT Service",), THERAPY, 0.25, 25, 0.10, 0.95),
    Team("Intake services", ("Adult Intake",), PREVENTION, 0.60, 25, 0.30, 0.83),
    Team("Older people review", ("OP Review",), OLDER, 0.20, 30, 0.10, 0.83),
    Team("Short term services", ("STS",), PREVENTION, 0.45, 25, 0.15, 0.83),
    Team("Older People case management", ("OP Case Management",), OLDER, 0.07, 30, 0.10, 0.87),
    Team("All Age Transitions", ("AA Transitions",), DISABILITY, 0.05, 40, 0.10, 0.81),
    Team("All Age case management", ("AA Case Management",), DISABILITY, 0.06, 40, 0.10, 0.83),
    # formed for the 2020 hospital discharge requirements
    Team(
        "Therapy Hospital Discharge Team",
        ("THDT", "Therapy Hospital Discharge"),
        HOSPITAL,
        0.55,
        15,
        0.30,
        0.93,
    ),
    # 2023/24 structure
    Team("Hospital Discharge Team", ("HDT", "Hospital Discharge"), HOSPITAL, 0.50, 10, 0.35, 1.12),
    Team("Occupational Therapy Team", ("OT Team",), THERAPY, 0.25, 25, 0.10, 0.97),
    Team(
        "Visual and Hearing Impairment Team",
        ("VHI Team", "Sensory Impairment Team"),
        THERAPY,
        0.15,
        35,
        0.05,
        0.83,
    ),
    # the council's public page spells it "Cares Team", and so does the case system
    Team("Carers Team", ("Cares Team",), PREVENTION, 0.20, 30, 0.20, 0.79),
    Team("Promoting Independence Team", ("PIT",), PREVENTION, 0.40, 25, 0.15, 0.83),
    Team("Review Team", ("Reviewing Team",), OLDER, 0.20, 30, 0.10, 0.81),
    Team("Continuing Healthcare Team", ("CHC Team",), HEALTH, 0.06, 35, 0.10, 0.83),
    Team(
        "Older People's Team",
        ("Older Peoples Team", "Older People\u2019s Team"),  # as the published report types it
        OLDER,
        0.07,
        30,
        0.10,
        0.83,
    ),
    Team("Transitions Team", ("Transitions",), DISABILITY, 0.05, 40, 0.10, 0.81),
    Team("All Age Disability", ("AAD Team",), DISABILITY, 0.06, 40, 0.10, 0.81),
    Team("Transforming Care Team", ("TCP Team",), DISABILITY, 0.04, 60, 0.05, 0.79),
    # 2024/25 structure
    Team("Older People Team", ("OP Team",), OLDER, 0.08, 30, 0.10, 0.83),
    Team("Adult Disability Team", ("ADT",), DISABILITY, 0.06, 40, 0.10, 0.83),
    Team("Locality Integrated Team North", ("LIT North",), LOCALITY, 0.15, 35, 0.10, 0.83),
    Team(
        "Locality Integrated Team North East",
        ("LIT North East", "LIT NE"),
        LOCALITY,
        0.15,
        35,
        0.10,
        0.83,
    ),
    Team("Locality Integrated Team South", ("LIT South",), LOCALITY, 0.15, 25, 0.10, 0.91),
    Team(
        "LD Promoting Independence Team",
        ("LDPIT", "Learning Disability Promoting Independence Team"),
        DISABILITY,
        0.20,
        25,
        0.10,
        0.89,
    ),
)
TEAM_BY_NAME = {team.name: team for team in TEAMS}


@dataclass(frozen=True)
class TeamPlan:
    """A team's establishment in one structure: case-holding posts by role."""

    posts: dict[str, int]
    # Teams whose staff fill this team's posts when the structure starts.
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Era:
    start: str
    reason: str
    teams: dict[str, TeamPlan] = field(default_factory=dict)


_ERA_2019 = {
    "Hospital Team": TeamPlan({SW: 7, CCW: 5}),
    "Occupational Therapy": TeamPlan({OT: 6, OTA: 5}),
    "Intake services": TeamPlan({SW: 4, CCW: 5}),
    "Older people review": TeamPlan({SW: 4, CCW: 5}),
    "Short term services": TeamPlan({CCW: 6, SW: 2, OTA: 2}),
    "Older People case management": TeamPlan({SW: 10, CCW: 4}),
    "All Age Transitions": TeamPlan({SW: 7, CCW: 2}),
    "All Age case management": TeamPlan({SW: 11, CCW: 4}),
}

ERAS: tuple[Era, ...] = (
    Era("2019-07", "structure at the first audit", _ERA_2019),
    Era(
        "2020-04",
        "therapists move to hospital discharge (discharge to assess)",
        {
            **_ERA_2019,
            "Occupational Therapy": TeamPlan({OT: 4, OTA: 4}),
            "Intake services": TeamPlan({SW: 3, CCW: 5}),
            "Therapy Hospital Discharge Team": TeamPlan(
                {OT: 3, OTA: 1}, ("Occupational Therapy", "Hospital Team")
            ),
        },
    ),
    Era(
        "2021-04",
        "adult social care restructure (2023/24 audit structure)",
        {
            "Hospital Discharge Team": TeamPlan({SW: 7, CCW: 5}, ("Hospital Team",)),
            "Therapy Hospital Discharge Team": TeamPlan({OT: 4, OTA: 2}),
            "Occupational Therapy Team": TeamPlan({OT: 5, OTA: 5}, ("Occupational Therapy",)),
            "Visual and Hearing Impairment Team": TeamPlan(
                {CCW: 3, SW: 1}, ("Occupational Therapy", "Intake services")
            ),
            "Carers Team": TeamPlan({CCW: 5, SW: 1}, ("Intake services",)),
            "Promoting Independence Team": TeamPlan(
                {CCW: 7, OTA: 3}, ("Short term services", "Intake services")
            ),
            "Review Team": TeamPlan({SW: 3, CCW: 5}, ("Older people review",)),
            "Continuing Healthcare Team": TeamPlan(
                {SW: 4, CCW: 1}, ("Older People case management", "Older people review")
            ),
            "Short term services": TeamPlan({CCW: 8, SW: 3, OTA: 1}),
            "Older People's Team": TeamPlan({SW: 10, CCW: 4}, ("Older People case management",)),
            "Transitions Team": TeamPlan({SW: 5, CCW: 1}, ("All Age Transitions",)),
            "All Age Disability": TeamPlan({SW: 10, CCW: 3}, ("All Age case management",)),
            "Transforming Care Team": TeamPlan({SW: 5}, ("All Age case management",)),
        },
    ),
    Era(
        "2024-04",
        "integrated locality model (2024/25 audit structure)",
        {
            "Older People Team": TeamPlan({SW: 5, CCW: 6}, ("Older People's Team",)),
            "Visual and Hearing Impairment Team": TeamPlan({CCW: 4, SW: 1}),
            "Therapy Hospital Discharge Team": TeamPlan({OT: 3, CCW: 2}),
            "Adult Disability Team": TeamPlan({SW: 6, CCW: 4}, ("All Age Disability",)),
            "Transitions Team": TeamPlan({SW: 3, CCW: 3}),
            "Transforming Care Team": TeamPlan({SW: 4, CCW: 1}),
            "Promoting Independence Team": TeamPlan({CCW: 7, SW: 2}),
            "Hospital Discharge Team": TeamPlan({SW: 7, CCW: 6}),
            "Locality Integrated Team North": TeamPlan(
                {SW: 5, CCW: 4, OT: 2}, ("Review Team", "Short term services", "Carers Team")
            ),
            "Locality Integrated Team North East": TeamPlan(
                {SW: 5, CCW: 4, OT: 1}, ("Review Team", "Short term services", "Carers Team")
            ),
            "Locality Integrated Team South": TeamPlan(
                {SW: 3, CCW: 3, OT: 1, OTA: 1},
                ("Short term services", "Older People's Team", "Carers Team"),
            ),
            "LD Promoting Independence Team": TeamPlan(
                {CCW: 5, SW: 1}, ("All Age Disability", "Promoting Independence Team")
            ),
            "Occupational Therapy Team": TeamPlan({OT: 6, OTA: 6}),
            "Continuing Healthcare Team": TeamPlan({SW: 2, CCW: 2}),
        },
    ),
)


@dataclass(frozen=True)
class Audit:
    name: str
    first_month: str
    last_month: str
    team_averages: dict[str, float]
    role_averages: dict[str, float] = field(default_factory=dict)


# The published figures, by our canonical team names ("Cares Team" is the Carers Team).
AUDITS: tuple[Audit, ...] = (
    Audit(
        "2019/20",
        "2019-07",
        "2019-09",
        {
            "Hospital Team": 20.6,
            "Occupational Therapy": 25.8,
            "Intake services": 13.8,
            "Older people review": 24.1,
            "Short term services": 21.4,
            "Older People case management": 26.9,
            "All Age Transitions": 18.9,
            "All Age case management": 19.6,
        },
    ),
    Audit(
        "2023/24",
        "2022-07",
        "2023-06",
        {
            "Hospital Discharge Team": 32.9,
            "Therapy Hospital Discharge Team": 29.0,
            "Occupational Therapy Team": 30.1,
            "Visual and Hearing Impairment Team": 25.1,
            "Carers Team": 18.3,
            "Promoting Independence Team": 19.0,
            "Review Team": 14.7,
            "Continuing Healthcare Team": 14.9,
            "Short term services": 17.5,
            "Older People's Team": 17.1,
            "Transitions Team": 10.7,
            "All Age Disability": 11.8,
            "Transforming Care Team": 7.3,
        },
    ),
    Audit(
        "2024/25",
        "2024-08",
        "2025-07",
        {
            "Older People Team": 16.4,
            "Visual and Hearing Impairment Team": 21.2,
            "Therapy Hospital Discharge Team": 12.3,
            "Adult Disability Team": 20.4,
            "Transitions Team": 17.9,
            "Transforming Care Team": 19.8,
            "Promoting Independence Team": 18.3,
            "Hospital Discharge Team": 22.4,
            "Locality Integrated Team North": 16.7,
            "Locality Integrated Team North East": 16.2,
            "Locality Integrated Team South": 32.9,
            "LD Promoting Independence Team": 31.8,
            "Occupational Therapy Team": 39.1,
            "Continuing Healthcare Team": 29.9,
        },
        {SW: 18.4, CCW: 22.2, OT: 29.7, OTA: 40.0},
    ),
)

# seed/inferred_team_lineage.csv, row for row.
LINEAGE: tuple[tuple[str, str, str], ...] = (
    ("Hospital Discharge Team", "Hospital Team", "2023/24"),
    ("Occupational Therapy Team", "Occupational Therapy", "2023/24"),
    ("Review Team", "Older people review", "2023/24"),
    ("Short term services", "Short term services", "2023/24"),
    ("Older People's Team", "Older People case management", "2023/24"),
    ("Transitions Team", "All Age Transitions", "2023/24"),
    ("All Age Disability", "All Age case management", "2023/24"),
    ("Older People Team", "Older People's Team", "2024/25"),
    ("Adult Disability Team", "All Age Disability", "2024/25"),
)

# Levels (average caseload) for months no audit pins down, where holding the
# nearest audit figure would look wrong: a team that starts small and grows.
EXTRA_LEVELS: dict[str, tuple[tuple[str, float], ...]] = {
    "Therapy Hospital Discharge Team": (("2020-04", 21.5), ("2021-04", 25.0)),
    "Locality Integrated Team South": (("2024-04", 27.0),),
    "LD Promoting Independence Team": (("2024-04", 26.5),),
}

STAFF_SURVEY: tuple[tuple[str, int], ...] = (("2017", 43), ("2019", 81), ("2022/23", 73))

# A team whose work gets heavier through the 2024/25 audit window, the drift the
# early warning (team_outlook) is for: more and more of its new cases are complex
# or high-risk, until the team as a whole runs into the red band after the
# window; then its work is rebalanced. (month, utilisation its case mix is drawn
# towards), linear in between, the team's own `pressure` outside. Only the mix
# of each case moves: how many cases each worker holds, and so every published
# figure, stays as it was.
PRESSURE_DRIFT: dict[str, tuple[tuple[str, float], ...]] = {
    "LD Promoting Independence Team": (
        ("2024-08", 0.89), ("2025-09", 1.6), ("2026-01", 1.6), ("2026-06", 0.89),
    ),
}

# Reassignment pressure the 2023/24 audit describes ("re-assigning cases due to
# reprioritising work"), in the financial year 2022/23 and the audit window.
BUSY_REASSIGNMENT = {
    "teams": ("Hospital Discharge Team", "Occupational Therapy Team"),
    "first_month": "2022-04",
    "last_month": "2023-06",
}
