"""Explanations: why did the model say that? Attention, rollout and integrated gradients for one prediction,
a deletion test that checks them, and the neuron view of one attention head."""
import pandas as pd
import streamlit as st

from bert_playground.finetune.classifier import load_classifier
from bert_playground.inputs.text import encode
from bert_playground.interpret import attribution
from bert_playground.interpret.neuron import neuron_view
from bert_playground.objectives.mlm import normalise_masks
from bert_playground.core.jobs import Job
from playground_ui import export, jobs, state, ui
from bert_playground.figures import explain as charts
from bert_playground.figures import describe
from playground_ui.widgets import fit, notices

KINDS = {"mask": "A masked token's guess", "nsp": "The NSP decision (IsNext / NotNext)",
         "label": "A fine-tuned classifier's label"}
BASELINE_NAMES = {"mask": "[MASK] (default)", "pad": "[PAD]", "zero": "zero embeddings"}
MEAN = -1  # the attention head 'mean over heads'
QUICK_SECONDS = 8.0  # an IG estimated to take longer is announced first and runs in the background, with a Stop
SPEC = state.spec("explanations",
                  state.Param("kind", "xp_kind", "mask", choices=tuple(KINDS)),
                  state.Param("text", "xp_text", "The capital of France is [MASK]."),
                  state.Param("mask", "xp_mask", 0, int, 0, 511),
                  state.Param("a", "xp_a", "She opened the umbrella."),
                  state.Param("b", "xp_b", "It had started to rain."),
                  state.Param("clf_text", "xp_clf_text", "I think I left my card in the taxi."),
                  state.Param("clf_pair", "xp_clf_pair", ""),
                  # which classifier (this session's, or a folder) is the session's own: never read from a link
                  state.Param("clf_source", "xp_clf_source", None, in_link=False),
                  state.Param("clf_folder", "xp_clf_folder", "", in_link=False),
                  state.Param("baseline", "xp_baseline", attribution.DEFAULT_BASELINE, choices=attribution.BASELINES),
                  state.Param("steps", "xp_steps", attribution.DEFAULT_STEPS, int, 1, attribution.MAX_STEPS),
                  state.Param("layer", "xp_layer", None, int, 0, 127),  # default: the last layer (set by the page)
                  state.Param("head", "xp_head", MEAN, int, MEAN, 127),
                  state.Param("k", "xp_k", 10, int, 1, 50),
                  state.Param("n_text", "xp_n_text", "The cat sat on the mat because it was tired."),
                  state.Param("n_layer", "xp_n_layer", 0, int, 0, 127),
                  state.Param("n_head", "xp_n_head", 0, int, 0, 127),
                  state.Param("n_query", "xp_n_query", 0, int, 0, 511))
INTRO = (
    "Attention maps are often read as explanations, but attention shows where information is *gathered*, not what "
    "the prediction *depends on*. Here three rankings of the input tokens for **one prediction** sit side by side: "
    "raw attention from the prediction's position, attention rollout, and **integrated gradients** (IG: the "
    "gradient of the prediction's probability, integrated along a straight path from a baseline input to the real "
    "one; its attributions add up to f(input) − f(baseline)). Then a **deletion test** checks them against the "
    "model itself: replace each ranking's top tokens by [MASK] and watch the probability."
)
BASELINE_WHY = (
    "IG measures each token against a baseline in which every word is replaced (the [CLS], [SEP] and [MASK] "
    "tokens stay, so they get 0 by construction). **[MASK]** is the default: BERT was trained to read it as "
    "'a word is here but hidden', so the baseline is an input the model knows, and it is what the deletion "
    "test puts in place of the tokens it removes. [PAD] is never attended to in training, and a zero vector is "
    "no token at all: both are off the model's usual inputs."
)
DELETION_HOW = (
    "Each line replaces the top k tokens of one ranking by [MASK] (never [CLS], [SEP] or the masks) and reads the "
    "probability of the same prediction again. A ranking that names the tokens the prediction depends on makes "
    "its curve fall fast; the grey band is where random orderings fall (10th–90th percentile). The table gives "
    "the area under each curve (from k = 0, divided by K): smaller means it fell faster, on this input."
)
NEURON_HOW = (
    "How one head computes one row of attention, from the model's own weights and hidden states: the query vector "
    "of the chosen token, the key vector of every token, their elementwise product, its sum scaled by 1/√d (the "
    "score), and the softmax of the scores: the attention weights. Red = positive, blue = negative."
)


# ---- small helpers ---------------------------------------------------------------------

def remembered(key: tuple, compute):
    """Results kept for this session (they hold the shared model, so they are not pickled by st.cache_data)."""
    memo = st.session_state.setdefault("xp_memo", {})
    if key not in memo:
        if len(memo) >= 8:
            memo.pop(next(iter(memo)))
        memo[key] = compute()
    return memo[key]


@st.cache_resource(max_entries=2, show_spinner="Loading the classifier…")
def classifier_from(folder: str):
    return load_classifier(folder, "cpu")


def session_classifier():
    """The BERT classifier fine-tuned on the Fine-tuning page in this session, if any."""
    result = st.session_state.get("ft_result")
    clf = getattr(result, "classifier", None)
    return clf if getattr(clf, "kind", None) == "bert" else None


# ---- the story ---------------------------------------------------------------------------

def intro_ui():
    st.title("Explanations")
    st.markdown(INTRO)


def target_ui(bundle):
    """What to explain: returns (target key, a function that builds the target)."""
    kind = st.radio("What to explain", list(KINDS), format_func=KINDS.get, horizontal=True, key="xp_kind")
    if kind == "mask":
        text = st.text_area("Text with [MASK] where the model guesses a word", key="xp_text", height=80)
        mask = bundle.tokenizer.mask_token
        n = max(1, normalise_masks(text or "", mask)[0].count(mask))
        fit("xp_mask", n - 1, 0)
        which = st.selectbox("Explain the guess at mask number", range(n), format_func=lambda i: str(i + 1),
                             key="xp_mask") if n > 1 else 0
        return ("mask", text, which), lambda: attribution.mask_target(bundle, text, mask=which)
    if kind == "nsp":
        c = st.columns(2)
        a = c[0].text_area("Sentence A", key="xp_a", height=80)
        b = c[1].text_area("Sentence B", key="xp_b", height=80)
        return ("nsp", a, b), lambda: attribution.nsp_target(bundle, a, b)
    return label_ui()


def label_ui():
    clf = session_classifier()
    sources = (["Fine-tuned on the Fine-tuning page"] if clf is not None else []) + (
        ["A folder saved by `finetune --save`"] if ui.allowed() is None else [])
    if not sources:
        st.info("Fine-tune a BERT classifier on the Fine-tuning page first (full or frozen mode); then explain its "
                "labels here.")
        return None, None
    if st.session_state.get("xp_clf_source") not in sources:
        st.session_state["xp_clf_source"] = sources[0]
    source = st.radio("Classifier", sources, key="xp_clf_source", horizontal=True)
    if source.startswith("A folder"):
        folder = st.text_input("Folder of the fine-tuned classifier", key="xp_clf_folder",
                               placeholder="/path/to/finetuned")
        if not folder.strip():
            st.info("Type the folder that `python -m bert_playground finetune --save FOLDER` wrote.")
            return None, None
        with ui.user_errors():
            clf = classifier_from(folder.strip())
        if clf is None or clf.kind != "bert":
            if clf is not None:
                st.error("That folder holds the bag-of-words baseline, which has no embeddings to attribute.")
            return None, None
    text = st.text_input("Text", key="xp_clf_text")
    pair = st.text_input("Second sentence", key="xp_clf_pair") if clf.pair else None
    return ("label", id(clf), text, pair), lambda: attribution.label_target(clf, text, pair)


def settings_ui(target: attribution.Target, layers: int, heads: int) -> dict:
    c = st.columns([1.3, 1.3, 1, 1, 1])
    baseline = c[0].selectbox("IG baseline", attribution.BASELINES, format_func=BASELINE_NAMES.get, key="xp_baseline",
                              help=BASELINE_WHY)
    most = attribution.max_steps(len(target))
    fit("xp_steps", most, attribution.DEFAULT_STEPS)
    steps = c[1].number_input(f"IG steps (1–{most} for this input)", 1, most, key="xp_steps")
    fit("xp_layer", layers - 1, layers - 1)  # the last layer first
    layer = c[2].selectbox("Attention layer", range(layers), format_func=lambda i: str(i + 1), key="xp_layer")
    fit("xp_head", heads - 1, MEAN)
    head = c[3].selectbox("Attention head", [MEAN] + list(range(heads)), key="xp_head",
                          format_func=lambda h: "mean" if h == MEAN else str(h + 1))
    k_max = c[4].number_input("Deletion: up to K tokens", 1, 50, key="xp_k")
    return dict(baseline=baseline, steps=int(steps), layer=layer, head=None if head == MEAN else head, k_max=int(k_max))


def run_ui(key: tuple, target: attribution.Target, s: dict) -> attribution.Explanation | None:
    """IG once per (input, baseline, steps); the rest redrawn from it. A quick IG runs here under a progress bar;
    a long one is announced with its cost and runs in the background (the one job path) with a Stop button."""
    ig_key = key + ("ig", s["baseline"], s["steps"])
    memo = st.session_state.setdefault("xp_memo", {})
    if ig_key not in memo:
        cost = attribution.ig_cost(target, s["steps"])
        if cost.seconds > QUICK_SECONDS:
            ig = ig_job_ui(ig_key, target, s, cost)
            if ig is None:
                return None
            memo[ig_key] = ig

    def integrate():
        bar = st.progress(0.0, text=f"Integrated gradients, {s['steps']} steps…")
        ig = attribution.integrated_gradients(target, s["baseline"], s["steps"], lambda f: bar.progress(f, text=f"Integrated "
                                    f"gradients, {s['steps']} steps: {f:.0%}"))
        bar.empty()
        return ig

    ig = remembered(ig_key, integrate)
    return remembered(key + tuple(s.items()), lambda: attribution.explain(target, ig=ig, **s))


def ig_job_ui(ig_key: tuple, target: attribution.Target, s: dict, cost) -> attribution.IG | None:
    """The cost first, then IG in the background with its progress and a Stop button; its result once done."""
    job = st.session_state.get("xp_ig_job")
    mine = job is not None and st.session_state.get("xp_ig_key") == ig_key
    if mine and job.done and not job.error:
        st.session_state.pop("xp_ig_job")
        return job.events()[-1]
    st.info(f"Integrated gradients: {cost.sentence()}")
    if not mine or job.done:
        if mine and job.error:
            (st.info if job.stopped else st.error)(ui.md_escape(job.error))
        if st.button("Compute integrated gradients", key="xp_ig_run", type="primary"):
            progress = st.session_state["xp_ig_progress"] = [0.0]  # the worker appends, the fragment reads

            def run(stop, t=target, b=s["baseline"], n=s["steps"]):
                yield attribution.integrated_gradients(t, b, n, progress.append, stop)
            st.session_state["xp_ig_job"], st.session_state["xp_ig_key"] = jobs.submit(Job(run, "ig")), ig_key
            st.rerun()
        return None
    ig_progress_ui()
    return None


@st.fragment(run_every=1.0)
def ig_progress_ui():
    if jobs.live("xp_ig_job", "xp_ig_stop") is not None:
        done = st.session_state.get("xp_ig_progress", [0.0])[-1]
        st.progress(done, text=f"Integrated gradients in the background: {done:.0%}")


def prediction_ui(e: attribution.Explanation):
    t = e.target
    what = {"mask": f"at the mask (position {t.position})", "nsp": "for this pair", "label": "for this text"}[t.kind]
    st.markdown(f"**Prediction {what}: {ui.md_escape(t.prediction)}**, probability {t.probability:.1%}.")
    notices(e.notices)
    c = st.columns(4)
    c[0].metric("f(input)", f"{t.probability:.4f}")
    c[1].metric(f"f(baseline: {BASELINE_NAMES[e.ig.baseline]})", f"{e.ig.baseline_probability:.4f}")
    c[2].metric("Sum of IG attributions", f"{float(e.scores['integrated_gradients'].sum()):.4f}")
    c[3].metric("Convergence delta", f"{e.ig.delta:.2g}")
    if not e.delta_large:
        st.caption(f"Completeness: the IG attributions add up to f(input) − f(baseline) = {e.change:.4f} within "
                   f"{abs(e.ig.delta):.1e}.")


def views_ui(e: attribution.Explanation):
    st.subheader("Three views of the same prediction")
    head = "mean over heads" if e.head is None else f"head {e.head + 1}"
    st.caption(f"Raw attention: layer {e.layer + 1}, {head}, the row of the prediction's position (▲). Rollout: "
               "through all layers, same row. Gradient × input and IG: red = pushes the prediction up, blue = down. "
               "Attention often parks on [CLS] and [SEP] (a 'no-op'); IG gives them 0 because the baseline keeps them.")
    export.chart(charts.token_scores(e.target.tokens, e.scores, e.target.position), key="xp_scores", what="scores",
                 summary=describe.attribution(e.target.tokens, e.scores, charts.METHOD_NAMES, e.target.candidates))
    n = min(3, len(e.target.candidates))
    top = {charts.METHOD_NAMES[m]: [e.target.tokens[i] for i in attribution.ranking(e.scores[m], e.target.candidates)[:n]]
           for m in attribution.METHODS}
    st.caption("Ranked first by each method (special tokens and masks left out):")
    export.table(pd.DataFrame({"Rank": ["1st", "2nd", "3rd"][:n], **top}), "xp_top", what="ranking", hide_index=True)


def deletion_ui(e: attribution.Explanation):
    st.subheader("Deletion test: which ranking explains the prediction?")
    st.caption(DELETION_HOW)
    d = e.deletion
    export.chart(charts.deletion_curves(d.k, d.curves, e.target.probability, d.random_mean, d.random_low,
                                        d.random_high), key="xp_deletion", what="deletion")
    export.table(pd.DataFrame({"Ranking": [charts.METHOD_NAMES[m] for m in d.areas],
                               "Area under the curve": list(d.areas.values())}), "xp_areas", what="deletion-areas",
                 hide_index=True, column_config={"Area under the curve": st.column_config.NumberColumn(format="%.4f")})


def attribution_ui(bundle):
    key, build = target_ui(bundle)
    if build is None:
        return
    with ui.user_errors():
        target = remembered((ui.checkpoint_name(),) + key + ("target",), build)
        layers, heads = target.encoder.config.num_hidden_layers, target.encoder.config.num_attention_heads
        s = settings_ui(target, layers, heads)
        e = run_ui((ui.checkpoint_name(),) + key, target, s)
        if e is None:  # a long IG: announced, running or stopped
            return
        prediction_ui(e)
        views_ui(e)
        deletion_ui(e)


def neuron_ui(bundle):
    st.markdown(NEURON_HOW)
    text = st.text_input("Text", key="xp_n_text")
    info = bundle.info
    c = st.columns(3)
    fit("xp_n_layer", info.layers - 1, 0)
    fit("xp_n_head", info.heads - 1, 0)
    layer = c[0].selectbox("Layer", range(info.layers), format_func=lambda i: str(i + 1), key="xp_n_layer")
    head = c[1].selectbox("Head", range(info.heads), format_func=lambda i: str(i + 1), key="xp_n_head")
    with ui.user_errors():
        tokens = encode(bundle, text).tokens
        fit("xp_n_query", len(tokens) - 1, 0)
        query = c[2].selectbox("Query token", range(len(tokens)), key="xp_n_query",
                               format_func=lambda i: f"{tokens[i]} #{i}")
        v = neuron_view(bundle, text, layer, head, min(query, len(tokens) - 1))
        export.chart(charts.neuron(v.tokens, v.query_index, v.query, v.keys, v.products, v.scores,
                                   v.probabilities), key="xp_neuron", what="neuron")
        st.caption(f"Check: this softmax and the attention the model itself returns differ by at most "
                   f"{v.max_difference:.1e}.")


bundle = ui.setup(SPEC)
intro_ui()
bundle = ui.need_model(bundle)
tab_attr, tab_neuron = st.tabs(["Attribution and deletion test", "Neuron view"])
with tab_attr:
    attribution_ui(bundle)
with tab_neuron:
    neuron_ui(bundle)
