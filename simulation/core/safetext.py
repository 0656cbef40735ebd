r"""Safe text: what the package writes to a terminal, a message or a CSV cell.

Text that came from a user's files (a YAML key, a CSV header, a place name, a whole
file read by mistake) is shown back in messages and written into results. Three rules
keep that harmless, each in one place:

- :func:`printable` makes control characters visible (``\x1b`` rather than an escape
  sequence that would repaint the terminal), so a message shows what the file holds;
- :func:`excerpt` quotes at most a short, printable piece of a value: a message names
  what is wrong, it never reprints a file (``census: /proc/self/environ`` must not print
  the environment);
- :func:`spreadsheet_cell` keeps a CSV cell from being evaluated by a spreadsheet: text
  that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written with
  a leading apostrophe, the convention spreadsheets read as "this is text" (and a
  carriage return inside text is written as a line break, which the CSV writer quotes).
  Every CSV the package writes goes through :func:`write_csv` or :func:`write_rows`.

Imports nothing from the package.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Control characters, and the Unicode line separators and direction overrides that
reorder or hide text on a terminal. Tab and newline are kept by :func:`printable`."""

EXCERPT_CHARS = 60
"""The most characters of a value that a message quotes."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet evaluate a cell (OWASP's list)."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, keep_newlines: bool = True) -> str:
    r"""``text`` with control characters shown as escapes: ``"a\x1b[2Jb"`` as ``a\x1b[2Jb``.

    >>> printable("ward\x1b[31m")
    'ward\\x1b[31m'
    >>> printable("one\ntwo", keep_newlines=False)
    'one\\x0atwo'
    """
    shown = _CONTROL.sub(_escape, text)
    if not keep_newlines:
        shown = shown.replace("\n", "\\x0a").replace("\t", "\\x09")
    return shown


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    r"""At most ``limit`` characters of ``value``, on one line, printable, marked if cut.

    >>> excerpt("x" * 100, 10)
    'xxxxxxxxx…'
    >>> excerpt("a\nb")
    'a\\x0ab'
    """
    text = str(value)
    cut = len(text) > limit
    shown = printable(text[: limit * 4], keep_newlines=False)
    if cut or len(shown) > limit:
        return shown[: limit - 1] + "…"
    return shown


def spreadsheet_cell(value: Any) -> Any:
    """A cell value a spreadsheet shows as written: risky text gets a leading apostrophe.

    Numbers (a negative number included) are left alone: only text is evaluated.

    >>> spreadsheet_cell("=SUM(A1:A9)")
    "'=SUM(A1:A9)"
    >>> spreadsheet_cell(-5.0), spreadsheet_cell("Northmoor")
    (-5.0, 'Northmoor')
    """
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS):
        value = "'" + value
    # A lone carriage return is not quoted by the CSV writer and would split the row
    # for a reader; as a line break it is quoted and read back whole.
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


def as_written(cell: str) -> str:
    """A cell read back from a CSV this package wrote, without the apostrophe it added.

    >>> as_written("'+1% (95% CI -2% to +4%)"), as_written("'Tis")
    ('+1% (95% CI -2% to +4%)', "'Tis")
    """
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def spreadsheet_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row for :class:`csv.DictWriter` with every cell made safe."""
    return {key: spreadsheet_cell(value) for key, value in row.items()}


def spreadsheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text cells and column names made safe (a copy if any changed)."""
    text = [c for c in frame.columns if frame[c].dtype == object or str(frame[c].dtype) in _TEXT]
    risky = [c for c in text if _may_be_read_as_formula(frame[c])]
    names = [spreadsheet_cell(c) for c in frame.columns]
    if not risky and names == list(frame.columns):
        return frame
    safe = frame.copy()
    for column in risky:
        safe[column] = safe[column].map(spreadsheet_cell)
    safe.columns = names
    return safe


_TEXT = ("string", "str", "category")


def _may_be_read_as_formula(column: pd.Series) -> bool:
    """Whether a text column has a cell that :func:`spreadsheet_cell` would change."""
    if column.dtype != object:  # a column of text, searched whole, not a cell at a time
        try:
            strings = column.str
        except AttributeError:  # categories that are not text
            pass
        else:
            risky = strings.startswith(FORMULA_STARTS) | strings.contains("\r", regex=False)
            return bool(risky.any())
    # Any values: only text can be risky.
    return bool(
        column.map(
            lambda v: isinstance(v, str) and (v.startswith(FORMULA_STARTS) or "\r" in v)
        ).any()
    )


def write_csv(frame: pd.DataFrame, target: str | Path | IO[str], **options: Any) -> None:
    """Write ``frame`` as CSV (as :meth:`pandas.DataFrame.to_csv`), every cell made safe.

    ``index`` defaults to False.
    """
    options.setdefault("index", False)
    spreadsheet_frame(frame).to_csv(target, **options)


def write_rows(handle: IO[str], columns: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Write dict rows as CSV with a header, every cell made safe."""
    writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(spreadsheet_row(row))
