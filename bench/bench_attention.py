"""Attention page speed: compute and draw the maps for 32, 128 and 512 tokens, and a slider-only rerun.

- compute: `attention.compute` (one forward pass with attentions, to a (L, H, T, T) float32 array);
  "causal" is the same with the left-to-right mask.
- draw: building the Plotly figures the page shows (one large heatmap, the model view grid of all
  layers x heads, the six head-statistics grids and the bidirectional/causal pair) plus their JSON
  serialisation (what st.plotly_chart does); "stats" is head_stats + rollout.
- slider rerun: AppTest on pages/4_Attention.py with a 128-token input already computed, then the layer
  slider moved; the time of `at.run()` (goal <= 100 ms).

Text: the Wikipedia sample in ../shared/data when present, else a built-in paragraph. Usage:

    .venv/bin/python bench/bench_attention.py [--model embedded] [--runs 5]
"""
from __future__ import annotations

import argparse
import lzma
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WIKI = ROOT.parent / "shared" / "data" / "wikipedia" / "enwiki-part0.txt.xz"
FALLBACK = (
    "The Transformer reads a whole sentence at once. Each of its layers lets every token look at every other "
    "token, and the weights it uses to do so are the attention maps drawn on this page. BERT was pre-trained on "
    "books and Wikipedia by hiding some words and asking the model to guess them, and by asking whether one "
    "sentence follows another. "
)


def sample_text() -> str:
    if WIKI.is_file():
        with lzma.open(WIKI, "rt", encoding="utf-8") as f:
            lines = [line.strip() for line in f.read(20000).splitlines()]
        return " ".join(line for line in lines if line and not line.startswith("<"))
    return FALLBACK * 20


def text_of_length(tokenizer, text: str, n: int) -> str:
    """A text that encodes to about n tokens with [CLS] and [SEP] (n >= 512: longer, so it is cut)."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return text if n >= 512 else tokenizer.decode(ids[: n - 2])


def ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def draw_all(maps, causal, stats):
    import plotly.io as pio

    from bert_playground.interpret import attention as att
    from bert_playground.figures import attention as charts

    span = (0, min(maps.length, 128))  # the page's default window for long inputs
    v = att.view(maps, 0, 0, "all", span if maps.length > 64 else None)
    figs = {
        "heatmap": [charts.heatmap(v.matrix, maps.tokens, v.rows, v.cols, "Layer 1, head 1")],
        "model view": [charts.model_view(att.thumbnails(maps, span if maps.length > 64 else None, 32)[0], (0, 0))],
        "stats": [charts.stat_grid(x, "t", 1.0) for x in (stats.to_cls, stats.to_sep, stats.to_self, stats.to_prev,
                                                            stats.to_next, stats.entropy)],
        "causal": [charts.side_by_side(v.matrix, att.view(causal, 0, 0, "all", span).matrix, maps.tokens, v.rows,
                                       ("a", "b"))],
    }
    for group in figs.values():
        for fig in group:
            pio.to_json(fig, validate=False)
    return figs


def bench_sizes(bundle, runs: int) -> list[dict]:
    from bert_playground.interpret import attention as att
    from bert_playground.figures import attention as charts  # noqa: F401  (import cost out of the timings)

    text = sample_text()
    rows = []
    for n in (32, 128, 512):
        t = text_of_length(bundle.tokenizer, text, n)
        maps = att.compute(bundle, t)
        causal = att.compute(bundle, t, causal=True)
        stats = att.head_stats(maps)
        row = {"tokens": maps.length, "compute": ms(lambda: att.compute(bundle, t), runs),
               "causal": ms(lambda: att.compute(bundle, t, causal=True), runs),
               "stats+rollout": ms(lambda: (att.head_stats(maps), att.rollout(maps.attentions)), runs)}
        import plotly.io as pio

        v = att.view(maps, 0, 0, "all", (0, 128) if maps.length > 64 else None)
        row["draw heatmap"] = ms(lambda: pio.to_json(charts.heatmap(v.matrix, maps.tokens, v.rows, v.cols, "x"),
                                                      validate=False), runs)
        full = att.view(maps, 0, 0)
        row["draw full map"] = ms(lambda: pio.to_json(charts.heatmap(full.matrix, maps.tokens, full.rows, full.cols, "x"),
                                                       validate=False), runs)
        pooled = att.thumbnails(maps, (0, 128) if maps.length > 64 else None, 32)[0]
        row["draw model view"] = ms(lambda: pio.to_json(charts.model_view(pooled, (0, 0)), validate=False), runs)
        row["draw all"] = ms(lambda: draw_all(maps, causal, stats), max(1, runs // 2))
        row["MB"] = maps.attentions.nbytes / 2**20
        rows.append(row)
    return rows


def bench_slider(model: str, bundle, runs: int) -> tuple[float, float, float]:
    from streamlit.testing.v1 import AppTest

    os.environ["BERT_PLAYGROUND_MODEL"] = model
    os.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "pages" / "4_Attention.py"), default_timeout=300)
    at.run()
    at.text_area(key="att_a").set_value(text_of_length(bundle.tokenizer, sample_text(), 128))
    at.text_area(key="att_b").set_value("")
    t = time.perf_counter()
    at.run()
    first = (time.perf_counter() - t) * 1000
    assert not at.exception, [e.value for e in at.exception]
    n_layers = bundle.info.layers
    times = []
    for k in range(runs * 2):
        at.slider(key="att_layer").set_value((k + 1) % n_layers + 1)
        t = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t) * 1000)
        assert not at.exception
    return first, statistics.median(times), max(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=os.environ.get("BERT_PLAYGROUND_MODEL", "embedded"))
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args(argv)
    from bert_playground.core import memory

    memory.tune_allocator()  # the app's allocator policy, set as the app sets it: at start-up, before torch loads

    import torch
    import transformers

    from bert_playground import load
    from bert_playground.core.device import describe

    transformers.logging.set_verbosity_error()

    bundle = load(args.model)
    i = bundle.info
    print(f"model: {args.model} ({i.layers} layers x {i.heads} heads, hidden {i.hidden_size}) on "
          f"{describe(bundle.device)}, torch {torch.__version__}; median of {args.runs} runs, ms")
    rows = bench_sizes(bundle, args.runs)
    cols = ["tokens", "compute", "causal", "stats+rollout", "draw heatmap", "draw full map", "draw model view",
            "draw all", "MB"]
    print(" | ".join(f"{c:>15}" for c in cols))
    for r in rows:
        print(" | ".join(f"{r[c]:>15.0f}" if c == "tokens" else f"{r[c]:>15.1f}" for c in cols))
    print("draw = build the Plotly figure(s) + JSON; 'draw all' = heatmap, model view, 6 stats grids, causal pair; "
          "inputs above 64 tokens are drawn in the page's default 128-token window ('draw full map': all T x T); "
          "MB = size of the (L,H,T,T) array")
    first, median, worst = bench_slider(args.model, bundle, args.runs)
    print(f"slider-only rerun at 128 tokens (AppTest at.run()): median {median:.0f} ms, max {worst:.0f} ms "
          f"(goal <= 100 ms); first run with the model {first:.0f} ms")


if __name__ == "__main__":
    main()
