"""User-facing errors: one exception type whose message is safe to show as it is."""


class PlaygroundError(ValueError):
    """Bad input or an unusable checkpoint. The message is one plain sentence or two, for a user."""


class CheckpointError(PlaygroundError):
    """A checkpoint that cannot be found, reached or loaded."""
