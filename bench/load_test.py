"""Load test: N concurrent browser sessions against one local `streamlit run app.py`, for a bounded time.

Starts the server itself (the checkpoint from --model, default the embedded one), warms it up with one
session (model loaded), then opens N Playwright browser contexts in one headless Chromium; each runs a
scripted sequence over the pages, in a loop, until --seconds have passed:
  Input representation: type sentence A;
  Masked LM: move the mask-rate slider, type a seed, press Resample, open 'Fill in the blanks', type a
    text with [MASK];
  Attention: move the layer and head sliders, type sentence A;
  Next sentence prediction: press Resample, flip the IsNext toggle;
  Fine-tuning: open the page (no training).
Pages are changed with the sidebar links, so each browser keeps one Streamlit session. Every action's
time is measured until the page has finished rerunning: the server's `script_finished` message has
arrived (read from the websocket) and the app is idle again (script state 'notRunning', no status
widget). Reported: errors (stException elements, timeouts, JS
errors: must be 0; error messages on the page are counted too), p50/p95 rerun time overall and per
action, and the server's memory before and after (RSS, peak VmHWM). Usage:

    .venv/bin/python bench/load_test.py [--sessions 20] [--seconds 120] [--model embedded] [--json]

Through a load balancer: `--hall N` starts a lecture hall on loopback (scripts/classroom.sh: N replicas behind
nginx, sticky sessions) and drives it through nginx, reporting memory and sessions per replica (sessions counted
from nginx's access log: websocket upgrades per replica) and nginx's 5xx answers; `--url URL` drives a server or
hall that is already running (with `--pid PID` for each replica whose memory should be reported).

    .venv/bin/python bench/load_test.py --hall 2 --sessions 6 --seconds 60
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import cold_start  # noqa: E402  (server start, Chromium path and arguments, /proc memory)
from timing import percentile  # noqa: E402  (the one p50/p95 of every bench)

TIMEOUT_MS = 90_000  # one action, under load
# Counts the app's finished script runs by reading Streamlit's websocket messages (ForwardMsg protobuf):
# field 6 is `script_finished` (0 = finished, 3 = fragment run finished, 2 = cut short by a newer rerun,
# 1 = compile error). The DOM's script state alone can miss a fast run (React may batch its updates).
OBSERVER = """
(() => {
  window.__bp = {done: 0, early: 0, compile: 0};
  const varint = (b, i) => { let x = 0, s = 1, c; do { c = b[i++]; x += (c & 0x7f) * s; s *= 128; } while (c & 0x80); return [x, i]; };
  const scan = (buf) => {
    const b = new Uint8Array(buf); let i = 0;
    while (i < b.length) {
      let key, v; [key, i] = varint(b, i);
      const field = Math.floor(key / 8), wire = key % 8;
      if (wire === 0) {
        [v, i] = varint(b, i);
        if (field === 6) { if (v === 0 || v === 3) window.__bp.done++; else if (v === 2) window.__bp.early++; else window.__bp.compile++; }
      } else if (wire === 2) { [v, i] = varint(b, i); i += v; }
      else if (wire === 1) i += 8; else if (wire === 5) i += 4; else return;
    }
  };
  const Orig = window.WebSocket;
  window.WebSocket = class extends Orig {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (e.data instanceof ArrayBuffer) scan(e.data); else if (e.data instanceof Blob) e.data.arrayBuffer().then(scan);
      });
    }
  };
})();
"""
IDLE = ("() => { const a = document.querySelector('[data-testid=\"stApp\"]');"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'"
        " && !document.querySelector('[data-testid=\"stStatusWidget\"]'); }")
WORDS = ("river bridge teacher garden window music winter school market river station letter morning "
         "village mountain kitchen picture forest harbour library").split()


@dataclass
class Stats:
    times: dict = field(default_factory=dict)  # action -> [ms]
    exceptions: int = 0
    timeouts: int = 0
    js_errors: int = 0
    error_messages: int = 0
    actions: int = 0
    notes: list = field(default_factory=list)

    def add(self, action: str, ms: float):
        self.times.setdefault(action, []).append(ms)
        self.actions += 1


def sentence(rng: random.Random) -> str:
    return f"The {rng.choice(WORDS)} near the {rng.choice(WORDS)} was quiet that {rng.choice(WORDS)}."


class Session:
    def __init__(self, n: int, browser, url: str, stats: Stats, deadline: float, min_loops: int = 0):
        self.n, self.browser, self.url, self.stats, self.deadline = n, browser, url, stats, deadline
        self.min_loops = min_loops
        self.rng = random.Random(n)
        self.step = 0

    async def settle(self, page, before: int, action: str, t0: float):
        """Wait until a run that started after the action has finished; record its time."""
        await page.wait_for_function(f"() => window.__bp && window.__bp.done > {before} && ({IDLE})()",
                                     timeout=TIMEOUT_MS)
        self.stats.add(action, (time.perf_counter() - t0) * 1000)
        if await page.evaluate("() => window.__bp.compile"):
            self.stats.exceptions += 1
            self.stats.notes.append(f"session {self.n}: the script failed to compile after '{action}'")
        exc = await page.locator('[data-testid="stException"]').count()
        if exc:
            self.stats.exceptions += exc
            self.stats.notes.append(f"session {self.n}: stException after '{action}'")
        errs = page.locator('[data-testid="stAlertContentError"]')
        n = await errs.count()
        self.stats.error_messages += n
        for i in range(n):  # say what the page said, so a failing test names it
            self.stats.notes.append(f"session {self.n}: error shown after '{action}': {(await errs.nth(i).inner_text())[:200]}")

    async def act(self, page, action: str, do):
        """Run one user action and time the rerun it triggers."""
        if time.perf_counter() > self.deadline and self.step >= self.min_loops:
            raise TimeoutError("time is up")  # caught by run(): the session ends cleanly
        before = await page.evaluate("() => window.__bp ? window.__bp.done : 0")
        t0 = time.perf_counter()
        try:
            await do()
            await self.settle(page, before, action, t0)
        except Exception as exc:
            if "Timeout" in type(exc).__name__ or "Timeout" in str(exc)[:200]:
                self.stats.timeouts += 1
                self.stats.notes.append(f"session {self.n}: timeout in '{action}': {str(exc).splitlines()[0][:120]}")
            else:
                raise

    async def goto(self, page, label: str):
        link = page.locator('[data-testid="stSidebar"] a').filter(has_text=label).first  # the app's own page list
        await self.act(page, f"open {label}", lambda: link.click())

    async def type_into(self, page, label: str, text: str, action: str):
        box = page.get_by_label(label, exact=True).first

        async def do():
            await box.fill(text)
            await box.press("Control+Enter")
        await self.act(page, action, do)

    async def slide(self, page, label: str, action: str):
        thumb = page.locator('[data-testid="stSlider"]').filter(has_text=label).get_by_role("slider").first

        async def do():
            value = float(await thumb.input_value())  # an <input type="range">: value, min, max
            low, top = float(await thumb.get_attribute("min")), float(await thumb.get_attribute("max"))
            left = value >= top or (value > low and self.step % 2 == 1)  # always a real change: a rerun
            key = "ArrowLeft" if left else "ArrowRight"
            for _ in range(3):  # a key press that lands while the widget is redrawn can be lost: check, retry
                await thumb.focus()
                await thumb.press(key)
                for _ in range(20):
                    if float(await thumb.input_value()) != value:
                        return
                    await asyncio.sleep(0.1)
        await self.act(page, action, do)

    async def click(self, page, locator, action: str):
        await self.act(page, action, lambda: locator.click())

    async def loop_once(self, page):
        rng = self.rng
        await self.goto(page, "Input representation")
        await self.type_into(page, "Sentence A", sentence(rng), "representation: type sentence A")
        await self.goto(page, "Masked LM")
        await self.slide(page, "Mask rate", "masked LM: move the rate slider")
        seed = page.get_by_label("Seed", exact=True).first

        async def new_seed():
            await seed.fill(str(rng.randrange(1, 10_000)))
            await seed.press("Enter")
        await self.act(page, "masked LM: type a seed", new_seed)
        await self.click(page, page.get_by_role("button", name="Resample").first, "masked LM: resample")
        await page.get_by_role("tab", name="Fill in the blanks").click()
        await self.type_into(page, "Text with [MASK] where a word is missing",
                             f"The {rng.choice(WORDS)} is the capital of [MASK].", "masked LM: fill in the blanks")
        await self.goto(page, "Attention")
        await self.slide(page, "Layer", "attention: move the layer slider")
        await self.slide(page, "Head", "attention: move the head slider")
        await self.type_into(page, "Sentence A", sentence(rng), "attention: type sentence A")
        await self.goto(page, "Next sentence prediction")
        await self.click(page, page.get_by_role("button", name="Resample").first, "NSP: resample a pair")
        toggle = page.locator('[data-testid="stCheckbox"]').filter(has_text="IsNext").first
        await self.click(page, toggle, "NSP: flip IsNext")
        await self.goto(page, "Fine-tuning")
        self.step += 1

    async def run(self, start_delay: float):
        await asyncio.sleep(start_delay)
        context = await self.browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)  # a renderer starved of CPU is slow, not broken
        await context.add_init_script(OBSERVER)
        page = await context.new_page()
        page.on("pageerror", lambda e: self._js_error(e))
        try:
            t0 = time.perf_counter()
            await page.goto(self.url + "/", timeout=TIMEOUT_MS)
            await page.wait_for_function(IDLE, timeout=TIMEOUT_MS)
            self.stats.add("open the app", (time.perf_counter() - t0) * 1000)
            while time.perf_counter() < self.deadline or self.step < self.min_loops:
                await self.loop_once(page)
        except TimeoutError:
            pass  # the deadline was reached between two actions
        except Exception as exc:
            if "Timeout" in type(exc).__name__:
                self.stats.timeouts += 1
            else:
                self.stats.notes.append(f"session {self.n}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
                self.stats.timeouts += 1  # the scripted sequence could not go on: count it as a failure
        finally:
            await context.close()

    def _js_error(self, err):
        self.stats.js_errors += 1
        self.stats.notes.append(f"session {self.n}: JS error: {str(err)[:160]}")


async def drive(url: str, sessions: int, seconds: float, stats: Stats, min_loops: int = 0):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=cold_start.CHROMIUM, args=cold_start.ARGS)
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(Session(i, browser, url, stats, deadline, min_loops).run(0.3 * i)
                               for i in range(sessions)))
        await browser.close()


async def warm_up(url: str):
    """One session opens every page once, so the model is loaded before the clock starts."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=cold_start.CHROMIUM, args=cold_start.ARGS)
        page = await browser.new_page()
        for path in ("/", "/Input_representation", "/Masked_LM", "/Attention", "/Next_sentence_prediction",
                     "/Fine-tuning"):
            await page.goto(url + path, timeout=300_000)
            await page.wait_for_function(IDLE, timeout=300_000)
        await browser.close()


def cpu_seconds(pids) -> float:
    """User + system CPU time of processes (from /proc/<pid>/stat), in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def chromium_pids() -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if "chrom" in (d / "comm").read_text():
                    out.append(int(d.name))
            except OSError:
                pass
    return out


def wait_healthy(url: str, proc, limit: float = 180):
    t0 = time.time()
    while time.time() - t0 < limit:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"streamlit did not answer on {url} within {limit:.0f} s")


def start_hall(replicas: int, model: str | None, env: dict | None, run_dir: Path, limit: float = 300):
    """scripts/classroom.sh on loopback: `replicas` app processes behind nginx. Returns (process, url, {addr: pid})."""
    port, first = cold_start.free_port(), cold_start.free_port()
    while any(not _port_free(p) for p in range(first, first + replicas)) or port in range(first, first + replicas):
        first = cold_start.free_port()
    e = dict(os.environ, **(env or {}), CLASSROOM_START_TIMEOUT=str(int(limit)))
    if model:
        # classroom mode refuses local folders: a folder (the tests' tiny checkpoint) runs unrestricted
        e.update(BERT_PLAYGROUND_MODEL=model, BERT_PLAYGROUND_ALLOWED_MODELS="" if os.path.isdir(model) else model)
    out = open(run_dir / "classroom.out", "w")
    proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "classroom.sh"), "--replicas", str(replicas), "--port",
                             str(port), "--address", "127.0.0.1", "--first-port", str(first), "--run", str(run_dir)],
                            cwd=ROOT, env=e, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=as_from_a_terminal)
    t0 = time.time()
    while "classroom: ready" not in (run_dir / "classroom.out").read_text():
        if proc.poll() is not None or time.time() - t0 > limit + 30:
            stop_hall(proc)
            raise RuntimeError("the hall did not start:\n" + (run_dir / "classroom.out").read_text())
        time.sleep(0.5)
    pids = {f"127.0.0.1:{p}": int((run_dir / f"replica-{p}.pid").read_text()) for p in range(first, first + replicas)}
    return proc, f"http://127.0.0.1:{port}", pids


def as_from_a_terminal() -> None:
    """Popen's preexec_fn for scripts/classroom.sh: Ctrl-C (SIGINT) at its default, as in a terminal. A process
    started in the background by a non-interactive shell (`nohup … &`, some CI runners) inherits SIGINT ignored, and
    bash cannot trap a signal that was ignored when it started: the script's Ctrl-C handler would never run."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_hall(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # the script's Ctrl-C: stops the replicas and nginx
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def hall_log(access_log: Path) -> tuple[dict, int]:
    """From nginx's access log (deploy/nginx-classroom.conf.template's format): websocket sessions per replica, and
    the number of answers with a 5xx status."""
    sessions, errors = {}, 0
    for line in access_log.read_text().splitlines() if access_log.exists() else []:
        m = re.search(r'"(\S+) (\S+) [^"]*" (\d{3}) .*replica=(.+?) key=', line)
        if not m:
            continue
        method, path, status, replica = m.groups()
        errors += status.startswith("5")
        if path.endswith("/_stcore/stream") and status == "101":
            replica = replica.split(",")[-1].strip()  # after a fail-over nginx lists every replica it tried
            sessions[replica] = sessions.get(replica, 0) + 1
    return sessions, errors


def run(sessions: int = 20, seconds: float = 120, model: str | None = None, env: dict | None = None,
        min_loops: int = 0, url: str | None = None, pids: list[int] | None = None, hall: int = 0) -> dict:
    """Start a server (or, with `hall`, that many replicas behind nginx; with `url`, use a running one), warm it
    up, drive it; `min_loops`: every session completes at least that many sequences (even past `seconds`), so a
    slow machine still exercises every page."""
    proc = hall_proc = run_dir = None
    if hall:
        run_dir = Path(tempfile.mkdtemp(prefix="bp-hall-"))
        hall_proc, url, replicas = start_hall(hall, model, env, run_dir)
        warm_urls = [f"http://{addr}" for addr in replicas]  # every replica loads its model before the clock
    elif url:
        url = url.rstrip("/")
        replicas = {f"pid {p}": p for p in pids or []}
        warm_urls = [url]
    else:
        port = cold_start.free_port()
        url = f"http://127.0.0.1:{port}"
        saved = dict(os.environ)
        os.environ.update(env or {})
        try:
            proc = cold_start.start_server(model, port)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        replicas = {f"127.0.0.1:{port}": proc.pid}
        warm_urls = [url]
    stats = Stats()
    rss = lambda: {a: cold_start.rss_mb(p) for a, p in replicas.items()}  # noqa: E731
    try:
        if proc is not None:
            wait_healthy(url, proc)
        rss_start = rss()
        for u in warm_urls:
            asyncio.run(warm_up(u))
        rss_before = rss()
        t0 = time.perf_counter()
        server_cpu0 = cpu_seconds(replicas.values())
        loop = {}

        async def drive_and_sample():  # the browsers' CPU, sampled while they run (they exit at the end)
            task = asyncio.create_task(drive(url, sessions, seconds, stats, min_loops))
            seen = {}
            while not task.done():
                for pid in chromium_pids():
                    seen[pid] = max(seen.get(pid, 0.0), cpu_seconds([pid]))
                await asyncio.sleep(1.0)
            loop["browser_cpu"] = sum(seen.values())
            await task

        asyncio.run(drive_and_sample())
        wall = time.perf_counter() - t0
        server_cpu = cpu_seconds(replicas.values()) - server_cpu0
        rss_after = rss()
        peak = {a: cold_start.peak_rss_mb(p) for a, p in replicas.items()}
        alive = all(Path(f"/proc/{p}").exists() for p in replicas.values())
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if hall_proc is not None:
            stop_hall(hall_proc)
    per_replica_sessions, nginx_5xx = hall_log(run_dir / "logs" / "access.log") if run_dir else ({}, 0)
    if run_dir:
        shutil.rmtree(run_dir, ignore_errors=True)
    reruns = [t for k, ts in stats.times.items() if k != "open the app" for t in ts]
    return {
        "sessions": sessions, "seconds": seconds, "wall_s": wall, "model": model or "embedded",
        "url": url if not (hall or proc) else None, "replicas": len(replicas) if (hall or pids) else 1,
        "actions": stats.actions,
        "errors": stats.exceptions + stats.timeouts + stats.js_errors + (0 if alive else 1) + nginx_5xx,
        "exceptions": stats.exceptions, "timeouts": stats.timeouts, "js_errors": stats.js_errors,
        "error_messages": stats.error_messages, "server_alive": alive, "nginx_5xx": nginx_5xx,
        "rerun_p50_ms": percentile(reruns, 0.5), "rerun_p95_ms": percentile(reruns, 0.95),
        "per_action": {k: {"n": len(v), "p50_ms": percentile(v, 0.5), "p95_ms": percentile(v, 0.95)}
                       for k, v in sorted(stats.times.items())},
        "server_cpu_s": server_cpu, "browser_cpu_s": loop.get("browser_cpu", float("nan")),
        "cores": os.cpu_count(), "rss_start_mb": sum(rss_start.values()), "rss_before_mb": sum(rss_before.values()),
        "rss_after_mb": sum(rss_after.values()), "peak_rss_mb": sum(peak.values()),
        "per_replica": [{"replica": a, "pid": p, "sessions": per_replica_sessions.get(a, 0) if run_dir else None,
                         "rss_before_mb": rss_before[a], "rss_after_mb": rss_after[a], "peak_rss_mb": peak[a]}
                        for a, p in replicas.items()],
        "notes": stats.notes[:30],
    }


def report(r: dict) -> str:
    target = (f"{r['replicas']} replicas behind nginx" if r["replicas"] > 1 else "one streamlit server") + \
        (f" at {r['url']}" if r["url"] else "")
    lines = [f"load test: {r['sessions']} browser sessions x {r['seconds']:.0f} s against {target} "
             f"(checkpoint {r['model']}); {r['actions']} actions in {r['wall_s']:.0f} s",
             f"errors: {r['errors']} (stException {r['exceptions']}, timeouts {r['timeouts']}, JS errors "
             f"{r['js_errors']}, nginx 5xx {r['nginx_5xx']}, server {'alive' if r['server_alive'] else 'DIED'}); "
             f"error messages shown: {r['error_messages']}",
             f"CPU used during the run: server {r['server_cpu_s']:.0f} s, browsers {r['browser_cpu_s']:.0f} s, of "
             f"{r['wall_s'] * r['cores']:.0f} core-seconds ({r['cores']} cores; browsers and server share them here)",
             f"page rerun until the status widget is gone: p50 {r['rerun_p50_ms']:.0f} ms, p95 {r['rerun_p95_ms']:.0f} ms",
             (f"server RSS{' (all replicas)' if len(r['per_replica']) > 1 else ''}: {r['rss_start_mb']:.0f} MB at "
              f"start, {r['rss_before_mb']:.0f} MB with the model loaded (before the load), {r['rss_after_mb']:.0f} MB "
              f"after; peak {r['peak_rss_mb']:.0f} MB" if r["per_replica"] else
              "server memory: not measured (give --pid for each replica)"),
             f"{'action':<44}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}"]
    lines += [f"{k:<44}{v['n']:>6}{v['p50_ms']:>10.0f}{v['p95_ms']:>10.0f}" for k, v in r["per_action"].items()]
    if len(r["per_replica"]) > 1:
        lines.append(f"{'replica':<24}{'pid':>8}{'sessions':>10}{'RSS before':>12}{'RSS after':>11}{'peak':>8}  (MB)")
        lines += [f"{p['replica']:<24}{p['pid']:>8}{p['sessions'] if p['sessions'] is not None else '-':>10}"
                  f"{p['rss_before_mb']:>12.0f}{p['rss_after_mb']:>11.0f}{p['peak_rss_mb']:>8.0f}"
                  for p in r["per_replica"]]
    lines += [f"  ! {n}" for n in r["notes"]]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--model", default=None, help="checkpoint (default: embedded)")
    ap.add_argument("--min-loops", type=int, default=0, help="every session completes at least N full sequences")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--hall", type=int, default=0, metavar="N",
                       help="start N replicas behind nginx on loopback (scripts/classroom.sh) and go through nginx")
    where.add_argument("--url", default=None, help="drive a server or hall that is already running at this URL")
    ap.add_argument("--pid", type=int, action="append", default=[],
                    help="with --url: a replica process whose memory to report (repeatable)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.pid and not args.url:
        ap.error("--pid goes with --url")
    r = run(args.sessions, args.seconds, args.model, min_loops=args.min_loops, url=args.url, pids=args.pid,
            hall=args.hall)
    print(json.dumps(r, indent=1) if args.json else report(r))
    return 0 if r["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
