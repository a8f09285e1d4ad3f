"""The whole benchmark table in one command: `make bench` (or `.venv/bin/python bench/run_all.py`).

Rows (figures are printed, never asserted; timings are medians over repeated runs, p95 where useful):
  - cold start: `streamlit run app.py` spawned -> home page fully rendered in headless Chromium
    (bench/cold_start.py; the home page draws from config.json while the model loads behind it), then the
    Masked LM page opened right after it -> its result drawn; the server's memory: RSS once the home page is
    up, then RSS and peak (VmHWM) after visiting every page once;
  - warm latency through the package: fill-mask (bert_playground.objectives.mlm.fill, inputs <= 32 tokens), NSP
    (nsp.score_text) and attention (attention.compute) at 32 / 128 / 512 tokens;
  - fill-mask through a plain transformers pipeline on the same checkpoint, and the ratio
    (bench/bench_fill_mask.py, the same queries interleaved);
  - one rerun of each page for a typical interaction, under Streamlit's AppTest (model already cached);
  - fine-tuning throughput (training examples/s) on the available device, on the shipped intents data;
  - memory growth over 500 mixed package queries (bench/memory_growth.py, in its own process);
  - quick queries (bench/bench_serve.py, in its own process): one CLI fill-mask cold vs --server, the server's
    fill-mask latency at 1, 4 and 16 clients, 1,000 queries through `fill -`.

Usage:
    .venv/bin/python bench/run_all.py [--model embedded] [--quick] [--skip-browser] [--skip-finetune]
                                      [--skip-memory] [--skip-serve] [--json FILE]
--quick: one cold start, fewer repetitions (about a minute or two on a laptop): a smoke run, not figures.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from bert_playground.core import memory  # noqa: E402

memory.tune_allocator()  # the app's allocator policy, set as the app sets it: at start-up, before torch loads

import bench_attention  # noqa: E402  (reused: sample text, texts of a given length, the slider rerun)
import bench_fill_mask  # noqa: E402  (reused: queries, the package-vs-pipeline comparison)
import bench_nsp  # noqa: E402  (reused: warm latency median/p95)
import cold_start  # noqa: E402  (reused: server start, Chromium arguments, /proc memory)

from timing import percentile  # noqa: E402  (the one p50/p95 of every bench)

PAGES = [  # (URL path, text that shows once the page has drawn)
    ("/Input_representation", "Inside one token's input vector"),
    ("/Masked_LM", "Masking playground"),
    ("/Next_sentence_prediction", "Why RoBERTa dropped NSP"),
    ("/Attention", "Attention"),
    ("/Fine-tuning", "Settings"),
    ("/Contextual_embeddings", "How alike are the uses, layer by layer?"),
]
NSP_PAIRS = [
    ("I put the kettle on and took two cups from the shelf.", "A few minutes later the tea was ready."),
    ("The train was delayed by a signal failure.", "We waited on the platform for an hour."),
    ("The museum is closed on Mondays.", "Bananas are an excellent source of potassium."),
    ("She wrote a letter to her grandmother every week.", "The football match ended in a draw."),
]


def stats(ms: list[float]) -> tuple[float, float]:
    return statistics.median(ms), percentile(ms, 0.95)


# ---- browser: cold start and server memory --------------------------------------------------

def wait_rendered(page, expect: str, timeout_ms: int = 180_000) -> None:
    page.get_by_text(expect).first.wait_for(timeout=timeout_ms)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def bench_browser(model: str, runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    times, rss_home, firsts = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=cold_start.CHROMIUM, args=cold_start.ARGS)
        for _ in range(runs):
            t, rss, _, first = cold_start.one_run(browser, model, "/", "In use now", then="/Masked_LM")
            times.append(t)
            rss_home.append(rss)
            firsts.append(first)
        # one more server: home page, then every page once; memory after each
        port = cold_start.free_port()
        proc = cold_start.start_server(model, port)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 180
            while True:
                try:
                    if urllib.request.urlopen(url + "/_stcore/health", timeout=1).status == 200:
                        break
                except OSError:
                    if time.time() > deadline:
                        raise RuntimeError("the server did not come up in 180 s")
                    time.sleep(0.1)
            page = browser.new_page()
            page.goto(url + "/")
            wait_rendered(page, "In use now")
            per_page = {"/": cold_start.rss_mb(proc.pid)}
            for path, expect in PAGES:
                page.goto(url + path)
                wait_rendered(page, expect)
                page.wait_for_timeout(500)
                per_page[path] = cold_start.rss_mb(proc.pid)
            peak = cold_start.peak_rss_mb(proc.pid)
            page.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        browser.close()
    return {"cold_start_s": statistics.median(times), "cold_start_min_s": min(times), "cold_start_runs": runs,
            "first_model_page_s": statistics.median(firsts),
            "rss_home_mb": statistics.median(rss_home), "rss_all_pages_mb": max(per_page.values()),
            "rss_per_page_mb": per_page, "peak_rss_mb": peak}


# ---- package latency ------------------------------------------------------------------------

def bench_package(model: str, runs: int) -> dict:
    from bert_playground import load
    from bert_playground.interpret import attention
    from bert_playground.objectives import nsp
    bundle = load(model)
    out = {"model": bundle.info.name, "layers": bundle.info.layers, "heads": bundle.info.heads,
           "hidden": bundle.info.hidden_size, "device": str(bundle.device)}
    out["nsp_ms"] = bench_nsp.latency_ms(nsp.score_text, [(bundle, a, b) for a, b in NSP_PAIRS], runs)
    text = bench_attention.sample_text()
    for n in (32, 128, 512):
        t = bench_attention.text_of_length(bundle.tokenizer, text, n)
        tokens = attention.compute(bundle, t).length
        out[f"attention_{n}_ms"] = bench_nsp.latency_ms(attention.compute, [(bundle, t)], runs)
        out[f"attention_{n}_tokens"] = tokens
    return out


# ---- page reruns (AppTest) ------------------------------------------------------------------

def _set(at, kind: str, key: str, value):
    getattr(at, kind)(key=key).set_value(value)


INTERACTIONS = {  # page -> (what the user does, rerun i -> the widget changes before it)
    "app.py": ("rerun the home page", lambda i: []),
    "pages/1_Input_representation.py": ("type a new sentence A",
                                        lambda i: [("text_area", "rep_a", f"The playground reads sentence number {i}.")]),
    "pages/2_Masked_LM.py": ("new masking seed", lambda i: [("number_input", "mlm_seed", 100 + i)]),
    "pages/3_Next_sentence_prediction.py": ("press Resample (a new drawn pair)",
                                            lambda i: [("button", "nsp_resample", None)]),
    "pages/4_Attention.py": ("move the layer slider (input already computed)",
                             lambda i: [("slider", "att_layer", i % 2 + 1)]),
    "pages/5_Fine-tuning.py": ("change the number of epochs", lambda i: [("number_input", "ft_epochs", 2 + i % 5)]),
    "pages/6_Contextual_embeddings.py": ("move the similarity layer slider (sentences already computed)",
                                         lambda i: [("slider", "ctx_sim_layer", i % 2)]),
}


def bench_reruns(model: str, runs: int) -> dict:
    from streamlit.testing.v1 import AppTest

    os.environ["BERT_PLAYGROUND_MODEL"] = model
    os.chdir(ROOT)
    out = {}
    for page, (what, steps) in INTERACTIONS.items():
        try:
            at = AppTest.from_file(str(ROOT / page), default_timeout=600)
            at.run()
            times = []
            for i in range(runs + 1):
                for kind, key, value in steps(i):
                    if kind == "button":
                        at.button(key=key).click()
                    else:
                        _set(at, kind, key, value)
                t = time.perf_counter()
                at.run()
                if i:  # the first one warms caches (fonts, Plotly templates)
                    times.append((time.perf_counter() - t) * 1000)
                if at.exception:
                    raise RuntimeError(at.exception[0].value)
            out[page] = {"what": what, "ms": stats(times)}
        except Exception as exc:  # a page still being built: report the gap, keep going
            out[page] = {"what": what, "error": f"{type(exc).__name__}: {str(exc)[:120]}"}
    return out


# ---- fine-tuning throughput -----------------------------------------------------------------

def bench_finetune(model: str, quick: bool) -> dict:
    try:
        from bert_playground import datasets, load
        from bert_playground import finetune as F
        from bert_playground.core.device import choose_device, describe
    except ImportError as exc:
        return {"error": f"fine-tuning API not available ({exc})"}
    train, test = datasets.shipped()
    device = choose_device()
    bundle = load(model, device)
    out = {"device": describe(device), "n_train": len(train)}
    configs = [("full fine-tuning, 2 layers", F.FinetuneConfig(mode="full", layers=2, epochs=1 if quick else 2)),
               (f"frozen encoder ({bundle.info.layers} layers), head", F.FinetuneConfig(mode="frozen", epochs=3)),
               (f"full fine-tuning, all {bundle.info.layers} layers", F.FinetuneConfig(mode="full", epochs=1)),
               ("bag-of-words baseline", F.FinetuneConfig(mode="baseline", epochs=3))]
    if quick:
        configs = configs[:1] + configs[-1:]
    for name, cfg in configs:
        try:
            res = F.run(bundle if cfg.mode != "baseline" else None, train, test, cfg)
            out[name] = {"examples_per_s": res.examples_per_s, "seconds": res.seconds, "accuracy": res.metrics.accuracy}
        except Exception as exc:
            out[name] = {"error": f"{type(exc).__name__}: {str(exc)[:120]}"}
    return out


def bench_memory(model: str, queries: int) -> dict:
    r = subprocess.run([sys.executable, str(BENCH / "memory_growth.py"), "--model", model, "--queries", str(queries),
                        "--json"], capture_output=True, text=True, cwd=ROOT, timeout=3600)
    if r.returncode:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench_serve(model: str, quick: bool) -> dict:
    """bench/bench_serve.py's figures (its own processes: a cold CLI, a server, stdin batches)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "serve.json"
        sizes = ["--cold-runs", "1", "--requests", "60", "--batch", "200"] if quick else []
        r = subprocess.run([sys.executable, str(BENCH / "bench_serve.py"), "--model", model, "--json", str(out), *sizes],
                           capture_output=True, text=True, cwd=ROOT, timeout=3600)
        if r.returncode or not out.is_file():
            return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
        return {**json.loads(out.read_text()), "batch": 200 if quick else 1000}


# ---- the table ------------------------------------------------------------------------------

def table(res: dict) -> str:
    rows = []

    def row(what, value, note=""):
        rows.append((what, value, note))

    b = res.get("browser")
    if b and "error" not in b:
        row("cold start: streamlit run -> home page rendered", f"{b['cold_start_s']:.1f} s",
            f"median of {b['cold_start_runs']} (min {b['cold_start_min_s']:.1f} s), headless Chromium (goal <= 3 s)")
        row("cold start: then the Masked LM page's result drawn", f"{b['first_model_page_s']:.1f} s",
            "from process start; the home page first, the model loading behind it")
        row("server RSS, home page up (model still loading behind)", f"{b['rss_home_mb']:.0f} MB", "VmRSS, server + children")
        row("server RSS after visiting every page once", f"{b['rss_all_pages_mb']:.0f} MB",
            f"peak (VmHWM) {b['peak_rss_mb']:.0f} MB")
    elif b:
        row("cold start / server memory", "n/a", b["error"])
    f = res.get("fill")
    if f and "error" not in f:
        row("fill-mask, package (mlm.fill)", f"{f['package_median_ms']:.1f} ms",
            f"p95 {f['package_p95_ms']:.1f} ms; {f['queries']} queries of {f['tokens_min']}-{f['tokens_max']} tokens "
            "(goal <= 15 ms)")
        row("fill-mask, transformers pipeline", f"{f['pipeline_median_ms']:.1f} ms", f"p95 {f['pipeline_p95_ms']:.1f} ms")
        row("fill-mask ratio package / pipeline", f"{f['ratio_median']:.2f}",
            f"p95 ratio {f['ratio_p95']:.2f}; top-1 agreement {f['top1_agreement']:.0%} (goal <= 0.70)")
    elif f:
        row("fill-mask", "n/a", f["error"])
    p = res.get("package")
    if p and "error" not in p:
        row("NSP, package (nsp.score_text)", f"{p['nsp_ms'][0]:.1f} ms", f"p95 {p['nsp_ms'][1]:.1f} ms; short pairs")
        for n in (32, 128, 512):
            m, q = p[f"attention_{n}_ms"]
            row(f"attention, {p[f'attention_{n}_tokens']} tokens (attention.compute)", f"{m:.1f} ms",
                f"p95 {q:.1f} ms" + (" (goal <= 250 ms)" if n == 512 else ""))
    elif p:
        row("package latency", "n/a", p["error"])
    for page, r in (res.get("reruns") or {}).items():
        name = Path(page).stem.split("_", 1)[-1].replace("_", " ") if page != "app.py" else "Home"
        if "error" in r:
            row(f"page rerun: {name}", "n/a", f"{r['what']}: {r['error']}")
        else:
            row(f"page rerun: {name}", f"{r['ms'][0]:.0f} ms", f"{r['what']}; p95 {r['ms'][1]:.0f} ms (AppTest)"
                + (" (goal <= 100 ms)" if "Masked_LM" in page else ""))
    ft = res.get("finetune")
    if ft and "error" not in ft:
        for name, r in ft.items():
            if isinstance(r, dict):
                if "error" in r:
                    row(f"fine-tuning: {name}", "n/a", r["error"])
                else:
                    row(f"fine-tuning: {name}", f"{r['examples_per_s']:,.0f} ex/s",
                        f"{ft['device']}; {ft['n_train']} examples, run {r['seconds']:.1f} s, accuracy {r['accuracy']:.2f}")
    elif ft:
        row("fine-tuning", "n/a", ft["error"])
    m = res.get("memory")
    if m and "error" not in m:
        row(f"memory growth, {m['queries']} mixed queries", f"{m['growth_mb']:+.0f} MB",
            f"RSS {m['rss_before_mb']:.0f} -> {m['rss_after_mb']:.0f} MB; after malloc_trim {m['growth_after_trim_mb']:+.0f} MB "
            "(goal <= 50 MB)")
    elif m:
        row("memory growth", "n/a", m["error"])
    sv = res.get("serve")
    if sv and "error" not in sv:
        row("CLI fill-mask, cold / --server", f"{sv['cli_cold_s']:.2f} s / {sv['cli_server_s']:.3f} s",
            f"server {sv['cli_ratio']:.3f} of cold (goal <= 0.1)")
        for c in sv["server"]:
            row(f"serve POST /fill-mask, {c['clients']} client(s)", f"{c['p50_ms']} ms",
                f"p95 {c['p95_ms']} ms; {c['per_s']} answers/s; {c['busy_503']} x 503")
        for where in ("local", "server"):
            t = sv[f"batch_{where}_s"]
            row(f"fill - ({where}), {sv['batch']:,} queries", f"{t:.1f} s", f"{sv['batch'] / t:.0f} queries/s"
                + (", model load included" if where == "local" else ""))
    elif sv:
        row("quick queries (serve)", "n/a", sv["error"])
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    lines = [f"{'what':<{w1}}  {'median':>{w2}}  notes", "-" * (w1 + w2 + 60)]
    lines += [f"{a:<{w1}}  {b_:>{w2}}  {c}" for a, b_, c in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--quick", action="store_true", help="a fast smoke pass: fewer repetitions")
    ap.add_argument("--skip-browser", action="store_true", help="no Chromium: skip cold start and server memory")
    ap.add_argument("--skip-finetune", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-serve", action="store_true", help="no server / --server / `fill -` figures")
    ap.add_argument("--json", default=None, help="also write every figure to this JSON file")
    args = ap.parse_args(argv)

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    runs = 10 if args.quick else 50
    res = {}

    def step(name, fn):
        print(f"[{time.strftime('%H:%M:%S')}] {name}…", file=sys.stderr, flush=True)
        try:
            res[name] = fn()
        except Exception as exc:  # one failing part must not hide the others
            res[name] = {"error": f"{type(exc).__name__}: {str(exc)[:160]}"}

    if not args.skip_browser:
        if Path(cold_start.CHROMIUM).exists():
            step("browser", lambda: bench_browser(args.model, 1 if args.quick else 5))
        else:
            res["browser"] = {"error": f"no Chromium at {cold_start.CHROMIUM}"}
    step("package", lambda: bench_package(args.model, runs))
    step("fill", lambda: bench_fill_mask.bench_fill(args.model, 5, 1 if args.quick else 3))
    step("reruns", lambda: bench_reruns(args.model, 3 if args.quick else 10))
    if not args.skip_finetune:
        step("finetune", lambda: bench_finetune(args.model, args.quick))
    if not args.skip_memory:
        step("memory", lambda: bench_memory(args.model, 100 if args.quick else 500))
    if not args.skip_serve:
        step("serve", lambda: bench_serve(args.model, args.quick))

    from bert_playground.core.device import cpu_threads

    print(f"BERT Playground benchmarks · checkpoint '{args.model}' · {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPU cores, {cpu_threads()} torch thread(s) · torch {torch.__version__}, "
          f"transformers {transformers.__version__}" + (" · QUICK pass (few repetitions)" if args.quick else ""))
    print(table(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
