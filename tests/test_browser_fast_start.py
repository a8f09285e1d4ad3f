"""End-to-end cold start: the home page draws from config.json while the model loads behind it, and the first model
page opened right after it waits for that load (spinner), then shows its result. A real `streamlit run` in Chromium."""
import os
import subprocess
import sys
import time
import urllib.request

from apphelp import ROOT
from test_browser import ARGS, CHROMIUM, _free_port  # skips this module too when there is no browser


def _wait_rendered(page, text, timeout_ms=120_000):
    page.get_by_text(text).first.wait_for(timeout=timeout_ms)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def test_home_then_first_model_page_on_a_fresh_server(tiny_dir, tmp_path):
    from playwright.sync_api import sync_playwright

    port, log = _free_port(), tmp_path / "server.log"
    env = dict(os.environ, HF_HUB_OFFLINE="1", BERT_PLAYGROUND_MODEL=str(tiny_dir), BERT_PLAYGROUND_THREADS="1")
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                 "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            _wait_rendered(page, "In use now")
            sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
            assert "BERT · 2 layers · 4 heads · hidden 32" in sidebar  # config.json, read without loading
            assert "2 layers × 4 heads, hidden size 32" in page.inner_text("body")
            page.goto(url + "/Masked_LM")  # at once: the background load may still be running
            _wait_rendered(page, "Mean loss by action")  # the model's loss at the chosen positions: it ran
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    assert "Traceback" not in text and "missing ScriptRunContext" not in text, text[-2000:]
