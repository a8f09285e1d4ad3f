"""One shared model, 20 threads: what the app does when a class uses it at once.

Streamlit runs each session's script in its own thread and `ui.cached_bundle` hands all of them the same
Bundle (model and tokenizer). The same fill-mask / NSP / attention / representation calls made from 20
threads at once must give exactly the results of the same calls made one after the other.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from bert_playground.inputs import representation
from bert_playground.interpret import attention
from bert_playground.objectives import mlm, nsp

THREADS = 20
LONG = "The river flows past the old mill and under the stone bridge. " * 60  # > 512 tokens: truncation paths
QUERIES = [
    ("fill", "The capital of France is [MASK].", None),
    ("fill", "Paris is the [MASK] of [mask].", None),
    ("fill", "[MASK] " + LONG, None),
    ("nsp", "I put the kettle on.", "A few minutes later the tea was ready."),
    ("nsp", "The train was late.", "Bananas are rich in potassium."),
    ("nsp", LONG, LONG),
    ("attention", "The animal didn't cross the street because it was too tired.", None),
    ("attention", "The cat sat on the mat.", "It was happy."),
    ("attention", LONG, "short"),
    ("represent", "unaffable friends", "unbelievably bored"),
    ("represent", LONG, LONG),
]


def run_one(bundle, kind, a, b):
    """A comparable summary of one call."""
    if kind == "fill":
        r = mlm.fill(bundle, a, 5)
        return r.tokens, [(m.position, [p.token_id for p in m.predictions], [p.probability for p in m.predictions])
                          for m in r.masks]
    if kind == "nsp":
        s = nsp.score_text(bundle, a, b)
        return tuple(s.packed.input_ids), s.is_next_probability, s.head_output
    if kind == "attention":
        m = attention.compute(bundle, a, b)
        return m.tokens, m.attentions
    e = representation.represent(bundle, a, b).encoding
    return tuple(e.input_ids), tuple(e.token_type_ids), e.truncated


def same(x, y) -> bool:
    if isinstance(x, np.ndarray):
        return x.shape == y.shape and np.array_equal(x, y)
    if isinstance(x, (list, tuple)):
        return len(x) == len(y) and all(same(i, j) for i, j in zip(x, y))
    return x == y


def test_threads_give_the_serial_results(tiny):
    serial = [run_one(tiny, *q) for q in QUERIES]
    jobs = [(i, q) for _ in range(3) for i, q in enumerate(QUERIES)]  # every query 3 times, shuffled across threads
    jobs = jobs[::2] + jobs[1::2]
    start = threading.Barrier(THREADS)

    def work(chunk):
        start.wait()  # all threads begin together
        return [(i, run_one(tiny, *q)) for i, q in chunk]

    chunks = [jobs[k::THREADS] for k in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for rs in pool.map(work, chunks) for r in rs]
    assert len(results) == len(jobs)
    bad = [QUERIES[i][0] + ": " + QUERIES[i][1][:40] for i, r in results if not same(r, serial[i])]
    assert bad == []


def test_the_model_is_not_changed_by_concurrent_use(tiny):
    before = {k: v.clone() for k, v in tiny.model.state_dict().items()}
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda q: run_one(tiny, *q), QUERIES * 2))
    after = tiny.model.state_dict()
    assert all(np.array_equal(before[k].numpy(), after[k].numpy()) for k in before)
    assert not tiny.model.training and not any(p.requires_grad for p in tiny.model.parameters())


def test_cached_bundle_loads_once_for_20_threads(tiny_dir):
    """ui.cached_bundle (st.cache_resource) gives every thread the very same Bundle object."""
    from playground_ui import ui

    ui._loaded.clear()
    start = threading.Barrier(THREADS)

    def get(_):
        start.wait()
        return ui.cached_bundle(str(tiny_dir), "cpu")

    with ThreadPoolExecutor(THREADS) as pool:
        bundles = list(pool.map(get, range(THREADS)))
    assert len({id(b) for b in bundles}) == 1
    assert same(run_one(bundles[0], *QUERIES[0]), run_one(bundles[-1], *QUERIES[0]))
    ui._loaded.clear()
