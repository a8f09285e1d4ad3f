"""The lecture hall (scripts/classroom.sh): 2 replicas of the app behind nginx on loopback, embedded model.

Checked through nginx: health, cookie stickiness (a browser always reaches one replica, new browsers are spread),
a browser session on the Fine-tuning page that uploads the shipped training CSV (the upload must reach the
replica holding the session), then the replica serving that browser is killed: its browser reconnects to the
other replica, says so, keeps the page's inputs, and an upload works there; a browser on the other replica is
untouched; nginx never answered with a server error. Ctrl-C (SIGINT) stops every process. Bounded in time."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from apphelp import ROOT
from test_browser import ARGS, CHROMIUM, SHOTS, _browser_available

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
if NGINX is None:
    pytest.skip("lecture-hall test skipped: nginx is not installed (apt-get install nginx, or run `make test`)",
                allow_module_level=True)
ok, why = _browser_available()
if not ok:
    pytest.skip(f"lecture-hall test skipped: {why}", allow_module_level=True)

START_LIMIT = 300  # two replicas loading the embedded checkpoint on a busy 2-core machine
IDLE = ("() => { const a = document.querySelector('[data-testid=\"stApp\"]');"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'"
        " && !document.querySelector('[data-testid=\"stStatusWidget\"]'); }")
TRAIN_CSV = ROOT / "assets" / "finetune" / "train.csv"


def _free_ports(n):
    """n consecutive free loopback ports (the replicas take first, first+1, ...)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            first = s.getsockname()[1]
        if first + n > 65535:
            continue
        try:
            socks = []
            for p in range(first, first + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return first
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free ports")


def _get(url, cookie=None):
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.headers


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    import load_test

    run = tmp_path_factory.mktemp("hall")
    port, first = _free_ports(1), _free_ports(2)
    env = dict(os.environ, BERT_PLAYGROUND_THREADS="1", CLASSROOM_START_TIMEOUT=str(START_LIMIT))
    env.pop("BERT_PLAYGROUND_MODEL", None)  # the embedded checkpoint, as in a classroom
    out = open(run / "classroom.out", "w+")
    proc = subprocess.Popen(["bash", "scripts/classroom.sh", "--replicas", "2", "--port", str(port), "--address",
                             "127.0.0.1", "--first-port", str(first), "--run", str(run)],
                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=load_test.as_from_a_terminal)  # Ctrl-C works as in a terminal
    deadline = time.time() + START_LIMIT + 30
    while "classroom: ready" not in (run / "classroom.out").read_text():
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail("the hall did not start:\n" + (run / "classroom.out").read_text(), pytrace=False)
        time.sleep(0.5)
    replicas = {f"127.0.0.1:{p}": int((run / f"replica-{p}.pid").read_text()) for p in (first, first + 1)}
    yield {"url": f"http://127.0.0.1:{port}", "run": run, "proc": proc, "replicas": replicas}
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # only if the shutdown test did not run or failed


def test_health_and_sticky_cookie_through_nginx(hall):
    url = hall["url"]
    seen = {}
    for _ in range(20):  # new browsers (no cookie) are spread over both replicas...
        status, headers = _get(url + "/_stcore/health")
        assert status == 200
        cookie = re.search(r"(bp_hall=[0-9a-f]{32});", " ".join(headers.get_all("Set-Cookie"))).group(1)
        seen[cookie] = headers["X-Hall-Replica"]
    assert set(seen.values()) == set(hall["replicas"])  # P(one replica 20 times) = 2e-6
    for cookie, replica in list(seen.items())[:5]:  # ...and a browser with its cookie always reaches its own
        for _ in range(4):
            status, headers = _get(url + "/_stcore/health", cookie)
            assert (status, headers["X-Hall-Replica"]) == (200, replica)
            assert "bp_hall" not in " ".join(headers.get_all("Set-Cookie") or [])  # the cookie is set once
    conf = (hall["run"] / "nginx.conf").read_text()
    assert "client_max_body_size 11m;" in conf and "hash $hall_key consistent;" in conf  # maxUploadSize 10 MB


def _open_on_replica(browser, url, path, avoid=None, want=None):
    """A new browser (context) opened at `path`; retried until nginx placed it on the replica wanted."""
    for _ in range(12):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        ctx.set_default_timeout(120_000)
        replica = ctx.request.get(url + "/_stcore/health").headers["x-hall-replica"]  # sets the cookie
        if replica != avoid and want in (None, replica):
            page = ctx.new_page()
            page.goto(url + path)
            page.wait_for_function(IDLE, timeout=120_000)
            return ctx, page, replica
        ctx.close()
    raise AssertionError("nginx never placed a new browser on the replica wanted")


def _upload(page, csv):
    page.get_by_text("Upload CSV/TSV").first.click()
    page.wait_for_function(IDLE)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(csv))
    page.get_by_text(re.compile(r"\d+ training and \d+ held-out examples")).first.wait_for(timeout=120_000)
    page.wait_for_function(IDLE)
    return page.get_by_text(re.compile(r"\d+ training and \d+ held-out examples")).first.inner_text()


def test_upload_and_failover_to_the_other_replica(hall):
    from playwright.sync_api import sync_playwright

    url = hall["url"]
    rows = len(TRAIN_CSV.read_text().strip().splitlines()) - 1
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx, page, victim = _open_on_replica(browser, url, "/Fine-tuning")
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        caption = _upload(page, TRAIN_CSV)  # the upload went through nginx to the session's replica
        n_train, n_test = map(int, re.findall(r"\d+", caption)[:2])
        assert n_train + n_test == rows, caption
        epochs = page.get_by_label("Epochs", exact=True)
        epochs.fill("5")
        epochs.press("Enter")
        page.wait_for_function(IDLE)
        assert page.locator('[data-testid="stSidebar"]').get_by_text("Reconnected").count() == 0

        survivor = next(r for r in hall["replicas"] if r != victim)
        ctx2, page2, _ = _open_on_replica(browser, url, "/Input_representation", want=survivor)
        box = page2.get_by_label("Sentence A", exact=True)
        box.fill("A student on the other replica.")
        box.press("Control+Enter")
        page2.wait_for_function(IDLE)

        os.kill(hall["replicas"][victim], signal.SIGKILL)  # the replica holding the first browser's session
        notice = page.locator('[data-testid="stSidebar"]').get_by_text("Reconnected at")
        notice.wait_for(timeout=60_000)  # it reconnected to the other replica, which told it what was lost
        page.wait_for_function(IDLE, timeout=120_000)
        assert ctx.request.get(url + "/_stcore/health").headers["x-hall-replica"] == survivor
        assert "upload or train again" in notice.inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "hall_reconnected.png"))  # what the student sees after the move
        assert page.get_by_label("Epochs", exact=True).input_value() == "5"  # the page's inputs came back
        uploader = page.locator('[data-testid="stFileUploader"]').first
        assert "train.csv" not in uploader.inner_text()  # not the file the old replica had: it starts empty
        caption = _upload(page, TRAIN_CSV)  # the new session, upload and all, lives on the survivor
        assert sum(map(int, re.findall(r"\d+", caption)[:2])) == rows
        assert page.locator('[data-testid="stException"]').count() == 0 and errors == []

        # the other browser kept its session: no notice, and it still works
        box.fill("Still here after the other replica died.")
        box.press("Control+Enter")
        page2.wait_for_function(IDLE)
        assert page2.get_by_text("Reconnected at").count() == 0
        assert page2.get_by_text(re.compile(r"^\d+ tokens$")).count() == 1
        assert page2.locator('[data-testid="stException"]').count() == 0
        browser.close()
    log = (hall["run"] / "logs" / "access.log").read_text().splitlines()
    assert log and [line for line in log if re.search(r'" 5\d\d ', line)] == []  # nginx sent no server error
    assert "died" in (hall["run"] / "classroom.out").read_text()  # the script noticed and said so


def test_ctrl_c_stops_every_process(hall):
    proc = hall["proc"]
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: SIGINT to the whole process group
    assert proc.wait(timeout=60) != 0  # interrupted
    time.sleep(1)
    nginx_pid = int((hall["run"] / "nginx.pid").read_text()) if (hall["run"] / "nginx.pid").exists() else None
    for pid in [*hall["replicas"].values(), nginx_pid]:
        if pid is not None:
            assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2], pid
    assert "classroom: stopped" in (hall["run"] / "classroom.out").read_text()


def test_load_test_through_nginx_has_no_errors(tiny_dir):
    """bench/load_test.py --hall 2, reduced: 3 browser sessions for 20 s through nginx on the tiny checkpoint."""
    import load_test

    r = load_test.run(sessions=3, seconds=20, model=str(tiny_dir), env={"BERT_PLAYGROUND_THREADS": "1"}, hall=2)
    print(load_test.report(r))
    assert r["server_alive"] and r["replicas"] == 2
    assert (r["exceptions"], r["timeouts"], r["js_errors"], r["nginx_5xx"], r["errors"]) == (0, 0, 0, 0, 0), r["notes"]
    assert r["error_messages"] == 0, r["notes"]
    assert r["actions"] >= 3 * 2  # every session opened the app and did something
    assert sum(p["sessions"] or 0 for p in r["per_replica"]) == 3  # every browser session went through nginx
    assert all(p["rss_after_mb"] > 100 for p in r["per_replica"])  # memory read from each replica process
