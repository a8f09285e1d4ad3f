"""Fine-tuning: one pretrained backbone, many heads, trained live in a background thread of this session."""
import pandas as pd
import streamlit as st

from bert_playground import PlaygroundError, datasets, finetune
from bert_playground.core.device import describe
from bert_playground.core.jobs import Job
from bert_playground.finetune.sheet import Sheet
from playground_ui import export, hall, jobs, state, ui, widgets
from playground_ui.views import finetune as view
from playground_ui.views.finetune_changes import changes_ui
from playground_ui.views.finetune_results import results_ui
from bert_playground.figures import finetune as charts
from bert_playground.figures import heads as hcharts

TASKS = finetune.TASKS  # one description per task: sources, files, scores, result view
DEFAULTS = finetune.FinetuneConfig()  # every default setting
SECONDS = finetune.APP_LIMITS["max_seconds"]  # a run started here is bounded: the server is shared
LRS = [1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5]
BATCHES = (4, 8, 16, 32, 64, 128)

SPEC = state.spec("fine-tuning",
                  state.Param("task", "ft_task", "classify", choices=tuple(TASKS)),
                  state.Param("data", "ft_source", TASKS["classify"].sources[0], choices=TASKS["classify"].sources),
                  state.Param("mode", "ft_mode", finetune.MODES[0], choices=tuple(finetune.MODES)),
                  *[state.Param(f"layers_{m}", f"ft_layers_{m}", None, int, 1, 48) for m in finetune.MODES],
                  *[state.Param(f"lr_{m}", f"ft_lr_{m}", None, float, choices=tuple(LRS)) for m in finetune.MODES],
                  state.Param("epochs", "ft_epochs", DEFAULTS.epochs, int, *finetune.LIMITS["epochs"]),
                  state.Param("batch", "ft_batch", DEFAULTS.batch_size, int, choices=BATCHES),
                  state.Param("seconds", "ft_max_seconds", int(finetune.APP_MAX_SECONDS), int, *map(int, SECONDS)),
                  state.Param("early", "ft_early", False, bool),
                  state.Param("hub", "ft_hub_name", "glue", max_len=200, in_link=False),  # a link never makes the server download
                  state.Param("hub_config", "ft_hub_config", "sst2", max_len=200, in_link=False),
                  state.Param("try", "ft_try_a", "I think I left my card in the taxi."))


@st.cache_data(max_entries=4, show_spinner=False)
def shipped(task: str):
    return TASKS[task].shipped()


@st.cache_data(max_entries=8, show_spinner="Reading the file…")
def read_upload(raw: bytes, name: str, task: str = "classify", labels: tuple | None = None):
    return TASKS[task].read(raw, name, labels)


@st.cache_data(max_entries=4, show_spinner="Loading from the Hugging Face Hub…")
def read_hub(name: str, config: str, split: str):
    return datasets.load_hub(name, config or None, split)


def intro_ui():
    st.title("Fine-tuning")
    st.markdown(
        "BERT's second half: one pretrained encoder, a small new **head** per task, trained on labelled examples. "
        "A **sequence head** reads one vector for the whole text (sentiment, intents, entailment of a sentence pair "
        "`[CLS] A [SEP] B [SEP]`); a **token head** tags every word (named entities); a **span head** scores every "
        "passage token as the start and the end of an answer (extractive QA). **Full fine-tuning** updates every "
        "weight; a **frozen encoder** trains only the head; **random initialisation** trains the same architecture "
        "from fresh weights (what pre-training buys); the **bag-of-words baseline** uses no BERT at all. Keeping "
        "only the first few layers makes a *tiny* BERT that trains in seconds on a CPU. Training runs in the "
        "background; your runs are visible to you only.")


def task_ui() -> str:
    intro_ui()
    return st.radio("Task", list(TASKS), format_func=lambda t: TASKS[t].label, key="ft_task", horizontal=True)


# ---- data ----------------------------------------------------------------------------------------

def pick_columns(table, eval_table):
    text0, pair0, label0 = datasets.guess_columns(table)
    cols, k = list(table.columns), table.name
    c1, c2, c3 = st.columns(3)
    text = c1.selectbox("Text column", cols, index=cols.index(text0), key=f"ft_text_{k}")
    pair = c2.selectbox("Second-sentence column (pairs)", ["(none)"] + cols,
                        index=cols.index(pair0) + 1 if pair0 else 0, key=f"ft_pair_{k}")
    label = c3.selectbox("Label column", cols, index=cols.index(label0), key=f"ft_label_{k}")
    return datasets.train_and_holdout(table, text, label, None if pair == "(none)" else pair, eval_table)


def uploads(task) -> tuple:
    """The training and optional held-out file uploaders of a task."""
    suffix = "" if task.kind == "table" else f"_{task.name}"
    c1, c2 = st.columns(2)
    up = c1.file_uploader(f"Training file ({task.upload_hint}, at most {datasets.MAX_MB} MB)", type=list(task.upload_types),
                          key=hall.fresh_key(f"ft_upload{suffix}"))
    up_eval = c2.file_uploader(f"Held-out file (optional; otherwise {task.held_out_note})",
                               type=list(task.upload_types), key=hall.fresh_key(f"ft_upload_eval{suffix}"))
    widgets.upload_status((up, up_eval), datasets.MAX_MB)
    return up, up_eval


UPLOAD_INFO = {"table": "Upload a labelled file: one column of text (two for sentence pairs) and one label column.",
               "conll": "Upload a CoNLL file: one word and its BIO tag (O, B-type, I-type) per line.",
               "squad": "Upload a SQuAD-format JSON file: articles, paragraphs with a context, questions with answers."}


def upload_data(task):
    up, up_eval = uploads(task)
    if up is None:
        st.info(UPLOAD_INFO[task.kind])
        return None
    train = read_upload(up.getvalue(), up.name, task.name)
    if task.kind == "table":
        return pick_columns(train, read_upload(up_eval.getvalue(), up_eval.name) if up_eval else None)
    return task.with_held_out(train, (up_eval.getvalue(), up_eval.name) if up_eval else None)


def hub_data():
    if not datasets.hub_available():
        st.info(datasets.HUB_HINT)
        return None
    c1, c2, c3, c4 = st.columns(4)
    name = c1.text_input("Dataset id", key="ft_hub_name")
    config = c2.text_input("Configuration", key="ft_hub_config")
    split = c3.text_input("Training split", "train", key="ft_hub_train")
    eval_split = c4.text_input("Held-out split", "validation", key="ft_hub_eval")
    return pick_columns(read_hub(name, config, split), read_hub(name, config, eval_split))


def source_data(task, source: str):
    if source == task.shipped_source:
        if task.name == "pairs":
            st.caption("152 RTE-style pairs written for the playground (CC0; `assets/tasks/README.md`). Entailment "
                       "from a hundred examples is hard: a small model stays near chance (50%) here; RTE itself "
                       "(`../shared/data/rte/`, 2,490 pairs) is the real test.")
        return shipped(task.name)
    return upload_data(task) if source == task.sources[1] else hub_data()


def data_caption(task, train, test) -> None:
    if task.kind == "table":
        counts = ", ".join(f"{ui.md_escape(n)} ({c})" for n, c in train.counts().items())
        pairs_note = " (sentence pairs)" if train.text_pairs is not None else ""
        st.caption(f"{len(train):,} training and {len(test):,} held-out examples{pairs_note} · classes: {counts}")
    elif task.kind == "conll":
        counts = ", ".join(f"{ui.md_escape(n)} ({c})" for n, c in train.counts().items())
        st.caption(f"{len(train):,} training and {len(test):,} held-out sentences · entities: {counts}. "
                   "A word's tag sits on its **first WordPiece**; the loss ignores its other pieces (label -100), "
                   "as in the BERT paper.")
    else:
        st.caption(f"{len(train):,} training and {len(test):,} held-out questions · training articles: "
                   f"{ui.md_escape(', '.join(train.titles))} · held out: {ui.md_escape(', '.join(test.titles))} "
                   "(split by article: no passage is in both).")
    with st.expander("Preview the training data"):
        export.table(pd.DataFrame(train.preview(20)), key="ft_preview", what="training data preview", hide_index=True)


def data_ui(name: str):
    task = TASKS[name]
    key = "ft_source" if name == "classify" else f"ft_source_{name}"
    source = st.radio("Dataset", task.sources, key=key, horizontal=True)
    data = None
    with ui.user_errors():
        data = source_data(task, source)
        if data is not None and name == "pairs" and data[0].text_pairs is None:
            st.warning("Sentence pairs need a second-sentence column: pick one above.")
            return None
        if data is not None:
            data_caption(task, *data)
    return data


# ---- settings and run ----------------------------------------------------------------------------

def settings_ui(task: str, bundle, data):
    st.subheader("Settings")
    c = st.columns(5)
    modes = finetune.TASK_MODES[task]
    mode = c[0].selectbox("Mode", modes, format_func=view.MODE_LABELS.get,
                          key="ft_mode" if task == "classify" else f"ft_mode_{task}")
    n_layers = bundle.info.layers if bundle is not None else 1
    # No min/max on the number boxes: the value typed is the value checked (an out-of-range one disables Start with
    # the reason), never a silently kept earlier value.
    layers = c[1].number_input(f"Encoder layers kept (of {n_layers})", value=n_layers if mode == "frozen" else
                               min(2, n_layers), step=1, key=f"ft_layers_{mode}", disabled=mode == "baseline",
                               help="a 'tiny' BERT: only the first k layers are copied. Frozen mode needs the top "
                                    "layers: in low layers [CLS] has not yet gathered the sentence.")
    epochs = c[2].number_input("Epochs", value=DEFAULTS.epochs, step=1, key="ft_epochs",
                               help=f"{finetune.LIMITS['epochs'][0]}-{finetune.LIMITS['epochs'][1]}")
    batch = c[3].select_slider("Batch size", BATCHES, value=DEFAULTS.batch_size, key="ft_batch")
    lr = c[4].select_slider("Learning rate", LRS, value=finetune.DEFAULT_LR[mode], format_func="{:g}".format,
                            key=f"ft_lr_{mode}")
    c = st.columns([1, 1, 1, 2])
    max_seconds = c[0].number_input("Time limit (s)", value=int(finetune.APP_MAX_SECONDS), step=1, key="ft_max_seconds",
                                    help=f"bounds the whole run, the final evaluation included ({SECONDS[0]:g}-{SECONDS[1]:g} s)")
    early = c[1].checkbox("Early stopping", key="ft_early", help="stop after 3 evaluations without a better score")
    snaps = c[2].checkbox("Keep a snapshot after each epoch", True, key="ft_snapshots", disabled=mode == "baseline",
                          help="at most 4, in memory: the 'what fine-tuning changed' views compare them")
    pooling = "cls"
    if TASKS[task].kind == "table" and mode != "baseline":
        pooling = c[3].radio("Sequence vector", finetune.POOLINGS, format_func=view.POOLING_LABELS.get, key="ft_pooling",
                             horizontal=True, help="BERT's recipe reads the [CLS] vector; the MiniLM encoder the "
                             "embedded checkpoint starts from was trained for mean pooling, so its [CLS] vector "
                             "alone says less about the sentence (frozen mode shows it most).")
    device = bundle.device if bundle is not None else ui.device_name()
    st.caption(f"Training device: **{describe(device)}**. Defaults (full: 2 layers, 3 epochs; frozen: all "
               "layers, [CLS] features computed once) train the shipped data in well under a minute on a CPU.")
    try:  # the run starts from exactly the values shown: an invalid one disables Start and says why
        cfg = finetune.FinetuneConfig(
            mode=mode, task=task, pooling=pooling, layers=None if mode == "baseline" else layers, epochs=epochs,
            batch_size=batch, lr=lr, max_seconds=float(max_seconds), patience=3 if early else None,
            snapshots=4 if snaps and mode != "baseline" else 0, **TASKS[task].page_settings)
        train, test = data if data is not None else (None, None)
        return finetune.validate(cfg, bundle if mode != "baseline" else None, train, test, finetune.APP_LIMITS), None
    except PlaygroundError as exc:
        st.warning(f"Start is disabled: {ui.md_escape(exc)}")
        return None, str(exc)


def run_ui(bundle, data, settings) -> None:
    cfg, problem = settings
    job = st.session_state.get("ft_job")
    running = job is not None and not job.done
    no_model = bundle is None and (cfg is None or cfg.mode != "baseline")
    if no_model:
        st.info("BERT modes need a checkpoint that loads (pick one in the sidebar); the baseline works without one.")
    if st.button("Start training", type="primary", key="ft_start", disabled=running or data is None or no_model or problem is not None):
        with ui.user_errors():
            train, test = data  # checked with the settings above
            job = jobs.submit(Job(lambda stop, b=bundle, tr=train, te=test, cf=cfg: finetune.train(b, tr, te, cf, stop),
                                  "finetune"))
            st.session_state["ft_job"] = job
            st.session_state["ft_checkpoint"] = bundle.info.name if bundle is not None else ""
            st.rerun()  # redraw with the button disabled and the live view ticking


def sheet() -> Sheet:
    return st.session_state.setdefault("ft_sheet", Sheet())


def running() -> bool:
    job = st.session_state.get("ft_job")
    return job is not None and not job.done


@st.fragment(run_every=1.0 if running() else None)
def live_ui():
    job = st.session_state.get("ft_job")
    if job is None:
        st.info("Pick the task, data and settings, then press **Start training**.")
        return
    done = job.done  # read before the events: once done, the snapshot below is complete
    cur = view.curves(job.events())
    waiting = jobs.queue_note(job)
    if waiting:
        st.info(waiting)
    st.progress(cur.fraction, text="stopped" if done and job.stopped else "done" if done and not job.error
                else cur.status)
    if not done and st.button("Stop", key="ft_stop"):
        jobs.stop(job)
    if job.error:  # a stop the user asked for is said as a fact, a failure as an error
        (st.info if job.stopped else st.error)(ui.md_escape(job.error))
    total = cur.start.total_steps if cur.start else None
    task = cur.result.config.task if cur.result else st.session_state.get("ft_task", "classify")
    c1, c2 = st.columns(2)
    export.chart(charts.loss_curve(cur.steps, cur.losses, total), key="ft_loss", where=c1, what="fine-tuning loss")
    export.chart(charts.accuracy_curve(cur.eval_steps, cur.accuracies, cur.macro_f1s, total, TASKS[task].score_names),
                 key="ft_acc", where=c2, what="fine-tuning held-out metric")
    if done and st.session_state.get("ft_recorded") is not job:  # once per run: the sheet records it, then a rerun
        st.session_state["ft_recorded"] = job
        if sheet().record(job, cur.result, st.session_state.get("ft_checkpoint", "")):
            st.session_state["ft_result"] = cur.result
        st.rerun()


def sheet_ui() -> None:
    records = sheet().records
    if not records:
        return
    st.subheader("Runs in this session")
    st.caption("The experiment sheet: pretrained vs random weights, frozen vs full, BERT vs bag of words: one click "
               "per run on the same data.")
    export.table(pd.DataFrame(view.sheet_rows(records)), "ft_runs_table", what="runs", hide_index=True)
    export.chart(hcharts.sheet_curves(records), key="ft_sheet_curves", what="runs")
    export.records(view.sheet_rows(records), "ft_runs_export", "runs")
    st.download_button("Download the sheet (CSV)", sheet().to_csv(), "finetune_runs.csv", "text/csv", key="ft_csv")


bundle = ui.setup(SPEC)
task = task_ui()
data = data_ui(task)
run_ui(bundle, data, settings_ui(task, bundle, data))
live_ui()
results_ui()
changes_ui(bundle, data)
sheet_ui()
