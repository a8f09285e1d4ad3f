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
