"""Cold start of the app: `streamlit run app.py` process start -> first fully rendered page in headless Chromium.

Measured with Playwright driving Debian's Chromium: the clock starts when the server process is spawned and
stops when the home page shows its checkpoint metric and has finished running (the home page does not wait for
the model: it loads in the background). `--then PATH` then opens a model page in the same browser and also
reports the time from process start until that page has drawn its result (the model loaded, under a spinner if
it was not there yet). Also prints the server's resident memory once the page is up. Usage:

    .venv/bin/python bench/cold_start.py [--runs 3] [--model embedded] [--page /] [--then /Masked_LM]
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, from /proc (Linux)."""
    total = 0
    pids = [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(p) for p in out]
    except FileNotFoundError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def start_server(model: str | None, port: int) -> subprocess.Popen:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if model:
        env["BERT_PLAYGROUND_MODEL"] = model
    return subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.headless", "true"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


THEN_EXPECT = {"/Masked_LM": "The model at the chosen positions"}  # text a model page shows with its result


def wait_rendered(page, expect: str, timeout_ms: int = 120_000) -> None:
    page.get_by_text(expect).first.wait_for(timeout=timeout_ms)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def one_run(browser, model: str | None, page_path: str, expect: str,
            then: str | None = None) -> tuple[float, float, float] | tuple[float, float, float, float]:
    port = free_port()
    t0 = time.perf_counter()
    proc = start_server(model, port)
    try:
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.05)
            if time.perf_counter() - t0 > 120:
                raise RuntimeError("server did not come up in 120 s")
        page = browser.new_page()
        page.goto(url + page_path)
        wait_rendered(page, expect)
        elapsed = time.perf_counter() - t0
        mem = rss_mb(proc.pid), peak_rss_mb(proc.pid)
        if then:  # the reader moves on to a model page as soon as the home page is there
            page.goto(url + then)
            wait_rendered(page, THEN_EXPECT.get(then, "Checkpoint"))
            return elapsed, *mem, time.perf_counter() - t0
        page.close()
        return elapsed, *mem
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--model", default=None, help="checkpoint (default: embedded)")
    ap.add_argument("--page", default="/")
    ap.add_argument("--expect", default="In use now")
    ap.add_argument("--then", default=None, help="then open this model page, e.g. /Masked_LM")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    times, mems, peaks, thens = [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(args.runs):
            t, m, pk, *then = one_run(browser, args.model, args.page, args.expect, args.then)
            times.append(t)
            mems.append(m)
            peaks.append(pk)
            thens += then
        browser.close()
    print(f"cold start (process start -> rendered {args.page}), {args.runs} runs: "
          f"median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s")
    if thens:
        print(f"then {args.then} (process start -> its result drawn), {args.runs} runs: "
              f"median {statistics.median(thens):.2f} s, min {min(thens):.2f} s, max {max(thens):.2f} s")
    print(f"server memory after first page: RSS {statistics.median(mems):.0f} MB, peak {statistics.median(peaks):.0f} MB")


if __name__ == "__main__":
    main()
