"""Notices: sentences a result carries for its user (the page shows them, the CLI prints them)."""
from __future__ import annotations


class Notice(str):
    """A sentence for the user; `level` is 'info' (how the input was read) or 'warning' (weaker results)."""

    level: str

    def __new__(cls, text: str, level: str = "info"):
        self = super().__new__(cls, text)
        self.level = level
        return self


def warning(text: str) -> Notice:
    return Notice(text, "warning")
