"""Problems a person fixes, as opposed to bugs.

A `PipelineProblem` carries a message that says what happened and what to do
about it. The CLI prints it as it is and the Dagster layer turns it into a
step failure with that message as its description: never a stack trace.
"""

from __future__ import annotations


class PipelineProblem(Exception):
    """An operational problem with a plain message (a lock not freed in time, a
    damaged working database, a staged file changed after validation)."""
