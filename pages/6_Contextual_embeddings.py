"""Contextual embeddings: one word in several contexts, layer by layer; its nearest uses in a corpus; which
layer's features a linear classifier reads best."""
import pandas as pd
import streamlit as st

from bert_playground import datasets
from bert_playground.core.jobs import Job
from bert_playground.core.notices import Notice
from bert_playground.interpret import contextual
from bert_playground.interpret import neighbours
from bert_playground.interpret import probe
from playground_ui import export, jobs, state, ui, widgets
from bert_playground.figures import contextual as charts
from playground_ui.hall import fresh_key
from playground_ui.index_store import shared_indexes

OWN = "(your own word and sentences)"
CORPORA = ["Shipped corpus", "Paste a corpus"]
PROBE_DATA = ["Shipped: customer-support intents", "Upload CSV/TSV"]
INDEX_TIME = ("The shipped corpus (3,264 sentences, 87k word rows, 64 MB in float16 for the embedded checkpoint) takes "
              "1.5 to 3 minutes per layer to index on a busy 2-core CPU (bench/bench_contextual.py), once per "
              "checkpoint and layer for the whole server; a search then takes well under a second.")
EXAMPLE = "bank"  # the example a fresh page opens with
LAYER_HELP = "0 = the embedding output; l = the output of encoder layer l"


@st.cache_data(max_entries=1, show_spinner=False)
def examples() -> dict:
    return contextual.examples()


@st.cache_data(max_entries=16, show_spinner="Running the model on the sentences…")
def analysed(checkpoint: str, device: str, word: str, sentences: tuple, senses: tuple | None,
             pooling: str) -> contextual.ContextResult:
    return contextual.analyse(ui.cached_bundle(checkpoint, device), word, list(sentences), list(senses) if senses else None,
                     pooling)


@st.cache_data(max_entries=1, show_spinner=False)
def shipped_corpus() -> neighbours.Corpus:
    return neighbours.shipped_corpus()


@st.cache_data(max_entries=4, show_spinner=False)
def pasted_corpus(text: str) -> neighbours.Corpus:
    return neighbours.parse_corpus(text, "The pasted corpus")


def example_lines(word: str) -> str:
    return "\n".join(f"{sense}{contextual.SENSE_SEPARATOR}{s}" for sense, s in examples()[word])


def _layer(name: str, key: str) -> state.Param:
    """A layer slider's value (default: the page sets the model's last layer)."""
    return state.Param(name, key, None, int, 0, 128)


SPEC = state.spec("contextual-embeddings",
                  state.Param("example", "ctx_example", EXAMPLE, choices=tuple(examples()) + (OWN,)),
                  state.Param("word", "ctx_word", EXAMPLE, max_len=contextual.MAX_WORD_CHARS),
                  state.Param("sentences", "ctx_sentences", example_lines(EXAMPLE), max_len=state.MAX_LONG_TEXT),
                  state.Param("pooling", "ctx_pooling", contextual.POOLINGS[0], choices=contextual.POOLINGS),
                  _layer("sim_layer", "ctx_sim_layer"),
                  _layer("proj_layer", "ctx_proj_layer"),
                  state.Param("proj", "ctx_proj_fit", contextual.PROJECTIONS[0], choices=contextual.PROJECTIONS),
                  state.Param("colour", "ctx_proj_colour", "sense", choices=("sense", "sentence")),
                  state.Param("corpus", "ctx_corpus_src", CORPORA[0], choices=tuple(CORPORA)),
                  state.Param("corpus_text", "ctx_corpus_text", "", max_len=state.MAX_LONG_TEXT),
                  state.Param("occ", "ctx_nn_occ", 0, int, 0, contextual.MAX_SENTENCES * 50),
                  _layer("nn_layer", "ctx_nn_layer"),
                  state.Param("k", "ctx_nn_k", 10, int, 1, neighbours.MAX_K),
                  state.Param("no_stop", "ctx_nn_stop", True, bool),
                  state.Param("no_special", "ctx_nn_special", True, bool),
                  state.Param("probe_data", "ctx_probe_src", PROBE_DATA[0], choices=tuple(PROBE_DATA)))


def load_example():
    ex = st.session_state["ctx_example"]
    if ex != OWN:
        st.session_state["ctx_word"] = ex
        st.session_state["ctx_sentences"] = example_lines(ex)


def intro_ui():
    st.title("Contextual embeddings")
    st.markdown(
        "A static embedding (word2vec, GloVe) gives **bank** one vector, whatever it means. BERT gives every *use* "
        "of a word its own vector, computed from the whole sentence: that is what made it (and ELMo) better. "
        "Below, the word's vector is read from the model's hidden states in every sentence, at every layer: "
        "**layer 0** is the embedding output (the same token vector for every use, plus position and segment), "
        "each layer above mixes in more context."
    )


def input_ui() -> tuple[str, list[str], list[str] | None, str]:
    ex = st.session_state.get("ctx_example", OWN)
    given = (st.session_state.get("ctx_word"), st.session_state.get("ctx_sentences"))
    if ex != OWN and given != (ex, example_lines(ex)):
        if given[1] == example_lines(EXAMPLE) and given[0] in (EXAMPLE, ex):  # a link naming only an example
            load_example()
        else:  # a link (or an edit kept from another visit) with its own sentences
            st.session_state["ctx_example"] = OWN
    st.selectbox("Example", list(examples()) + [OWN], key="ctx_example", on_change=load_example)
    c1, c2 = st.columns([1, 3])
    word = c1.text_input("Word", key="ctx_word")
    pooling = c1.radio("A word split into WordPiece pieces is", contextual.POOLINGS, format_func=contextual.POOLING_LABELS.get,
                       key="ctx_pooling")
    text = c2.text_area(f"Sentences that use the word, one per line, {contextual.MIN_SENTENCES} to {contextual.MAX_SENTENCES} "
                        "(group them by sense with a label first: `river | I sat on the bank.`)",
                        key="ctx_sentences", height=250)
    sentences, senses = contextual.parse_lines(text)
    return word, sentences, senses, pooling


def layer_slider(label: str, result: contextual.ContextResult, key: str) -> int:
    top = result.layers - 1
    if st.session_state.get(key, top + 1) > top:  # first time, or another checkpoint with fewer layers: the last
        st.session_state[key] = top
    return st.slider(label, 0, top, key=key, help=LAYER_HELP)


def occurrences_ui(result: contextual.ContextResult):
    widgets.notices(Notice(ui.md_escape(n), n.level) for n in result.notices)  # they quote the word
    rows = [{"Occurrence": lab, "Sentence": result.sentences[o.sentence], "Pieces": " ".join(o.pieces),
             "Positions": ", ".join(map(str, o.positions))} for lab, o in zip(result.labels(), result.occurrences)]
    st.caption(f"{len(rows)} occurrences of '{ui.md_escape(result.word)}'; each is {contextual.POOLING_LABELS[result.pooling]}.")
    with st.expander("The occurrences found"):
        export.table(pd.DataFrame(rows), "ctx_occurrences", what="occurrences", hide_index=True)


@st.fragment
def similarity_ui(result: contextual.ContextResult):
    st.subheader("How alike are the uses, layer by layer?")
    layer = layer_slider("Layer", result, "ctx_sim_layer")
    zmin = min(0.0, float(result.similarity.min()))
    export.chart(charts.similarity_heatmap(result.similarity[layer], result.labels(), layer, zmin),
                 key="ctx_heatmap", what=f"similarity-layer-{layer}")
    state.save(SPEC)  # a rerun of this fragment alone: keep the link up to date


def senses_ui(result: contextual.ContextResult):
    curves = result.sense_curves()
    if curves is None:
        st.info("Label the sentences with their sense (`river | …`, `money | …`) to compare same-sense and "
                "different-sense pairs layer by layer.")
        return
    export.chart(charts.sense_curves(*curves), key="ctx_senses", what="senses")
    st.markdown(ui.md_escape(contextual.separation_summary(result)))


@st.fragment
def projection_ui(result: contextual.ContextResult):
    st.subheader("The uses in two dimensions")
    c1, c2, c3 = st.columns([3, 2, 1])
    with c1:
        layer = layer_slider("Layer", result, "ctx_proj_layer")
    fit = c2.radio("Projection", contextual.PROJECTIONS, format_func=contextual.PROJECTION_LABELS.get, key="ctx_proj_fit")
    colour = c3.radio("Colour by", ["sense", "sentence"], key="ctx_proj_colour", disabled=result.senses is None)
    points, ratios = result.projection(fit)
    labels = result.labels()
    by_sentence = [lab.split(" ")[0].split("#")[0] for lab in labels]
    groups = result.occurrence_senses() if colour == "sense" and result.senses else by_sentence
    export.chart(charts.projection(points[layer], labels, groups, layer, ratios[layer], contextual.PROJECTION_LABELS[fit]),
                 key="ctx_projection", what=f"projection-layer-{layer}")
    st.caption("PCA keeps the two directions along which the occurrences' vectors vary most; distances in 2-D are "
               "only a shadow of the cosine similarities above.")
    state.save(SPEC)


def corpus_ui() -> neighbours.Corpus:
    src = st.radio("Corpus", CORPORA, key="ctx_corpus_src", horizontal=True)
    if src == CORPORA[0]:
        corpus = shipped_corpus()
        st.caption(f"{len(corpus):,} sentences: the NSP page's demo corpus and a sample of English Wikipedia "
                   "(CC BY-SA 3.0, see assets/contextual/ATTRIBUTION.md).")
        return corpus
    text = st.text_area("Your corpus: one or more sentences per line", key="ctx_corpus_text", height=150,
                        placeholder="The bank approved the loan.\nWe walked along the bank of the river.")
    return pasted_corpus(text)


EMBEDDED_NOTE = (
    "Measured on the embedded checkpoint (bench/bench_contextual.py, last layer, read by hand): of the 20 nearest "
    "uses of *bank* in “I had been to the bank to withdraw some money.”, 19 are financial (the other is Paris's "
    "*Right Bank*); of those of “I went to the river bank.”, only 2 are river banks (2 more are sea-floor banks, 1 "
    "the West Bank, 1 a 'memory bank') and 14 are financial. Most *bank*s in this corpus are financial (about 78%), "
    "and this small model separates the senses only partly: its neighbours follow the money sense readily, the "
    "river sense hardly.")


def index_ui(bundle, key: tuple, corpus: neighbours.Corpus, layer: int, pooling: str):
    """No index yet for this corpus and layer: offer to build it, or show the build in progress."""
    store = shared_indexes()
    job = store.job(key)
    if job is None or (job.done and job.error):
        if job is not None:
            st.error(ui.md_escape(job.error))
        st.caption(INDEX_TIME if corpus.name == neighbours.SHIPPED_NAME else
                   f"{len(corpus):,} sentences to run through the model once for this layer.")
        if st.button("Index the corpus", key="ctx_index", type="primary"):
            store.start(key, bundle, corpus, layer, pooling)
            st.rerun()
        return

    @st.fragment(run_every=1.0)
    def progress():
        events = job.events()
        last = events[-1] if events else neighbours.Progress(0, len(corpus))
        if job.done:
            st.rerun()  # the index is in the store now (or the error is shown on the next run)
        st.progress(last.done / max(last.total, 1), text=f"Indexing the corpus: {last.done:,} of {last.total:,} "
                                                         "sentences through the model…")

    progress()


def neighbours_ui(bundle, result: contextual.ContextResult, checkpoint: str, device: str):
    st.subheader("Nearest uses in a corpus")
    st.markdown("Pick one occurrence and a layer: the corpus's word occurrences whose vectors at that layer are most "
                "similar (cosine) to it. Each corpus is indexed once (one layer, float16) and searched by one "
                "matrix product.")
    with ui.user_errors():
        corpus = corpus_ui()
        labels = result.labels()
        c = st.columns([2, 2, 1, 2])
        widgets.fit("ctx_nn_occ", len(labels) - 1, 0)
        occ = c[0].selectbox("Occurrence", range(len(labels)), format_func=labels.__getitem__, key="ctx_nn_occ")
        with c[1]:
            layer = layer_slider("Layer", result, "ctx_nn_layer")
        k = int(c[2].number_input("k", 1, neighbours.MAX_K, key="ctx_nn_k"))
        no_stop = c[3].checkbox("Leave out stop-words and punctuation", key="ctx_nn_stop")
        no_special = c[3].checkbox("Leave out [CLS] and [SEP]", key="ctx_nn_special")
        key = (checkpoint, device, corpus.digest, layer, result.pooling)
        index = shared_indexes().get(key)
        if index is None:
            index_ui(bundle, key, corpus, layer, result.pooling)
            return
        found = neighbours.search(index, result.vectors[layer, occ], k, no_stop, no_special)
        if bundle.info.source == "embedded" and corpus.name == neighbours.SHIPPED_NAME and result.word.lower() == "bank":
            st.info(EMBEDDED_NOTE)
        st.caption(f"Query: {ui.md_escape(labels[occ])}, “{ui.md_escape(result.sentences[result.occurrences[occ].sentence])}” "
                   f"· index: {len(index):,} rows, {index.nbytes / 2**20:.0f} MB, built in {index.seconds:.0f} s")
        st.markdown("\n".join(
            f"{i + 1}. `{n.similarity:.3f}` {ui.md_escape(n.before)}**{ui.md_escape(n.match)}**{ui.md_escape(n.after)}"
            + ("" if n.match else f" (token: **{ui.md_escape(n.token)}**)") for i, n in enumerate(found))
            or "No rows left: include stop-words or special tokens.")


def probe_data_ui():
    src = st.radio("Labelled data", PROBE_DATA, key="ctx_probe_src", horizontal=True)
    if src == PROBE_DATA[0]:
        return datasets.shipped()
    up = st.file_uploader(f"CSV or TSV with a header row (at most {datasets.MAX_MB} MB; 20% is held out)",
                          type=["csv", "tsv", "txt"], key=fresh_key("ctx_probe_upload"))
    if up is None:
        st.info("Upload a labelled file: a text column and a label column.")
        return None
    table = datasets.read_table(up.getvalue(), up.name)
    text0, _, label0 = datasets.guess_columns(table)
    cols = list(table.columns)
    c1, c2 = st.columns(2)
    text = c1.selectbox("Text column", cols, index=cols.index(text0), key=f"ctx_probe_text_{up.name}")
    label = c2.selectbox("Label column", cols, index=cols.index(label0), key=f"ctx_probe_label_{up.name}")
    return datasets.train_and_holdout(table, text, label)


def probe_ui(bundle, checkpoint: str, device: str):
    st.subheader("Which layer knows what? (feature-based BERT)")
    st.markdown("BERT can also be used without fine-tuning: freeze it, read a layer's vectors, and fit a small "
                "classifier on them. Here a **linear probe** (logistic regression) is fitted on every layer's "
                "`[CLS]` vector and on the mean of the text's pieces, and scored on held-out examples. One forward "
                "pass per example gives every layer. The dashed line is the same probe on bag-of-words features.")
    data = None
    with ui.user_errors():
        data = probe_data_ui()
    if data is None:
        return
    train, test = data
    key = (checkpoint, device, train.name, len(train), hash((train.texts, train.labels, test.texts, test.labels)))
    job = st.session_state.get("ctx_probe_job")
    running = job is not None and not job.done
    if st.button("Run the probe", key="ctx_probe_run", disabled=running):
        job = jobs.submit(Job(lambda stop, b=bundle, tr=train, te=test: probe.steps(b, tr, te, stop=stop), "probe"))
        st.session_state["ctx_probe_job"] = job
        st.session_state["ctx_probe_key"] = key
        st.rerun()
    st.caption(f"{len(train):,} training and {len(test):,} held-out examples; the shipped intents take well under a "
               "minute on a CPU.")
    if running:
        probe_progress_ui()
        return
    if job is None or st.session_state.get("ctx_probe_key") != key:
        return
    if job.error:
        (st.info if job.stopped else st.error)(ui.md_escape(job.error))
        return
    probe_result_ui(job.events()[-1])


@st.fragment(run_every=1.0)
def probe_progress_ui():
    job = jobs.live("ctx_probe_job", "ctx_probe_stop")  # under the server's cap, as fine-tuning: it may wait
    if job is not None:
        events = job.events()
        st.progress(events[-1].done / events[-1].total if events else 0.0,
                    text="Features from every layer, then one probe per layer and pooling…")


def probe_result_ui(res):
    widgets.notices(res.notices)
    layers = [s.layer for s in res.layers]
    export.chart(charts.probe_chart(layers, [s.cls for s in res.layers], [s.mean for s in res.layers],
                                    res.baseline, res.majority), key="ctx_probe_chart", what="probe")
    export.table(pd.DataFrame([{"Layer": s.layer, "[CLS] accuracy": s.cls, "Mean-pooling accuracy": s.mean}
                               for s in res.layers]), "ctx_probe_table", what="probe", hide_index=True)
    best = res.best_layer
    st.caption(f"Best: layer {best.layer} ({best.best:.1%}); bag-of-words {res.baseline:.1%}; "
               f"majority class {res.majority:.1%}. {res.n_train:,} training / {res.n_eval:,} held-out examples, "
               f"{res.n_classes} classes; L2 penalty {probe.L2:g}, features standardised.")


def analysis_ui(bundle) -> contextual.ContextResult | None:
    """The word and its sentences, run through the model once (cached); None when the input is unusable."""
    given = None
    with ui.user_errors():
        given = input_ui()
    bundle = ui.need_model(bundle)
    if given is None:
        return None
    word, sentences, senses, pooling = given
    with ui.user_errors():
        return analysed(ui.checkpoint_name(), ui.device_name(), word, tuple(sentences),
                        tuple(senses) if senses else None, pooling)
    return None


def views_ui(bundle, result: contextual.ContextResult | None):
    if result is None:
        return
    occurrences_ui(result)
    similarity_ui(result)
    senses_ui(result)
    projection_ui(result)
    neighbours_ui(bundle, result, ui.checkpoint_name(), ui.device_name())


bundle = ui.setup(SPEC)
intro_ui()
result = analysis_ui(bundle)
views_ui(bundle, result)
probe_ui(bundle, ui.checkpoint_name(), ui.device_name())
