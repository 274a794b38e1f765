"""How names are compared: one definition for Python and for SQL.

A team or role typed by a person ("Review  Team", " review team") is matched
against reference/teams.csv and roles.csv after folding: trimmed, inner runs
of spaces collapsed to one, lower-cased.
"""

from __future__ import annotations


def fold_name(name: str) -> str:
    """The form two names are compared in: `" Review  Team "` -> `"review team"`."""
    return " ".join(name.split()).lower()
