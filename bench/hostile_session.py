"""A scripted hostile session against one local server (issue 19): RSS before, at the peak and after the sessions close.

Starts `streamlit run app.py` on 127.0.0.1 only (never another address), opens `--sessions` headless Chromium tabs and
makes each one try what a mischievous student would: the same checkpoint under several spellings (`embedded`,
`./assets/model`, `assets/model/`), a path outside the repository, a long fine-tuning run (50 epochs, one-hour limit)
that the tab then abandons by reloading, an upload with the labels `²`/`³`/`NaN`, 600 masks, zero-width text and
`[SEP]` typed into the attention page. Everything is bounded (`--seconds` per session step, a hard overall limit).
It prints the server's resident memory (VmRSS from /proc) before the first session, the peak while the sessions run,
and after they closed (at once, then after `--settle` seconds), plus whether training CPU stopped after the reloads.
A closed session's state is released once it has been disconnected for `server.disconnectedSessionTTL` seconds
(30 in .streamlit/config.toml; `session_ttl_s` below), so a `--settle` above that shows memory after the release.

What is shared on purpose is measured apart from what sessions leave: one warm-up session makes the same moves first
and is closed and released; the server's RSS then (`rss_shared_baseline_mb`) holds everything kept for all sessions
(the cached models and tokenizers, the allocator's working set), and `shared_mb` is its growth over the cold server.
`leftover_mb` is what the measured sessions leave above that baseline after `--settle` seconds, and
`seconds_to_within_100mb` when the RSS, sampled every second after the last session closed, first came back to within
100 MB of it (null if it never did).

    .venv/bin/python bench/hostile_session.py [--sessions 3] [--settle 60] [--model embedded] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
RELEASE_MARGIN_S = 8  # the reaper's tick (2 s) and a garbage collection after the session TTL
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

from memory_growth import proc_mb  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(model: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, HF_HUB_OFFLINE="1", BERT_PLAYGROUND_MODEL=model, BERT_PLAYGROUND_THREADS="1",
               MALLOC_MMAP_THRESHOLD_="131072")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(240):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).status == 200:
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the server did not start within 120 s")


class Peak(threading.Thread):
    """Samples the server's RSS every 0.2 s and keeps the highest value."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, proc_mb("VmRSS", self.pid))
            time.sleep(0.2)


def _ready(page, timeout=90_000):
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


def _use_checkpoint(page, spelling: str):
    page.get_by_text("Local folder", exact=True).first.click()
    box = page.get_by_placeholder("bert-base-uncased or /path/to/checkpoint")
    box.fill(spelling)
    page.get_by_role("button", name="Use this checkpoint").click()
    _ready(page)


def attack(browser, url: str, n, log: list):
    """One mischievous session; every step is bounded by Playwright's timeouts."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(url + "/Attention")
        page.get_by_text("Sentence A").first.wait_for(timeout=120_000)
        _ready(page)
        for spelling in ("./assets/model", "assets/model/", "/etc"):
            _use_checkpoint(page, spelling)
        page.get_by_label("Sentence A").fill("\u200b\u200b\u200b")
        page.keyboard.press("Control+Enter")
        _ready(page)
        page.get_by_label("Sentence A").fill("the cat [SEP] sat [CLS] down")
        page.keyboard.press("Control+Enter")
        _ready(page)
        page.goto(url + "/Masked_LM")
        _ready(page)
        page.get_by_role("tab", name="Fill in the blanks").click()
        page.get_by_label("Text with [MASK] where a word is missing").fill("a " + "[MASK] " * 600)
        page.keyboard.press("Control+Enter")
        _ready(page, 180_000)
        page.goto(url + "/Fine-tuning")
        _ready(page)
        for label, value in (("Epochs", "50"), ("Time limit (s)", "3600")):
            box = page.get_by_role("spinbutton", name=label)
            box.fill(value)
            box.press("Enter")
            _ready(page)
        page.get_by_role("button", name="Start training").click()
        page.wait_for_timeout(4000)
        page.reload()  # abandon the run: the watchdog must stop it
        _ready(page)
        log.append(f"session {n}: done")
    except Exception as exc:  # a bench never stops at one failed step: it reports it
        log.append(f"session {n}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
    finally:
        page.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=3)
    ap.add_argument("--settle", type=float, default=60.0, help="seconds to wait after the sessions closed")
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not 1 <= args.sessions <= 20 or not 0 <= args.settle <= 300:
        raise SystemExit("error: --sessions 1-20, --settle 0-300")
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = start_server(args.model, port)
    url = f"http://127.0.0.1:{port}"
    import tomllib

    ttl = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text()).get("server", {}).get(
        "disconnectedSessionTTL", 120)
    out, log = {"sessions": args.sessions, "session_ttl_s": ttl}, []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            warm = browser.new_page()
            warm.goto(url + "/Attention")  # the model loaded: "before" is a warm server
            warm.get_by_text("Sentence A").first.wait_for(timeout=120_000)
            warm.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=120_000)
            _ready(warm)
            warm.close()
            time.sleep(2)
            out["rss_before_mb"] = round(proc_mb("VmRSS", server.pid), 1)
            attack(browser, url, "warm-up", log)  # what every later session shares: loaded once, kept on purpose
            time.sleep(ttl + RELEASE_MARGIN_S)  # closed, then released by the server's reaper
            out["rss_shared_baseline_mb"] = round(proc_mb("VmRSS", server.pid), 1)
            out["shared_mb"] = round(out["rss_shared_baseline_mb"] - out["rss_before_mb"], 1)
            peak = Peak(server.pid)
            peak.start()
            for i in range(args.sessions):  # Playwright's sync API is not thread-safe: one session after another
                attack(browser, url, i, log)
            browser.close()
        out["rss_closed_mb"] = round(proc_mb("VmRSS", server.pid), 1)
        c0, closed, series = cpu_seconds(server.pid), time.monotonic(), []
        while (waited := time.monotonic() - closed) < args.settle:
            time.sleep(min(1.0, args.settle - waited))
            series.append((round(time.monotonic() - closed, 1), round(proc_mb("VmRSS", server.pid), 1)))
        peak.running = False
        out["server_cpu_s_during_settle"] = round(cpu_seconds(server.pid) - c0, 2)
        out["rss_peak_mb"] = round(max(peak.peak, out["rss_closed_mb"]), 1)
        out["rss_after_settle_mb"] = round(proc_mb("VmRSS", server.pid), 1)
        out["leftover_mb"] = round(out["rss_after_settle_mb"] - out["rss_shared_baseline_mb"], 1)
        back = [t for t, mb in series if mb - out["rss_shared_baseline_mb"] <= 100]
        out["seconds_to_within_100mb"] = back[0] if back else None
        out["rss_after_close_series"] = series[::5]
        out["log"] = log
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>28}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
