"""End-to-end: `streamlit run app.py` in a real headless Chromium driven by Playwright."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from apphelp import ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "artifacts" / "screenshots"


def _browser_available():
    if os.path.exists(CHROMIUM) and shutil.which("chromium"):
        try:
            import playwright  # noqa: F401
            return True, ""
        except ImportError:
            return False, "playwright is not installed (pip install -r requirements-dev.txt)"
    return False, f"no Chromium at {CHROMIUM} (apt-get install chromium, or run `make test`)"


ok, why = _browser_available()
if not ok:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run under CI: {why}", pytrace=False)
    pytest.skip(f"browser tests skipped: {why}", allow_module_level=True)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_dir):
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", BERT_PLAYGROUND_MODEL=str(tiny_dir), BERT_PLAYGROUND_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("streamlit did not start within 60 s")
    yield Server(url, proc.pid)
    proc.terminate()
    proc.wait(timeout=20)


class Server(str):
    """The server's address (tests write `server + path`), with the process id of the server (`pid`)."""

    def __new__(cls, url: str, pid: int):
        self = super().__new__(cls, url)
        self.pid = pid
        return self

    def rss_mb(self) -> float:
        """The server process's resident memory now, in MB (Linux /proc)."""
        for line in open(f"/proc/{self.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(browser, url, expect_text):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.get_by_text(expect_text).first.wait_for(timeout=90_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=90_000)
    if page.locator('[data-testid="stPlotlyChart"]').count():
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    return page


@pytest.mark.parametrize("path, expect, shot", [
    ("/", "What each page teaches", "home.png"),
    ("/Input_representation", "Inside one token's input vector", "input_representation.png"),
])
def test_page_renders_without_exception(server, browser, path, expect, shot):
    page = _open(browser, server + path, expect)
    assert page.locator('[data-testid="stException"]').count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / shot), full_page=True)
    assert (SHOTS / shot).stat().st_size > 10_000
    page.close()


@pytest.mark.parametrize("task, metric, shot", [
    ("Classify texts", "Accuracy", "finetune_classify.png"),
    ("Sentence pairs (entailment)", "Accuracy", "finetune_pairs.png"),
    ("Tag words (NER)", "Entity F1", "finetune_tag.png"),
    ("Answer questions (extractive QA)", "Exact match", "finetune_qa.png"),
])
def test_fine_tuning_full_run_of_a_task(server, browser, task, metric, shot):
    """Pick the task, train one epoch on its shipped demo set, see the metrics, the try-it box and the sheet."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server + "/Fine-tuning")
    page.get_by_text("Start training").first.wait_for(timeout=240_000)
    page.get_by_text(task).first.click()
    page.wait_for_timeout(2000)
    epochs = page.get_by_role("spinbutton", name="Epochs")  # (the help tooltip carries the label too)
    epochs.fill("1")
    epochs.press("Enter")
    page.wait_for_timeout(2000)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Runs in this session").first.wait_for(timeout=400_000)  # drawn once the run is recorded
    page.get_by_text(metric, exact=True).first.wait_for(timeout=60_000)  # the metric's label, not a chart legend
    page.wait_for_timeout(1500)
    assert page.locator('[data-testid="stException"]').count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / shot), full_page=True)
    page.close()
