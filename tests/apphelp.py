"""Helpers for AppTest tests of the pages."""
import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # AppTest's 3 s default is too short for a model


def run(path: str, timeout: float = TIMEOUT) -> AppTest:
    """Run app.py or pages/<file> once and fail on any uncaught exception."""
    at = AppTest.from_file(str(ROOT / path), default_timeout=timeout)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def plotly_specs(at) -> list[dict]:
    """The Plotly figures on the page (AppTest cannot read charts otherwise)."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
