"""Helpers for AppTest tests of the pages."""
import ast
import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # AppTest's 3 s default is too short for a model


def _constant(path, name: str):
    """A page's module-level constant, read from its source (running the page would draw it)."""
    tree = ast.parse(path.read_text())
    return next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == name for t in n.targets))


MLM_TAB = "mlm_tab"  # the key of the Masked-LM page's tabs, and their labels (pages/2_Masked_LM.py TABS)
MLM_TABS = _constant(ROOT / "pages" / "2_Masked_LM.py", "TABS")
FILL, RTD, SHEET = ({MLM_TAB: label} for label in MLM_TABS[1:])  # run(..., tabs=FILL) opens the fill tab


def run(path: str, timeout: float = TIMEOUT, tabs: dict[str, str] | None = None, query: dict | None = None) -> AppTest:
    """Run app.py or pages/<file> once and fail on any uncaught exception.
    `tabs` ({tabs key: label}) opens those tabs before the first run: a page with lazy tabs (st.tabs with a key and
    on_change="rerun") runs only the open tab's content, so a test must open the tab whose widgets it reads.
    `query`: the link's query parameters (a None value is left out: the page's own default)."""
    at = AppTest.from_file(str(ROOT / path), default_timeout=timeout)
    for key, label in (tabs or {}).items():
        at.session_state[key] = label
    for k, v in (query or {}).items():
        if v is not None:
            at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_tab(at: AppTest, key: str, label: str) -> AppTest:
    """Open the tab `label` of the st.tabs keyed `key` (as a click on it does) and rerun: only the open tab's
    content runs, so the other tabs' widgets and charts are absent until they are opened."""
    at.session_state[key] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[key] == label
    return at


def plotly_specs(at) -> list[dict]:
    """The Plotly figures on the page (AppTest cannot read charts otherwise)."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def z_of(spec: dict, trace: int = 0):
    """A trace's z as an array (Plotly ships numpy arrays base64-encoded)."""
    import base64

    import numpy as np

    z = spec["data"][trace]["z"]
    if isinstance(z, dict):
        shape = [int(n) for n in str(z["shape"]).split(",")]
        return np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)
    return np.array(z, dtype=float)
