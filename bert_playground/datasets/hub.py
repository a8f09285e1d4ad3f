"""Tables from the Hugging Face Hub, when the optional `datasets` package is installed (and the network is there)."""
from __future__ import annotations

import importlib.util

from ..core.errors import PlaygroundError
from .tables import Table

HUB_HINT = ("Public datasets from the Hugging Face Hub need the `datasets` package and network access: "
            "`.venv/bin/pip install datasets`, then restart the app. Until then use the shipped data or upload a CSV/TSV.")


def hub_available() -> bool:
    return importlib.util.find_spec("datasets") is not None


def load_hub(name: str, config: str | None = None, split: str = "train", max_rows: int = 20_000) -> Table:
    """Up to `max_rows` rows of a Hub dataset split as a Table (class-label ids become their names)."""
    if not hub_available():
        raise PlaygroundError(HUB_HINT)
    import datasets as hf_datasets

    name = (name or "").strip()
    if not name:
        raise PlaygroundError("Type a Hugging Face dataset id, for example 'glue' with configuration 'sst2'.")
    try:
        ds = hf_datasets.load_dataset(name, config or None, split=split)
    except Exception as exc:  # offline, unknown id, bad split: all mean 'cannot get it'
        raise PlaygroundError(f"Could not load '{name}' ({split}) from the Hub: {type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:160] if str(exc) else ''}") from None
    if len(ds) > max_rows:
        ds = ds.select(range(max_rows))
    n, cols = len(ds), list(ds.column_names)
    names = {c: getattr(ds.features.get(c), "names", None) for c in cols} if getattr(ds, "features", None) else {}
    data = {c: list(ds[c]) for c in cols}

    def cell(c, v):
        return names[c][v] if names.get(c) and isinstance(v, int) and 0 <= v < len(names[c]) else ("" if v is None else str(v))

    rows = tuple(tuple(cell(c, data[c][i]) for c in cols) for i in range(n))
    if not rows:
        raise PlaygroundError(f"'{name}' ({split}) has no rows.")
    return Table(f"{name}/{config or ''}:{split}", tuple(cols), rows)
