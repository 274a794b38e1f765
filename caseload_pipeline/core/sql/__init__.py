"""SQL files, layered as staging -> metrics -> audit (see docs/design.md)."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def sql(name: str) -> str:
    """The text of `sql/<name>.sql`, e.g. sql("metrics/team_monthly")."""
    return resources.files(__package__).joinpath(f"{name}.sql").read_text(encoding="utf-8")
