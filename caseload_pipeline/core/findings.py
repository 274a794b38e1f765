"""A finding is one rule's outcome on one file, with a message a person can act on.

The same message is shown in the Dagster UI, printed by the CLI and stored in
the `data_quality` table, so it is built in exactly one place: `message`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR, WARNING, INFO = "error", "warning", "info"
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Finding:
    file: str
    rule: str  # the rule in plain words, e.g. "fte must be greater than 0 and at most 1"
    severity: str = ERROR
    column: str | None = None
    passed: bool = False
    unexpected_count: int = 0
    # (line, value) pairs; value None where it must not be shown (raw ids)
    examples: tuple[tuple[int, str | None], ...] = field(default_factory=tuple)
    unit: str = "rows"
    detail: str | None = None  # e.g. the error a GX expectation raised

    @property
    def blocking(self) -> bool:
        return self.severity == ERROR and not self.passed

    @property
    def example_lines(self) -> str:
        return ", ".join(str(line) for line, _ in self.examples)

    @property
    def message(self) -> str:
        text = f"{self.file}: {self.rule}"
        if self.column:
            text += f" (column {self.column})"
        if self.passed:
            return text + ": passed"
        parts = []
        if self.unexpected_count:
            count = self.unexpected_count
            noun = self.unit if count != 1 else self.unit.removesuffix("s")
            parts.append(f"{count} {noun}")
        if self.examples:
            shown = [
                f"{line} ({value})" if value is not None else str(line)
                for line, value in self.examples[:MAX_EXAMPLES]
            ]
            more = self.unexpected_count - len(shown) if self.unit == "rows" else 0
            word = "line" if len(shown) == 1 else "lines"
            parts.append(f"{word} {', '.join(shown)}" + (f" and {more} more" if more > 0 else ""))
        if self.detail:
            parts.append(self.detail)
        return text + (": " + ", ".join(parts) if parts else "")


def blocking(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.blocking]
