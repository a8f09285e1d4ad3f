"""Pre-training lab: pre-train tiny BERTs from scratch in a few minutes, one recipe knob at a time, and see whether a
difference is larger than the run-to-run noise."""
import dataclasses

import pandas as pd
import streamlit as st

from bert_playground.core.jobs import Job
from bert_playground.figures import attention as att_charts
from bert_playground.figures import pretraining as charts
from bert_playground.pretraining import lab
from playground_ui import export, jobs, state, ui

SPLITS = {"80/10/10 (BERT)": (0.8, 0.1, 0.1), "always [MASK]": (1.0, 0.0, 0.0), "custom": None}
PAIRS = {"nsp": "NSP: next sentence (BERT)", "sop": "SOP: sentence order (ALBERT)", "none": "none (RoBERTa)"}
MAX_RUNS = 4
DEFAULT = lab.Recipe()
SPEC = state.spec("pretraining-lab",
                  state.Param("preset", "pl_preset", DEFAULT.preset, choices=lab.LAB_PRESETS),
                  state.Param("seconds", "pl_seconds", int(DEFAULT.seconds), int, 10, 3600),
                  state.Param("rate", "pl_rate", int(100 * DEFAULT.mask_rate), int, 5, 50),
                  state.Param("split", "pl_split", next(iter(SPLITS)), choices=tuple(SPLITS)),
                  state.Param("static", "pl_static", DEFAULT.static_masking, int, 0, 20),
                  state.Param("whole", "pl_whole", DEFAULT.whole_word, bool),
                  state.Param("pair", "pl_pair", DEFAULT.pair_task, choices=tuple(PAIRS)),
                  state.Param("share", "pl_share", 100, int, 5, 100),
                  state.Param("seed", "pl_seed", DEFAULT.seed, int, 0, 10_000))
INTRO = (
    "Every other page explains a model someone else pre-trained. Here **you** pre-train one: a tiny BERT from random "
    "weights, on about 800,000 words of Wikipedia, with the same code that made the embedded checkpoint (15% of "
    "tokens chosen, 80/10/10, pairs for the sentence task). Change one knob of the recipe at a time — the masking "
    "rate, static vs dynamic masking, NSP vs SOP vs no pair task — and compare. RoBERTa's lesson is that these "
    "choices matter; the **3 seeds** button shows whether a difference is larger than chance."
)


def intro_ui():
    st.title("Pre-training lab")
    st.markdown(INTRO)


def recipe_ui() -> lab.Recipe | None:
    c = st.columns(4)
    preset = c[0].selectbox("Model", lab.LAB_PRESETS, key="pl_preset",
                            format_func={"tiny": "tiny (2 layers × 64)", "mini": "mini (4 layers × 256)"}.get)
    seconds = c[1].number_input(f"Time limit (s, at most {lab.max_seconds():.0f})", step=10, key="pl_seconds")
    seed = c[2].number_input("Seed", step=1, key="pl_seed")
    share = c[3].slider("Corpus used (%)", 5, 100, key="pl_share")
    st.markdown("**Masking**")
    c = st.columns(4)
    rate = c[0].slider("Rate (%)", 5, 50, key="pl_rate")
    split_name = c[1].radio("Chosen tokens become", list(SPLITS), key="pl_split")
    split = SPLITS[split_name] or tuple(v / 100 for v in (c[1].number_input("[MASK] %", 0, 100, 80, key="pl_m"),
                                                          c[1].number_input("random %", 0, 100, 10, key="pl_r"),
                                                          c[1].number_input("kept %", 0, 100, 10, key="pl_k")))
    static = c[2].number_input("Static copies (0 = dynamic)", step=1, key="pl_static",
                               help="BERT's original: each example's masks drawn once and reused in N copies; "
                                    "RoBERTa: a new draw every epoch (0)")
    whole = c[3].toggle("Whole-word masking", key="pl_whole")
    pair = st.radio("Pair task", list(PAIRS), format_func=PAIRS.get, horizontal=True, key="pl_pair")
    with ui.user_errors():
        return lab.Recipe(preset=preset, seconds=float(seconds), seed=int(seed), corpus_share=share / 100,
                          mask_rate=rate / 100, mask_split=split, static_masking=int(static), whole_word=whole,
                          pair_task=pair).check()
    return None


def lab_job(recipe: lab.Recipe, seeds: tuple[int, ...]) -> Job:
    def events(stop):
        for seed in seeds:
            for ev in lab.run(dataclasses.replace(recipe, seed=seed), stop):
                yield {**ev, "seed": seed}
            if stop.is_set():
                return
    return Job(events, "pretraining-lab")


def start_ui(recipe: lab.Recipe | None):
    job = st.session_state.get("pl_job")
    busy = job is not None and not job.done
    c = st.columns(3)
    for where, label, seeds in ((c[0], "Pre-train", None), (c[1], "Repeat with 3 seeds", (0, 1, 2))):
        if where.button(label, key=f"pl_start_{label[:3]}", type="primary" if seeds is None else "secondary",
                        disabled=busy or recipe is None):
            st.session_state["pl_job"] = jobs.submit(lab_job(recipe, seeds or (recipe.seed,)))
            st.session_state["pl_recipe"] = recipe
            st.rerun()
    if busy:
        live_ui()
    elif job is not None:
        finished_ui(job)


@st.fragment(run_every=1.0)
def live_ui():
    job = jobs.live("pl_job", "pl_stop")
    if job is None:
        return
    events = job.events()
    rows = [e for e in events if "mlm_loss" in e]
    snaps = [e for e in events if e.get("event") == "snapshot"]
    if rows:
        st.caption(f"step {rows[-1]['step']} · {rows[-1]['tokens_seen']:,} tokens · {rows[-1]['tokens_per_s']:,.0f} tokens/s")
        export.chart(charts.lab_losses(rows), key="pl_live_loss", what="pretraining-loss")
    if snaps:
        export.chart(charts.lab_curves([{"label": "this run", "snapshots": snaps}]), key="pl_live_acc", what="pretraining")


def finished_ui(job):
    if job.error:
        (st.info if job.stopped else st.error)(ui.md_escape(job.error))
    events = job.events()
    done = [e for e in events if e.get("event") == "done"]
    if not done:
        return
    if st.session_state.get("pl_recorded") is not job:  # each finished run joins the comparison once
        st.session_state["pl_recorded"] = job
        recipe = st.session_state["pl_recipe"]
        runs = st.session_state.setdefault("pl_runs", [])
        for d in done:
            seed_snaps = [e for e in events if e.get("event") == "snapshot" and e["seed"] == d["seed"]]
            runs.append({"label": label(recipe, d["seed"]), "recipe": dataclasses.replace(recipe, seed=d["seed"]),
                         "result": d["result"], "snapshots": seed_snaps, "unigram": d["result"]["unigram_baseline_accuracy"]})
        del runs[:-MAX_RUNS * 3]
    learn_ui(st.session_state["pl_runs"][-1])


def label(recipe: lab.Recipe, seed: int) -> str:
    changed = [f"{f.name}={getattr(recipe, f.name)}" for f in dataclasses.fields(recipe)
               if f.name not in ("seed", "probes") and getattr(recipe, f.name) != getattr(DEFAULT, f.name)]
    return (", ".join(changed) or "default recipe") + f" (seed {seed})"


def learn_ui(run: dict):
    st.subheader("Watch it learn")
    snaps = run["snapshots"]
    res = run["result"]
    st.caption(f"Held-out MLM accuracy {res['eval_mlm_accuracy']:.3f} against the unigram baseline "
               f"{res['unigram_baseline_accuracy']:.3f} (always the most frequent token); pair task "
               f"{'—' if res['eval_nsp_accuracy'] is None else format(res['eval_nsp_accuracy'], '.3f')}; "
               f"{res['tokens_seen']:,} tokens in {res['run_seconds']} s.")
    table = {f"step {s['step']}": [" · ".join(f"{t} {p:.2f}" for t, p in probe["top"]) for probe in s["probes"]]
             for s in snaps}
    export.table(pd.DataFrame(table, index=[p["text"] for p in snaps[0]["probes"]]) if snaps else pd.DataFrame(),
                 "pl_probes", what="probes")
    with_maps = [s for s in snaps if s.get("attention")]
    if with_maps:
        k = st.select_slider("Snapshot", range(len(with_maps)), format_func=lambda i: f"step {with_maps[i]['step']}",
                             key="pl_snap")
        tokens, maps = with_maps[k]["attention"]
        c = st.columns(2)
        layer = c[0].selectbox("Layer", range(maps.shape[0]), format_func=lambda i: str(i + 1), key="pl_layer")
        head = c[1].selectbox("Head", range(maps.shape[1]), format_func=lambda i: str(i + 1), key="pl_head")
        export.chart(att_charts.heatmap(maps[layer, head], tokens, list(range(len(tokens))), list(range(len(tokens))),
                                        f"'{snaps[0]['probes'][0]['text']}' at step {with_maps[k]['step']}"),
                     key="pl_attention", what="pretraining-attention")
        st.caption("Does a previous-token head form, or one that parks on [SEP]? Slide through the snapshots.")
    if ui.served_to_others():
        st.caption("On a shared server the lab's models stay in the lab: other users' pages never open local folders.")
    elif st.button("Explore this model on the other pages", key="pl_use"):
        st.session_state.update({"checkpoint": res["out"], "checkpoint_source": "Local folder",
                                 "checkpoint_value": res["out"]})
        st.success("The other pages (Masked LM, Attention, Fine-tuning…) now use this model for this session.")


def compare_ui():
    runs = st.session_state.get("pl_runs", [])
    if not runs:
        return
    st.subheader("Recipe against recipe")
    groups: dict[str, list] = {}
    for r in runs:
        groups.setdefault(r["label"].rsplit(" (seed", 1)[0], []).append(r)
    summaries = [lab.summarise(name, [r["result"] for r in rs]) for name, rs in list(groups.items())[-MAX_RUNS:]]
    export.chart(charts.lab_curves(runs[-MAX_RUNS:]), key="pl_compare", what="recipes")
    export.table(pd.DataFrame([s.to_dict() for s in summaries]), "pl_summary", what="recipes", hide_index=True)
    for a, b in zip(summaries, summaries[1:]):
        st.caption(lab.verdict(a, b))
    export.records([{"label": r["label"], **dataclasses.asdict(r["recipe"]), **{k: v for k, v in r["result"].items()
                    if k.startswith("eval_") or k in ("tokens_seen", "unigram_baseline_accuracy")}} for r in runs],
                   "pl_runs_export", "recipes")


bundle = ui.setup(SPEC, wait=False)
intro_ui()
start_ui(recipe_ui())
compare_ui()
