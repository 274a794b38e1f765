"""What Great Expectations is given: a file's distinct values, not its rows.

A rule on a team, a date or travel minutes judges each row by the values of a
few columns (the rule's `sources`: a derived column's SOURCES, or the column
itself). So for each set of sources the rules of a file read (a *part*),
DuckDB gives one row per distinct combination of their values, with how many
rows of the file hold it (`WEIGHT`) and the first lines that do. The derived
columns are computed on those rows (rules.derive_columns), GX judges them, and
a rule's failing rows are the rows holding the values GX refused: their count
is the sum of the weights, their first lines those kept beside each value. A
million-row month becomes a few hundred rows per rule for GX, and the month's
rows are read by DuckDB, never held in pandas.

Rules about identity (no blank id, an id or a pair of ids once per file) judge
a row by the other rows. For those GX gets the part `IDS`: every row, with its
line, that could break one (an id blank, or a key that appears more than once
in the file); a row outside it passes each of them whatever the others hold,
so GX finds exactly the rows it would find in the whole file.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from caseload_pipeline.core.contract import ID_COLUMNS
from caseload_pipeline.core.extract import LINE, ExtractedFile
from caseload_pipeline.core.findings import MAX_EXAMPLES
from caseload_pipeline.core.validation.rules import SOURCES, WEIGHT, Rule

IDS = "(ids)"  # the part of rows that could break an identity rule
ROWS = "(rows)"  # the part that is every row of a (small) file, for all its row rules
_IDENTITY = ("ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique")


def columns_read(rule: Rule) -> list[str]:
    """The columns of the (derived) frame a rule's expectation reads."""
    kwargs = rule.kwargs
    return ([c for key in ("column", "column_A", "column_B") if (c := kwargs.get(key))]
            + list(kwargs.get("column_list", [])))


def shown_column(rule: Rule) -> str | None:
    """The column whose text a rule's message shows beside each line, if any
    (never an id)."""
    column = rule.column
    if column is None or "," in column or column in ID_COLUMNS:
        return None
    return column


def part_of(rule: Rule) -> str:
    """The part of a file a (row) rule is judged on."""
    read = columns_read(rule)
    if rule.expectation in _IDENTITY or (
            rule.expectation == "ExpectColumnValuesToNotBeNull" and set(read) <= set(ID_COLUMNS)):
        return IDS
    return ",".join(sources_of(rule))


def sources_of(rule: Rule) -> tuple[str, ...]:
    """The file columns a rule judges a row by, with the column it shows."""
    sources = {s for c in columns_read(rule) for s in SOURCES.get(c, (c,))}
    if shown_column(rule):
        sources.add(shown_column(rule))
    return tuple(sorted(sources))


@functools.cache
def _database() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB for the process; each file gets a cursor of its own."""
    return duckdb.connect()


def close_database() -> None:
    """Close the in-memory DuckDB (and free what it caches) until next needed."""
    if _database.cache_info().currsize:
        _database().close()
        _database.cache_clear()


@dataclass
class Part:
    """A part of a file as GX sees it. `frame` has one row per distinct
    combination of the values the part's rules read, with the number of the
    file's rows holding it (WEIGHT). For a value part, `values` holds the
    distinct values of the part's file columns, each with the row of `frame` it
    falls in (GROUP); for IDS, each row of `frame` is a line of the file (LINE)."""

    name: str
    frame: pd.DataFrame
    values: pd.DataFrame | None = None


GROUP = "_group"


class FileRows:
    """A file's rows in DuckDB (its staged parquet file, or its frame), and the
    parts of it that rules are judged on, as small frames."""

    def __init__(self, file: ExtractedFile):
        self.file = file
        self.con = _database().cursor()  # `file_rows` below is this cursor's own
        if file.staged is not None:
            quoted = str(file.staged).replace("'", "''")
            self.con.execute(
                f"CREATE TEMP VIEW file_rows AS SELECT * FROM read_parquet('{quoted}')")
        else:
            self.con.register("file_rows", pa.Table.from_pandas(
                file.frame.rename_axis(LINE).reset_index(), preserve_index=False))
        self.columns = set(self.con.sql("SELECT * FROM file_rows LIMIT 0").columns) - {LINE}

    def close(self) -> None:
        self.con.close()

    def has_columns_for(self, rules: list[Rule]) -> bool:
        """Whether the file has every column the rules judge rows by."""
        return all(set(sources_of(r) if part_of(r) != IDS else columns_read(r))
                   <= self.columns for r in rules)

    def part(self, name: str, rules: list[Rule],
             derive: Callable[[pd.DataFrame], pd.DataFrame]) -> Part:
        """Part `name` (the part of each of `rules`); `derive` adds the derived
        columns to a frame of the file's values."""
        if name == IDS:
            return Part(name, self._identity_rows(rules))
        sources = ", ".join(f'"{c}"' for c in name.split(","))
        values = derive(self._frame(
            f"SELECT {sources}, count(*) AS {WEIGHT} FROM file_rows GROUP BY ALL"))
        # Rows the rules cannot tell apart (the same team and roster team, the
        # same count of allocations) are judged once: tens of thousands of
        # workers become the few hundred combinations GX needs to see.
        read = sorted({c for rule in rules for c in columns_read(rule)})
        values[GROUP] = values.groupby(read, dropna=False, sort=False).ngroup().to_numpy()
        firsts = values.drop_duplicates(GROUP)
        frame = firsts[read].reset_index(drop=True)
        frame[WEIGHT] = np.bincount(values[GROUP], weights=values[WEIGHT],
                                    minlength=len(frame)).astype(int)
        return Part(name, frame, values)

    def every_row(self, derive: Callable[[pd.DataFrame], pd.DataFrame]) -> Part:
        """The part ROWS: every row of the file with its line, derived once. For
        a small file this is cheaper than its parts (a DuckDB query and a
        pandas pass each), and GX sees only a few thousand rows more."""
        frame = self._frame(f"SELECT *, 1 AS {WEIGHT} FROM file_rows ORDER BY {LINE}")
        return Part(ROWS, derive(frame))

    def _identity_rows(self, rules: list[Rule]) -> pd.DataFrame:
        """Every row that could break one of the identity `rules`, with its line."""
        columns, could_fail = set(), []
        for rule in rules:
            read = [f'"{c}"' for c in columns_read(rule)]
            columns.update(read)
            if rule.expectation == "ExpectColumnValuesToNotBeNull":
                could_fail += [f"{c} IS NULL" for c in read]
            else:  # unique: a key seen twice (blanks equal, as pandas has it)
                could_fail.append(f"count(*) OVER (PARTITION BY {', '.join(read)}) > 1")
        return self._frame(
            f"SELECT {', '.join(sorted(columns))}, 1 AS {WEIGHT}, {LINE}"
            f" FROM file_rows QUALIFY {' OR '.join(could_fail)}")

    def roster(self) -> pd.DataFrame:
        """A staff file's team for each worker id: that of the id's last line, as a
        dict built row by row from the whole file holds it."""
        return self._frame(
            "SELECT worker_id, team FROM file_rows QUALIFY row_number() OVER"
            f" (PARTITION BY worker_id ORDER BY {LINE} DESC) = 1")

    def whole(self) -> pd.DataFrame:
        """Every row, indexed by line (for a file GX is given whole)."""
        if self.file.frame is not None:
            return self.file.frame
        frame = self._frame(f"SELECT * FROM file_rows ORDER BY {LINE}")
        return frame.set_index(LINE).rename_axis(None)

    def failing_rows(self, part: Part, positions: list[int], rule: Rule
                     ) -> tuple[int, tuple[tuple[int, str | None], ...]]:
        """How many rows of the file the part's rows at `positions` stand for,
        and the first lines among them, each with the text the rule shows."""
        if not positions:
            return 0, ()
        count = int(part.frame[WEIGHT].iloc[positions].sum())
        shown = shown_column(rule)
        if part.values is None:  # rows that are lines
            rows = part.frame.iloc[positions].sort_values(LINE).head(MAX_EXAMPLES)
            texts = rows[shown] if shown else [None] * len(rows)
            return count, tuple((int(line), None if shown is None else example_text(text))
                                for line, text in zip(rows[LINE], texts, strict=True))
        sources = part.name.split(",")
        failing = part.values.loc[part.values[GROUP].isin(positions), sources]
        self.con.register("failing_values", pa.Table.from_pandas(failing,
                                                                   preserve_index=False))
        try:
            match = " AND ".join(f'r."{c}" IS NOT DISTINCT FROM f."{c}"' for c in sources)
            text = f'r."{shown}"' if shown else "NULL"
            found = self.con.sql(
                f"SELECT r.{LINE}, {text} FROM file_rows AS r"
                f" SEMI JOIN failing_values AS f ON {match}"
                f" ORDER BY r.{LINE} LIMIT {MAX_EXAMPLES}").fetchall()
        finally:
            self.con.unregister("failing_values")
        return count, tuple((int(line), None if shown is None else example_text(text))
                            for line, text in found)

    def _frame(self, query: str) -> pd.DataFrame:
        return self.con.sql(query).to_arrow_table().to_pandas()


def example_text(value) -> str:
    """A value's text as a message shows it beside its line (a blank is empty)."""
    return value if isinstance(value, str) else ""
