"""Quick queries (`serve`, `--server`, `fill -`): the figures of the README's "Quick queries" section, printed.

Usage: python bench/bench_serve.py [--model embedded] [--cold-runs 3] [--requests 240] [--batch 1000] [--json FILE]

  1. CLI wall time for one fill-mask query: cold (`fill TEXT --json`: Python, torch, transformers and the
     checkpoint loaded for one query) vs `fill TEXT --json --server URL` (median of runs, after one warm-up);
  2. server latency p50/p95 of POST /fill-mask at 1, 4 and 16 concurrent clients (each on its own kept-alive
     connection, the queries of bench_fill_mask.SENTENCES in turn) and throughput, vs `mlm.fill` in this process;
  3. 1,000 queries through `fill -`: locally (the model loaded once, included) and through the server.

The server runs with its defaults (workers = cores / torch threads). Timings vary with the machine's load.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench_fill_mask import SENTENCES  # the same fill-mask queries as the package bench
from bench_nsp import latency_ms  # warm in-process latency (median, p95)
from timing import percentile  # the one p50/p95 of every bench

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
ENV.pop("BERT_PLAYGROUND_SERVER", None)
TEXT = "The capital of France is [MASK]."


def cli(*argv: str, stdin: str | None = None) -> float:
    """Wall seconds of one `python -m bert_playground ...` (it must succeed)."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "bert_playground", *argv], cwd=ROOT, env=ENV, input=stdin,
                       capture_output=True, text=True)
    took = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"bench_serve: {' '.join(argv[:2])} failed: {r.stderr.strip()[-300:]}")
    return took


def start_server(model: str):
    proc = subprocess.Popen([sys.executable, "-m", "bert_playground", "serve", "--model", model, "--port", "0"],
                            cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "serving" not in line:
        proc.kill()
        raise SystemExit(f"bench_serve: the server did not start: {line}{proc.stderr.read()[-500:]}")
    print(line.strip())
    return proc, int(line.split("http://127.0.0.1:")[1].split()[0])


def clients(port: int, n_clients: int, total: int) -> dict:
    """n_clients threads posting /fill-mask until `total` answers: latency p50/p95 (ms), answers/s, 503s."""
    latencies, busy, lock = [], [0], threading.Lock()

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for j in range(total // n_clients):
            body = json.dumps({"inputs": SENTENCES[(i * 7 + j) % len(SENTENCES)], "parameters": {"top_k": 5}})
            while True:
                t0 = time.perf_counter()
                conn.request("POST", "/fill-mask", body=body, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 503:
                    break
                with lock:
                    busy[0] += 1
                time.sleep(float(resp.headers.get("Retry-After", 1)))
            assert resp.status == 200, resp.status
            with lock:
                latencies.append((time.perf_counter() - t0) * 1000)
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"clients": n_clients, "answers": len(latencies), "p50_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(percentile(latencies, 0.95), 1), "per_s": round(len(latencies) / wall, 1),
            "busy_503": busy[0]}


def in_process(model: str, runs: int) -> dict:
    from bert_playground import load
    from bert_playground.objectives.mlm import fill

    bundle = load(model)
    p50, p95 = latency_ms(fill, [(bundle, s, 5) for s in SENTENCES], runs)
    return {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=240, help="fill-mask requests per concurrency level")
    ap.add_argument("--batch", type=int, default=1000, help="queries through `fill -`")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    a = ap.parse_args()
    out = {"machine": f"{os.cpu_count()} cores", "model": a.model}
    cold = [cli("fill", TEXT, "--model", a.model, "--json") for _ in range(a.cold_runs)]
    proc, port = start_server(a.model)
    url = f"http://127.0.0.1:{port}"
    try:
        cli("fill", TEXT, "--json", "--server", url)  # warm-up
        warm = [cli("fill", TEXT, "--json", "--server", url) for _ in range(10)]
        out["cli_cold_s"], out["cli_server_s"] = round(statistics.median(cold), 3), round(statistics.median(warm), 3)
        out["cli_ratio"] = round(out["cli_server_s"] / out["cli_cold_s"], 3)
        clients(port, 2, 40)  # warm-up
        out["server"] = [clients(port, n, a.requests) for n in (1, 4, 16)]
        lines = "\n".join(SENTENCES[i % len(SENTENCES)] for i in range(a.batch)) + "\n"
        out["batch_server_s"] = round(cli("fill", "-", "--server", url, stdin=lines), 2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    out["batch_local_s"] = round(cli("fill", "-", "--model", a.model, stdin=lines), 2)
    out["in_process"] = in_process(a.model, a.requests)
    report(out, a.batch)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))


def report(out: dict, n: int) -> None:
    print(f"\n{out['machine']}, model {out['model']}")
    print(f"CLI, one fill-mask query: cold {out['cli_cold_s']:.2f} s · --server {out['cli_server_s']:.3f} s "
          f"({out['cli_ratio']:.3f} of cold; goal <= 0.1)")
    ip = out["in_process"]
    print(f"in-process mlm.fill: p50 {ip['p50_ms']} ms · p95 {ip['p95_ms']} ms")
    for s in out["server"]:
        print(f"server POST /fill-mask, {s['clients']:>2} clients: p50 {s['p50_ms']} ms · p95 {s['p95_ms']} ms · "
              f"{s['per_s']} answers/s ({s['answers']} answers, {s['busy_503']} times 503)")
    for where in ("local", "server"):
        t = out[f"batch_{where}_s"]
        print(f"fill - ({where}{', model load included' if where == 'local' else ''}): {n:,} queries in {t:.1f} s, "
              f"{n / t:.0f} queries/s")


if __name__ == "__main__":
    main()
