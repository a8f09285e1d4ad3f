"""Interventions: switch heads off, rank them and prune them, patch activations between two inputs, and read the
answer forming layer by layer (the logit lens)."""
import pandas as pd
import streamlit as st

from bert_playground.classroom import lessons
from bert_playground.core.jobs import Job
from bert_playground.figures import attention as att_charts
from bert_playground.figures import interventions as charts
from bert_playground.figures import mlm as mlm_charts
from bert_playground.figures import nsp as nsp_charts
from bert_playground.interpret import importance, interventions
from playground_ui import export, jobs, lesson, state, ui, widgets
from playground_ui.widgets import notices

TABS = ("Switch heads off", "Head importance", "Activation patching", "Logit lens")
SPEC = state.spec("interventions",
                  state.Param("tab", "iv_tab", TABS[0], choices=TABS),
                  state.Param("text", "iv_text", "The capital of France is [MASK]."),
                  state.Param("b", "iv_b", ""),
                  state.Param("heads", "iv_heads", "", max_len=2000),
                  state.Param("mode", "iv_mode", interventions.MODES[0], choices=interventions.MODES),
                  state.Param("sentences", "iv_sentences", 100, int, 10, 264),
                  state.Param("clean", "iv_clean", "The capital of France is [MASK]."),
                  state.Param("corrupted", "iv_corrupted", "The capital of Italy is [MASK]."),
                  state.Param("lens", "iv_lens", "The capital of France is [MASK]."))
INTRO = (
    "The other pages show what the model computes. Here you **change** it and watch what breaks: switch attention "
    "heads off (Michel et al. 2019, *Are Sixteen Heads Really Better than One?*), rank every head by how much the "
    "masked-LM loss depends on it and prune them in that order, put one state of a *clean* run into a *corrupted* "
    "run to find where a fact is carried (activation patching, Meng et al. 2022), and read every layer through the "
    "MLM head (the *logit lens*). Each change affects only your own request: the shared model is never altered."
)


def intro_ui():
    st.title("Interventions")
    st.markdown(INTRO)


def head_names(bundle) -> list[str]:
    return [f"{layer}.{head}" for layer in range(bundle.info.layers) for head in range(bundle.info.heads)]


# ---- switching heads off ---------------------------------------------------------------------------

def ablation_inputs_ui(bundle) -> tuple[str, str, list[str], str]:
    text = st.text_area(f"Text (with {bundle.tokenizer.mask_token}: its guesses are compared)", key="iv_text", height=80)
    text_b = st.text_input("Sentence B (optional, and no mask: the NSP decision is compared)", key="iv_b")
    names = head_names(bundle)
    chosen = [h for h in str(st.session_state.get("iv_heads", "")).split(",") if h in names]
    c1, c2 = st.columns([3, 1])
    picked = c1.multiselect("Heads to switch off (LAYER.HEAD, from 0)", names, default=chosen, key="iv_heads_pick",
                            help="The Attention page's layer 1, head 1 is 0.0 here, as in the CLI's JSON.")
    st.session_state["iv_heads"] = ",".join(picked)
    mode = c2.radio("Switched off to", interventions.MODES, key="iv_mode",
                    format_func={"zero": "zero", "mean": "its mean output"}.get)
    return text, text_b, picked, mode


def prediction_ui(result, title: str, key: str, where):
    if hasattr(result, "masks"):
        m = result.masks[0]
        export.chart(mlm_charts.prediction_bars([p.token for p in m.predictions], [p.probability for p in m.predictions],
                                                title), key=key, where=where, what="ablation")
    else:
        export.chart(nsp_charts.probability_gauge(result.is_next_probability), key=key, where=where, what="ablation")


def ablation_ui(bundle):
    text, text_b, picked, mode = ablation_inputs_ui(bundle)
    if not picked:
        st.info("Pick heads to switch off: the prediction is drawn before and after.")
        return
    with ui.user_errors():
        res = interventions.ablate(bundle, text, text_b or None, picked, mode)
        guess = lesson.guess_ui("interventions", "With these heads switched off, does the top guess stay or change?",
                                (bundle.info.name, text, text_b, tuple(picked), mode), list(lessons.ABLATION_CHOICES))
        if guess.hidden:
            return
        lesson.reveal_ui(guess, lessons.ablation_answer(res))
        notices(getattr(res.before, "notices", ()))
        c1, c2 = st.columns(2)
        prediction_ui(res.before, "Before: every head on", "iv_before", c1)
        prediction_ui(res.after, f"After: {len(picked)} head(s) off ({mode})", "iv_after", c2)
        st.caption("Each switched-off head's context vector is replaced (by zeros, or by its mean over a reference "
                   "corpus) just before the attention output projection, for this request only.")
        export.records([res.to_dict()], "iv_ablation_export", "ablation")


# ---- head importance and pruning ---------------------------------------------------------------

def importance_ui(bundle):
    st.markdown("Every head's context is multiplied by a gate ξ = 1; its **importance** is the mean |∂L/∂ξ| of the "
                "masked-LM loss (15% masking, 80/10/10) over the sentences of the shipped NSP demo corpus, which the "
                "embedded checkpoint never trained on. Then heads are switched off, least important first (as in the paper) and in three "
                "random orders, and the held-out MLM accuracy is measured each time.")
    n = st.slider("Sentences", 10, 264, key="iv_sentences")
    job = st.session_state.get("iv_job")
    running = job is not None and not job.done
    if st.button("Rank the heads and prune them", key="iv_run", type="primary", disabled=running):
        sentences = importance.reference_sentences()[:n]
        job = jobs.submit(Job(lambda stop, b=bundle, s=sentences: _stoppable(importance.importance(b, s), stop),
                              "importance"))
        st.session_state["iv_job"] = job
        st.rerun()
    if job is not None:
        importance_progress_ui() if not job.done else importance_result_ui(bundle, job)


def _stoppable(events, stop):
    for ev in events:
        if stop.is_set():
            return
        yield ev


@st.fragment(run_every=1.0)
def importance_progress_ui():
    job = jobs.live("iv_job", "iv_stop")
    if job is not None:
        last = job.events()[-1] if job.events() else None
        st.progress(last.done / last.total if last else 0.0,
                    text=f"{last.what}: {last.done} of {last.total}" if last else "starting…")


def importance_result_ui(bundle, job):
    events = job.events()
    if job.error or not events or not isinstance(events[-1], importance.Importance):
        (st.info if job.stopped or not job.error else st.error)(ui.md_escape(job.error or "Stopped before the end."))
        return
    res = events[-1]
    top = ", ".join(f"{layer}.{head}" for layer, head in res.ranked()[:5])
    st.caption(f"The 5 most important heads (LAYER.HEAD from 0): {top}. {res.sentences} sentences, {res.masked} "
               "masked tokens per evaluation.")
    export.chart(att_charts.stat_grid(res.scores, "Head importance: mean |∂L/∂ξ|", fmt=".3f"), key="iv_scores",
                 what="importance")
    export.chart(charts.pruning_curves(list(res.pruning), res.scores.size), key="iv_pruning", what="pruning")
    export.table(pd.DataFrame(res.pruning), "iv_pruning_table", what="pruning", hide_index=True)


# ---- activation patching and the logit lens -----------------------------------------------------------

def patching_ui(bundle):
    c1, c2 = st.columns(2)
    clean = c1.text_input("Clean input", key="iv_clean")
    corrupted = c2.text_input("Corrupted input (same number of tokens)", key="iv_corrupted")
    with ui.user_errors():
        res = interventions.patch(bundle, clean, corrupted)
        st.caption(f"P({res.answer}) at the mask: clean run {res.clean_probability:.3f}, corrupted run "
                   f"{res.corrupted_probability:.3f}. Each cell: the corrupted run with that one state taken from the "
                   "clean run. Bright cells carry what makes the clean answer.")
        rows = ["embeddings"] + [f"layer {i + 1}" for i in range(len(res.grid) - 1)]
        ref = (res.corrupted_probability, res.clean_probability)
        export.chart(charts.patching_grid(res.grid, res.tokens, rows, "Hidden states patched", ref), key="iv_grid",
                     what="patching")
        for block, name in (("attention", "Attention blocks patched"), ("feed_forward", "Feed-forward blocks patched")):
            export.chart(charts.patching_grid(res.blocks[block], res.tokens, rows[1:], name, ref), key=f"iv_{block}",
                         what="patching")
        export.records([res.to_dict()], "iv_patch_export", "patching")


def lens_ui(bundle):
    text = st.text_input("Text with masks", key="iv_lens")
    st.caption("The MLM head was trained on the last layer only: what it reads from earlier layers is approximate "
               "(the 'logit lens'), yet it shows when the final answer becomes the top guess.")
    with ui.user_errors():
        lens = interventions.logit_lens(bundle, text, 5)
        guess = lesson.guess_ui("interventions", "From which layer on (0: the embeddings) is the model's final answer "
                                "the top reading?", (bundle.info.name, text),
                                [str(i) for i in range(len(lens.masks[0]["layers"]))])
        if guess.hidden:
            return
        lesson.reveal_ui(guess, lessons.lens_answer(lens))
        for m in lens.masks:
            layers = m["layers"]
            answer = layers[-1]["top"][0][0]
            export.table(pd.DataFrame([{"Layer": r["layer"], "Rank of the answer": r["answer_rank"],
                                        **{f"#{k + 1}": f"{t} {p:.2f}" for k, (t, p) in enumerate(r["top"])}}
                                       for r in layers]), f"iv_lens_{m['position']}", what="lens", hide_index=True)
            export.chart(charts.lens_ranks(layers, answer), key=f"iv_lens_chart_{m['position']}", what="lens")


def tabs_ui(bundle):
    widgets.views_ui("Intervention", dict(zip(TABS, (ablation_ui, importance_ui, patching_ui, lens_ui))), "iv_tab", bundle)


bundle = ui.setup(SPEC)
intro_ui()
tabs_ui(ui.need_model(bundle))
