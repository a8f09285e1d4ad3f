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
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
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
        self.stats.error_messages += await page.locator('[data-testid="stAlertContentError"]').count()

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
        link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=label).first
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


def run(sessions: int = 20, seconds: float = 120, model: str | None = None, env: dict | None = None,
        min_loops: int = 0) -> dict:
    """Start a server, warm it up, drive it; `min_loops`: every session completes at least that many sequences
    (even past `seconds`), so a slow machine still exercises every page."""
    port = cold_start.free_port()
    url = f"http://127.0.0.1:{port}"
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        proc = cold_start.start_server(model, port)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    stats = Stats()
    try:
        wait_healthy(url, proc)
        rss_start = cold_start.rss_mb(proc.pid)
        asyncio.run(warm_up(url))
        rss_before = cold_start.rss_mb(proc.pid)
        t0 = time.perf_counter()
        server_cpu0 = cpu_seconds([proc.pid])
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
        server_cpu = cpu_seconds([proc.pid]) - server_cpu0
        rss_after = cold_start.rss_mb(proc.pid)
        peak = cold_start.peak_rss_mb(proc.pid)
        alive = proc.poll() is None
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    reruns = [t for k, ts in stats.times.items() if k != "open the app" for t in ts]
    return {
        "sessions": sessions, "seconds": seconds, "wall_s": wall, "model": model or "embedded",
        "actions": stats.actions, "errors": stats.exceptions + stats.timeouts + stats.js_errors + (0 if alive else 1),
        "exceptions": stats.exceptions, "timeouts": stats.timeouts, "js_errors": stats.js_errors,
        "error_messages": stats.error_messages, "server_alive": alive,
        "rerun_p50_ms": percentile(reruns, 0.5), "rerun_p95_ms": percentile(reruns, 0.95),
        "per_action": {k: {"n": len(v), "p50_ms": percentile(v, 0.5), "p95_ms": percentile(v, 0.95)}
                       for k, v in sorted(stats.times.items())},
        "server_cpu_s": server_cpu, "browser_cpu_s": loop.get("browser_cpu", float("nan")),
        "cores": os.cpu_count(), "rss_start_mb": rss_start, "rss_before_mb": rss_before, "rss_after_mb": rss_after, "peak_rss_mb": peak,
        "notes": stats.notes[:30],
    }


def report(r: dict) -> str:
    lines = [f"load test: {r['sessions']} browser sessions x {r['seconds']:.0f} s against one streamlit server "
             f"(checkpoint {r['model']}); {r['actions']} actions in {r['wall_s']:.0f} s",
             f"errors: {r['errors']} (stException {r['exceptions']}, timeouts {r['timeouts']}, JS errors "
             f"{r['js_errors']}, server {'alive' if r['server_alive'] else 'DIED'}); error messages shown: "
             f"{r['error_messages']}",
             f"CPU used during the run: server {r['server_cpu_s']:.0f} s, browsers {r['browser_cpu_s']:.0f} s, of "
             f"{r['wall_s'] * r['cores']:.0f} core-seconds ({r['cores']} cores; browsers and server share them here)",
             f"page rerun until the status widget is gone: p50 {r['rerun_p50_ms']:.0f} ms, p95 {r['rerun_p95_ms']:.0f} ms",
             f"server RSS: {r['rss_start_mb']:.0f} MB at start, {r['rss_before_mb']:.0f} MB with the model loaded "
             f"(before the load), {r['rss_after_mb']:.0f} MB after; peak {r['peak_rss_mb']:.0f} MB",
             f"{'action':<44}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}"]
    lines += [f"{k:<44}{v['n']:>6}{v['p50_ms']:>10.0f}{v['p95_ms']:>10.0f}" for k, v in r["per_action"].items()]
    lines += [f"  ! {n}" for n in r["notes"]]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--model", default=None, help="checkpoint (default: embedded)")
    ap.add_argument("--min-loops", type=int, default=0, help="every session completes at least N full sequences")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    r = run(args.sessions, args.seconds, args.model, min_loops=args.min_loops)
    print(json.dumps(r, indent=1) if args.json else report(r))
    return 0 if r["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
