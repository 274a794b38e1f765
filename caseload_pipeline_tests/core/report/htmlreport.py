"""Read a rendered report back with the standard library's HTML parser.

Tests compare what a reader sees (the text of lists and table cells) with the
warehouse, so they parse the HTML rather than searching the template source.
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser


class ReportParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.start_tags: Counter[str] = Counter()
        self.svgs: list[dict] = []  # attributes of each <svg>, plus its first child tag
        self.tables: dict[str, list[list[str]]] = {}  # id -> rows of cell texts
        self.captions: dict[str, str] = {}
        self.lists: dict[str, list[str]] = {}  # id -> item texts
        self.texts: dict[str, str] = {}  # id -> text of any other element with an id
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self._list: str | None = None
        self._item: list[str] | None = None
        self._svg_depth = 0
        self._open_ids: list[tuple[str, str, list[str]]] = []  # (tag, id, text parts)
        self._all: list[str] = []

    @property
    def text(self) -> str:
        """All visible text outside the charts, whitespace collapsed."""
        return _clean(self._all)

    def handle_starttag(self, tag, attrs):
        self.start_tags[tag] += 1
        a = dict(attrs)
        if self._svg_depth and len(self.svgs[-1]) and "first_child" not in self.svgs[-1]:
            self.svgs[-1]["first_child"] = tag
        if tag == "svg":
            self._svg_depth += 1
            self.svgs.append(dict(a))
            return
        if tag == "table":
            self._table = a.get("id", f"table-{len(self.tables)}")
            self.tables[self._table] = []
        elif tag == "caption":
            self._caption = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag in ("ul", "ol") and a.get("id"):
            self._list = a["id"]
            self.lists[self._list] = []
        elif tag == "li" and self._list:
            self._item = []
        elif a.get("id") and tag not in ("section",):
            self._open_ids.append((tag, a["id"], []))

    def handle_endtag(self, tag):
        if tag == "svg":
            self._svg_depth -= 1
        elif tag == "table":
            self._table = None
        elif tag == "caption" and self._caption is not None:
            self.captions[self._table or ""] = _clean(self._caption)
            self._caption = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(_clean(self._cell))
            self._cell = None
        elif tag in ("ul", "ol"):
            self._list = None
        elif tag == "li" and self._item is not None:
            self.lists[self._list].append(_clean(self._item))
            self._item = None
        if self._open_ids and self._open_ids[-1][0] == tag:
            _, ident, parts = self._open_ids.pop()
            self.texts[ident] = _clean(parts)

    def handle_data(self, data):
        if self._svg_depth:
            return
        self._all.append(data)
        for target in (self._cell, self._caption, self._item):
            if target is not None:
                target.append(data)
        for _, _, parts in self._open_ids:
            parts.append(data)


def _clean(parts: list[str]) -> str:
    return " ".join("".join(parts).split())


def parse(html: str) -> ReportParser:
    parser = ReportParser()
    parser.feed(html)
    parser.close()
    return parser


def table_rows(parser: ReportParser, table_id: str) -> list[dict[str, str]]:
    """A table as dicts keyed by its header row."""
    header, *rows = parser.tables[table_id]
    return [dict(zip(header, row, strict=True)) for row in rows]
