"""How text is cleaned and names are compared: one definition for the whole pipeline.

Every value read from a monthly file is cleaned once, where it enters
(extract.py), by `clean_text`: Unicode NFKC (full-width letters, ligatures and
the no-break spaces Excel exports carry become their plain forms), every
Unicode space character (tab, no-break space, em space, line separator, ...)
counted as a space, the zero-width characters a person cannot see removed,
then trimmed with inner runs collapsed to one space. Validation, staging SQL
and the warehouse therefore all see the same text.

Names (teams, roles) are then compared in folded form, `fold_name`: the clean
text, case-folded. SQL uses this very function (warehouse.py registers it in
DuckDB as `fold`), so a name validation accepts is the name the load resolves.
"""

from __future__ import annotations

import functools
import unicodedata

# Invisible and not a space in Unicode, but typed or pasted into names and ids
# (word processors, web pages, a byte-order mark in the middle of a file):
# a person sees nothing there, so neither does the pipeline. Joiners (U+200C/D)
# stay: they change how some scripts are written.
INVISIBLE = "\u200b\u2060\ufeff"
_REMOVE_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE))

@functools.lru_cache(maxsize=1 << 16)
def clean_text(text: str) -> str:
    """`"\\tReview\\u00a0 Team "` -> `"Review Team"` (see the module docstring).

    Cached: a month's names and codes repeat, so each distinct value is
    cleaned once."""
    if is_plain(text):
        return text.strip(" ")  # the common case: nothing else to do
    text = unicodedata.normalize("NFKC", text.translate(_REMOVE_INVISIBLE))
    return " ".join(text.split())


def is_plain(text: str) -> bool:
    """Whether `clean_text` only trims spaces off `text`: printable ASCII with no
    double space. The CSV reader trims such values in SQL, without Python."""
    return text.isascii() and text.isprintable() and "  " not in text


def fold_name(name: str) -> str:
    """The form two names are compared in: `" Review\\u00a0 TEAM "` -> `"review team"`."""
    return clean_text(name).casefold()
