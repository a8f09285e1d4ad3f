"""User-facing errors: one exception type whose message is safe to show as it is."""
from __future__ import annotations

import re

MAX_MESSAGE = 300  # characters: a message is one plain sentence or two, whatever a user's input holds
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def shown(value, limit: int = 40) -> str:
    """A user's value inside a message: control characters escaped, cut to `limit` characters, in quotes."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    return "'" + (text if len(text) <= limit else text[: limit - 1] + "…") + "'"


class PlaygroundError(ValueError):
    """Bad input or an unusable checkpoint. The message is one plain sentence or two, for a user: on one line,
    control characters escaped, at most MAX_MESSAGE characters (a long value a user typed never floods it)."""

    def __init__(self, message: str = ""):
        text = " ".join(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(message)).split())
        super().__init__(text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…")


class CheckpointError(PlaygroundError):
    """A checkpoint that cannot be found, reached or loaded."""
