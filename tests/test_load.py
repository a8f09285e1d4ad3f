"""Reduced load test (bench/load_test.py): 5 browser sessions for 30 s against one `streamlit run app.py`
on the tiny checkpoint, each running the scripted sequence over all pages (at least once, even past 30 s
on a slow machine); no exception, timeout or JS error is allowed. The full run (20 sessions, 120 s, embedded checkpoint) is `python bench/load_test.py`."""
import os

import pytest

from apphelp import ROOT
from test_browser import _browser_available

ok, why = _browser_available()
if not ok:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the load test cannot run under CI: {why}", pytrace=False)
    pytest.skip(f"load test skipped: {why}", allow_module_level=True)



def test_five_sessions_for_30_seconds_without_errors(tiny_dir):
    import load_test

    r = load_test.run(sessions=5, seconds=30, model=str(tiny_dir), env={"BERT_PLAYGROUND_THREADS": "1"}, min_loops=1)
    print(load_test.report(r))
    assert r["server_alive"]
    assert (r["exceptions"], r["timeouts"], r["js_errors"]) == (0, 0, 0), r["notes"]
    assert r["error_messages"] == 0, r["notes"]
    assert r["per_action"]["open Fine-tuning"]["n"] >= 5  # every session went through the whole sequence
    assert r["actions"] >= 5 * 16
