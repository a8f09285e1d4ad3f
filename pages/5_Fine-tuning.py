"""Fine-tuning: train a classifier on top of BERT, live, in a background thread of this session."""
import pandas as pd
import streamlit as st

from playground_ui import export, lesson, state, ui
from bert_playground import datasets as D
from bert_playground import finetune
from bert_playground.device import describe
from bert_playground.jobs import Job
from playground_ui import finetune_view as view
from playground_ui.charts import finetune as charts

SOURCES = ["Shipped: customer-support intents", "Upload CSV/TSV", "Hugging Face dataset"]
LRS = [1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5]
SPEC = state.spec("fine-tuning",
                  state.Param("data", "ft_source", SOURCES[0], choices=tuple(SOURCES)),
                  state.Param("mode", "ft_mode", finetune.MODES[0], choices=tuple(finetune.MODES)),
                  *[state.Param(f"layers_{m}", f"ft_layers_{m}", None, int, 1, 48) for m in finetune.MODES],
                  *[state.Param(f"lr_{m}", f"ft_lr_{m}", None, float, choices=tuple(LRS)) for m in finetune.MODES],
                  state.Param("epochs", "ft_epochs", 3, int, *finetune.LIMITS["epochs"]),
                  state.Param("batch", "ft_batch", 16, int, choices=(4, 8, 16, 32, 64, 128)),
                  state.Param("seconds", "ft_max_seconds", 120, int, 5, 3600),
                  state.Param("early", "ft_early", False, bool),
                  state.Param("hub", "ft_hub_name", "glue", max_len=200, in_link=False),  # a link never makes the server download
                  state.Param("hub_config", "ft_hub_config", "sst2", max_len=200, in_link=False),
                  state.Param("try", "ft_try_a", "I think I left my card in the taxi."))

bundle = ui.setup("Fine-tuning", "🏋️", SPEC)
st.title("Fine-tuning")
st.markdown(
    "BERT's second half: a pretrained encoder plus a small **classification head** on the `[CLS]` vector, trained on "
    "labelled examples. **Full fine-tuning** updates every weight; a **frozen encoder** trains only the head on "
    "fixed `[CLS]` features; the **bag-of-words baseline** uses no BERT at all. Keeping only the first few encoder "
    "layers makes a *tiny* BERT that trains in seconds on a CPU. Training runs in the background: the rest of the "
    "app stays usable, and your runs are visible to you only."
)


@st.cache_data(show_spinner=False)
def shipped():
    return D.shipped()


@st.cache_data(max_entries=8, show_spinner="Reading the file…")
def read_upload(raw: bytes, name: str):
    return D.read_table(raw, name)


@st.cache_data(max_entries=4, show_spinner="Loading from the Hugging Face Hub…")
def read_hub(name: str, config: str, split: str):
    return D.load_hub(name, config or None, split)


def pick_columns(table, eval_table):
    text0, pair0, label0 = D.guess_columns(table)
    cols, k = list(table.columns), table.name
    c1, c2, c3 = st.columns(3)
    text = c1.selectbox("Text column", cols, index=cols.index(text0), key=f"ft_text_{k}")
    pair = c2.selectbox("Second-sentence column (pairs)", ["(none)"] + cols,
                        index=cols.index(pair0) + 1 if pair0 else 0, key=f"ft_pair_{k}")
    label = c3.selectbox("Label column", cols, index=cols.index(label0), key=f"ft_label_{k}")
    return D.train_and_holdout(table, text, label, None if pair == "(none)" else pair, eval_table)


def choose_data():
    source = st.radio("Dataset", SOURCES, key="ft_source", horizontal=True)
    if source == SOURCES[0]:
        return shipped()
    if source == SOURCES[1]:
        c1, c2 = st.columns(2)
        up = c1.file_uploader(f"Training file (CSV or TSV with a header row, at most {D.MAX_MB} MB)",
                              type=["csv", "tsv", "txt"], key="ft_upload")
        up_eval = c2.file_uploader("Held-out file (optional; otherwise 20% of the training file is held out)",
                                   type=["csv", "tsv", "txt"], key="ft_upload_eval")
        if up is None:
            st.info("Upload a labelled file: one column of text (two for sentence pairs) and one label column.")
            return None
        table = read_upload(up.getvalue(), up.name)
        return pick_columns(table, read_upload(up_eval.getvalue(), up_eval.name) if up_eval else None)
    if not D.hub_available():
        st.info(D.HUB_HINT)
        return None
    c1, c2, c3, c4 = st.columns(4)
    name = c1.text_input("Dataset id", key="ft_hub_name")
    config = c2.text_input("Configuration", key="ft_hub_config")
    split = c3.text_input("Training split", "train", key="ft_hub_train")
    eval_split = c4.text_input("Held-out split", "validation", key="ft_hub_eval")
    return pick_columns(read_hub(name, config, split), read_hub(name, config, eval_split))


data = None
with ui.user_errors():
    data = choose_data()
if data is not None:
    train, test = data
    counts = ", ".join(f"{ui.md_escape(n)} ({c})" for n, c in train.counts().items())
    pairs_note = " (sentence pairs)" if train.text_pairs is not None else ""
    st.caption(f"{len(train):,} training and {len(test):,} held-out examples{pairs_note} · classes: {counts}")
    with st.expander("Preview the training data"):
        st.dataframe(pd.DataFrame(train.preview(20)), hide_index=True)

st.subheader("Settings")
c = st.columns(5)
mode = c[0].selectbox("Mode", finetune.MODES, format_func=view.MODE_LABELS.get, key="ft_mode")
n_layers = bundle.info.layers if bundle is not None else 1
layers = c[1].number_input(f"Encoder layers kept (of {n_layers})", 1, n_layers, n_layers if mode == "frozen" else
                           min(2, n_layers), key=f"ft_layers_{mode}", disabled=mode == "baseline",
                           help="a 'tiny' BERT: only the first k layers are copied. Frozen mode needs the top layers: "
                                "in low layers [CLS] has not yet gathered the sentence.")
epochs = c[2].number_input("Epochs", *finetune.LIMITS["epochs"], key="ft_epochs")
batch = c[3].select_slider("Batch size", [4, 8, 16, 32, 64, 128], key="ft_batch")
lr = c[4].select_slider("Learning rate", LRS, value=finetune.DEFAULT_LR[mode], format_func="{:g}".format, key=f"ft_lr_{mode}")
c = st.columns([1, 1, 3])
max_seconds = c[0].number_input("Time limit (s)", 5, 3600, key="ft_max_seconds")
early = c[1].checkbox("Early stopping", key="ft_early", help="stop after 3 evaluations without a better accuracy")
device = bundle.device if bundle is not None else ui.device_name()
c[2].caption(f"Training device: **{describe(device)}**. Defaults (full: 2 layers, 3 epochs; frozen: all "
             "layers, [CLS] features computed once) train the shipped data in well under a minute on a CPU.")

job = st.session_state.get("ft_job")
running = job is not None and not job.done
no_model = bundle is None and mode != "baseline"
if no_model:
    st.info("BERT modes need a checkpoint that loads (pick one in the sidebar); the baseline works without one.")
if st.button("Start training", type="primary", key="ft_start", disabled=running or data is None or no_model):
    with ui.user_errors():
        cfg = finetune.FinetuneConfig(mode=mode, layers=None if mode == "baseline" else int(layers), epochs=int(epochs),
                               batch_size=batch, lr=lr, max_seconds=float(max_seconds), patience=3 if early else None)
        finetune.validate(cfg, bundle, train, test)
        job = Job(lambda stop, b=bundle, tr=train, te=test, cf=cfg: finetune.train(b, tr, te, cf, stop), "finetune").start()
        st.session_state["ft_job"] = job
        st.rerun()  # redraw with the button disabled and the live view ticking


@st.fragment(run_every=1.0 if running else None)
def live():
    job = st.session_state.get("ft_job")
    if job is None:
        st.info("Pick the data and settings, then press **Start training**.")
        return
    done = job.done  # read before the events: once done, the snapshot below is complete
    cur = view.curves(job.events())
    st.progress(cur.fraction, text="done" if done and not job.error else cur.status)
    if not done and st.button("Stop", key="ft_stop", icon="⏹️"):
        job.stop()
    if job.error:
        st.error(ui.md_escape(job.error))
    total = cur.start.total_steps if cur.start else None
    c1, c2 = st.columns(2)
    export.chart(charts.loss_curve(cur.steps, cur.losses, total), key="ft_loss", where=c1)
    export.chart(charts.accuracy_curve(cur.eval_steps, cur.accuracies, cur.macro_f1s, total), key="ft_acc", where=c2)
    if done and st.session_state.get("ft_recorded") is not job:  # once per run: keep it, then a full rerun
        st.session_state["ft_recorded"] = job
        if cur.result is not None:
            st.session_state["ft_result"] = cur.result
            runs = st.session_state.setdefault("ft_runs", [])
            runs.append({"Run": len(runs) + 1, **view.row(cur.result)})
        st.rerun()


live()
result = st.session_state.get("ft_result")
if result is not None:
    st.subheader("Result of the last run")
    m = result.metrics
    c = st.columns(4)
    c[0].metric("Accuracy", f"{m.accuracy:.1%}")
    c[1].metric("Macro-F1", f"{m.macro_f1:.3f}")
    c[2].metric("Time", f"{result.seconds:.1f} s")
    c[3].metric("Examples/s", f"{result.examples_per_s:,.0f}")
    if result.stopped:
        st.caption(f"Ended early ({result.stopped}) after {result.epochs:.2f} epochs.")
    export.chart(charts.confusion([list(r) for r in m.confusion], list(result.classifier.label_names)), key="ft_cm",
                 what="confusion")
    st.subheader("Try the fine-tuned model")
    text_a = st.text_input("Text", key="ft_try_a")
    text_b = st.text_input("Second sentence", key="ft_try_b") if result.classifier.pair else None
    with ui.user_errors():
        pred = result.classifier.predict([text_a], [text_b] if text_b is not None else None)[0]
        guess = lesson.guess_ui("fine-tuning", "Which label will the fine-tuned model give this text?",
                                (id(result), text_a, text_b), list(result.classifier.label_names))
        if not guess.hidden:
            lesson.reveal_ui(guess, pred.label)
            export.chart(charts.probabilities(pred.probabilities), key="ft_probs", what="prediction")
if st.session_state.get("ft_runs"):
    st.subheader("Runs in this session")
    export.table(pd.DataFrame(st.session_state["ft_runs"]), "ft_runs_table", what="runs", hide_index=True)
    export.records(st.session_state["ft_runs"], "ft_runs_export", "runs")
