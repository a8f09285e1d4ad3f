"""CSV that a spreadsheet will not run: every CSV the playground writes goes through here.

A cell that begins with '=', '+', '-', '@' (or a tab or carriage return) is read as a formula by Excel, LibreOffice
and Google Sheets, so a shared file could run `=HYPERLINK(...)` when a teacher opens it. As OWASP recommends
("CSV Injection"), such a text cell is written with a leading single quote, which spreadsheets show as text; the
page itself shows the value unchanged. Numbers are never touched.

Rows end in CRLF, as RFC 4180 has it: Python's csv module quotes a cell that holds a character of the line
terminator, so with CRLF a carriage return inside a cell is quoted too (with a bare LF it was not, and the cell
split the row in two when read back).
"""
from __future__ import annotations

import csv
import io

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LINE_END = "\r\n"  # RFC 4180; a cell holding either character is quoted


def cell(value):
    """The value to write: a text cell that a spreadsheet would read as a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write(rows: list[dict], fieldnames: list[str] | None = None) -> str:
    """Rows (dicts) as CSV text with a header, every text cell made safe."""
    fields = fieldnames or list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=fields, lineterminator=LINE_END, extrasaction="ignore")
    w.writeheader()
    w.writerows({k: cell(r.get(k, "")) for k in fields} for r in rows)
    return out.getvalue()


def frame(df):
    """A pandas DataFrame with every text cell (and column name) made safe, for `DataFrame.to_csv`."""
    safe = df.map(cell)
    safe.columns = [cell(str(c)) for c in df.columns]
    return safe


def frame_csv(df) -> str:
    """A pandas DataFrame as safe CSV text (no index), as `write` writes rows."""
    return frame(df).to_csv(index=False, lineterminator=LINE_END)
