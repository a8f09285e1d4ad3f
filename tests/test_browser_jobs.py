"""End-to-end (issue 19): a training job belongs to its session. Start a long run in a real browser, reload the page:
the job stops within seconds and the server's CPU time stops growing (read from /proc, so Linux only)."""
import os
import time

import pytest

from test_browser import browser, server  # noqa: F401  (fixtures: a `streamlit run app.py` and headless Chromium)

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads CPU time from /proc")


def _server_pid(url: str) -> int:
    """The streamlit process listening on the test server's port."""
    port = url.rsplit(":", 1)[1]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmd) and port.encode() in cmd:
            return int(pid)
    raise AssertionError("server process not found")


def _cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _cpu_over(pid: int, seconds: float) -> float:
    c0 = _cpu_seconds(pid)
    time.sleep(seconds)
    return _cpu_seconds(pid) - c0


def test_reload_stops_the_training_job(server, browser):  # noqa: F811
    pid = _server_pid(server)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server + "/Fine-tuning")
    page.get_by_text("Start training").first.wait_for(timeout=90_000)
    for label, value in (("Epochs", "50"), ("Time limit (s)", "3600")):
        box = page.get_by_role("spinbutton", name=label)
        box.fill(value)
        box.press("Enter")
        page.wait_for_timeout(1500)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("step ").first.wait_for(timeout=90_000)  # the progress line: training runs
    busy = _cpu_over(pid, 3.0)
    assert busy > 0.5, f"the job should keep a core busy (used {busy:.2f} s of CPU in 3 s)"  # (a shared CI box)
    page.reload()
    page.get_by_text("Start training").first.wait_for(timeout=90_000)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20 and _cpu_over(pid, 1.0) > min(0.3, busy / 6):
        pass
    stopped_after = time.monotonic() - t0
    idle = _cpu_over(pid, 3.0)
    page.close()
    print(f"busy {busy:.2f} CPU-s/3 s; stopped {stopped_after:.1f} s after the reload; then {idle:.2f} CPU-s/3 s")
    assert stopped_after < 10, f"the job still ran {stopped_after:.1f} s after the reload"
    assert idle < min(0.6, busy / 3), f"CPU time still grows after the reload ({idle:.2f} s in 3 s)"


def test_an_upload_over_the_cap_leaves_the_file_in_use_named(server, browser, tmp_path):  # noqa: F811
    """The browser refuses a file over server.maxUploadSize (a red chip) and the server never sees it: the page
    states the cap in its own words and names the file it still reads."""
    good, big = tmp_path / "good.csv", tmp_path / "big.csv"
    good.write_text("text,label\n" + "".join(f"example sentence {i},{'ab'[i % 2]}\n" for i in range(40)))
    with big.open("w") as f:  # 11 MB: over the 10 MB cap however the browser counts a megabyte
        f.write("text,label\n")
        line = "x" * 1000 + ",a\n"
        for _ in range(11 * 1024 + 100):
            f.write(line)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server + "/Fine-tuning")
    page.get_by_text("Start training").first.wait_for(timeout=90_000)
    page.get_by_text("Upload CSV/TSV", exact=True).click()
    page.get_by_text("Files of up to 10 MB").first.wait_for(timeout=60_000)
    uploader = page.locator('[data-testid="stFileUploader"] input[type=file]').first
    uploader.set_input_files(str(good))
    page.get_by_text("32 training and 8 held-out").first.wait_for(timeout=60_000)
    status = page.get_by_text("In use: good.csv").first
    status.wait_for(timeout=60_000)
    uploader.set_input_files(str(big))
    page.get_by_text("or smaller").first.wait_for(timeout=30_000)  # Streamlit's red chip
    page.wait_for_timeout(1500)
    text = status.inner_text()
    assert "good.csv" in text and "refused by your browser" in text and "leaves the file in use unchanged" in text
    assert page.get_by_text("32 training and 8 held-out").count() == 1
    page.close()


def _plotted_points(page) -> list[int]:
    """How many points each Plotly chart on the page draws (Plotly keeps its traces on the chart's div)."""
    return page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map("
                         "d => (d.data || []).reduce((n, t) => n + ((t.y || []).length), 0))")


def test_the_lab_starts_a_run_draws_its_curves_and_stops(server, browser):  # noqa: F811
    """Issue 28: the Pre-training lab in a real browser. Start a run, see its live curves (the loss and the
    held-out accuracy from the step-0 snapshot on) with points in them, press Stop: the run ends, the server's CPU
    falls quiet and the page offers Pre-train again with the run's result."""
    pid = _server_pid(server)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server + "/Pretraining_lab")
    start = page.get_by_role("button", name="Pre-train", exact=True)
    start.wait_for(timeout=90_000)
    box = page.get_by_role("spinbutton", name="Time limit (s, at most 600)")
    box.fill("300")
    box.press("Enter")
    page.wait_for_timeout(1500)
    start.click()
    page.get_by_text("tokens/s").first.wait_for(timeout=120_000)  # the live caption: step, tokens, tokens/s
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120 and len([n for n in _plotted_points(page) if n > 0]) < 2:
        page.wait_for_timeout(1000)
    points = _plotted_points(page)
    assert len([n for n in points if n > 0]) >= 2, f"the live loss and accuracy curves should have points: {points}"
    assert _cpu_over(pid, 3.0) > 0.5, "the run should keep a core busy"
    page.get_by_role("button", name="Stop", exact=True).click()
    start.wait_for(timeout=60_000)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60 and not start.is_enabled():
        page.wait_for_timeout(500)
    assert start.is_enabled(), "Pre-train should be offered again once the run has stopped"
    assert page.get_by_role("button", name="Stop", exact=True).count() == 0
    idle = _cpu_over(pid, 3.0)
    page.close()
    assert idle < 0.6, f"CPU time still grows after Stop ({idle:.2f} s in 3 s)"
