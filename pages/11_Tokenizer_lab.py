"""Tokenizer lab: how WordPiece splits a text step by step, vocabularies trained live and what they cost, the loaded
vocabulary explored, and other languages and scripts."""
import pandas as pd
import streamlit as st

from bert_playground.checkpoints.families import tokenizer_kind
from bert_playground.classroom import lessons
from bert_playground.core.jobs import Job
from bert_playground.figures import tokenizer as charts
from bert_playground.inputs import explorer, subwords, vocab, wordpiece
from playground_ui import export, jobs, lesson, state, ui, widgets

TABS = ("Step by step", "Train a vocabulary", "Vocabulary explorer", "Other languages")
CURVE_SIZES = (2_000, 4_000, 8_000, 16_000, 30_000)
SPEC = state.spec("tokenizer-lab",
                  state.Param("tab", "tk_tab", TABS[0], choices=TABS),
                  state.Param("text", "tk_text", "The unaffable Donaudampfschifffahrt sailed past Zürich."),
                  state.Param("algorithm", "tk_algorithm", vocab.ALGORITHMS[0], choices=vocab.ALGORITHMS),
                  state.Param("size", "tk_size", 8_000, int, *vocab.SIZES),
                  state.Param("lowercase", "tk_lowercase", True, bool),
                  state.Param("query", "tk_query", "bank", max_len=explorer.MAX_QUERY))
INTRO = (
    "BERT never reads words: it reads entries of a fixed **vocabulary** (30,522 for bert-base-uncased). A word the "
    "vocabulary lacks is split into pieces it has (`##` marks a piece that continues a word), and a word it cannot "
    "cover at all becomes `[UNK]`. A larger vocabulary keeps more words whole but costs an embedding vector per "
    "entry. Here you watch the split happen, train vocabularies of your own on Wikipedia text and compare their costs."
)


def intro_ui():
    st.title("Tokenizer lab")
    st.markdown(INTRO)


# ---- step by step -----------------------------------------------------------------------------------

def wordpiece_ui(bundle, text: str):
    res = wordpiece.steps(bundle.tokenizer, text)
    guess = lesson.guess_ui("tokenizer-lab", "How many pieces will this text become?", (bundle.info.name, text))
    if guess.hidden:
        return
    lesson.reveal_ui(guess, lessons.tokenizer_answer(res))
    for name, value in res.stages:
        st.caption(f"**{ui.md_escape(name)}**")
        st.code(value if isinstance(value, str) else " | ".join(value), language=None, wrap_lines=True)
    rows = [{"Word": w.word, "Pieces": " ".join(w.pieces), "Lookups": len(w.tried),
             "Tried (✓ in the vocabulary)": "  ".join(("✓ " if hit else "· ") + c for c, hit in w.tried[:12])
             + (" …" if len(w.tried) > 12 else "")} for w in res.words]
    export.table(pd.DataFrame(rows), "tk_words", what="wordpiece-steps", hide_index=True)
    st.caption(f"{len(res.tokens)} tokens (before [CLS] and [SEP] are added). Greedy longest match first: the "
               "longest prefix in the vocabulary, then the longest `##` continuation, and so on; a word that cannot "
               "be covered becomes [UNK] whole. Identical to the checkpoint's own tokenizer (tests/test_tokenizer_lab.py).")


def bpe_ui(bundle, text: str):
    rows = [{"Word": w.word, "Merges in rank order": "  ".join(f"{a}+{b}" for a, b, _ in w.merges[:15])
             + (" …" if len(w.merges) > 15 else ""), "Pieces": " ".join(w.pieces)} for w in subwords.bpe_steps(bundle.tokenizer, text)]
    export.table(pd.DataFrame(rows), "tk_bpe", what="bpe-steps", hide_index=True)
    st.caption("Byte-level BPE: each word starts as its bytes (Ġ = a leading space); the learned merge of lowest rank "
               "among adjacent pairs is applied, again and again, until none is left.")


def unigram_ui(bundle, text: str):
    rows = [{"Word": w.word, "Pieces": " ".join(w.pieces), "Log-probability": round(w.score, 3)}
            for w in subwords.unigram_steps(bundle.tokenizer, text)]
    export.table(pd.DataFrame(rows), "tk_unigram", what="unigram-steps", hide_index=True)
    st.caption("Unigram (SentencePiece): the split of each word (▁ = a word start) whose pieces have the highest "
               "total log-probability.")


def steps_ui(bundle):
    text = st.text_area("Text", key="tk_text", height=80)
    kind = tokenizer_kind(bundle.tokenizer)
    st.caption(f"This checkpoint's tokenizer: **{kind}**, {len(bundle.tokenizer):,} entries.")
    with ui.user_errors():
        {"WordPiece": wordpiece_ui, "byte-level BPE": bpe_ui, "BPE": bpe_ui}.get(kind, unigram_ui)(bundle, text)


# ---- training vocabularies ------------------------------------------------------------------------

@st.cache_resource(max_entries=1, show_spinner="Reading the shipped corpus…")
def lab_text():
    return vocab.lab_text()


def train_job(algorithm: str, sizes: tuple[int, ...], lowercase: bool):
    def run(stop):
        train, held = lab_text()
        for size in sizes:
            if stop.is_set():
                return
            trained = vocab.train(train, algorithm, size, lowercase)
            yield trained, vocab.trained_stats(trained, held)
    return Job(run, "vocab")


def train_ui(bundle):
    c = st.columns([1.2, 2, 1])
    algorithm = c[0].selectbox("Algorithm", vocab.ALGORITHMS, key="tk_algorithm",
                               format_func={"wordpiece": "WordPiece", "bpe": "BPE", "unigram": "Unigram"}.get)
    size = c[1].select_slider("Vocabulary size", [1_000, 2_000, 4_000, 8_000, 16_000, 30_000], key="tk_size")
    lowercase = c[2].toggle("Lower-case", key="tk_lowercase")
    st.caption("Trained with the Hugging Face `tokenizers` library on the labs' Wikipedia corpus (about 800,000 words, "
               "`assets/lab/`); measured on its last 30 articles, never trained on.")
    job = st.session_state.get("tk_job")
    busy = job is not None and not job.done
    b1, b2 = st.columns(2)
    for where, label, sizes in ((b1, "Train this vocabulary", (size,)), (b2, "Trade-off curve (5 sizes)", CURVE_SIZES)):
        if where.button(label, key=f"tk_run_{len(sizes)}", disabled=busy):
            st.session_state["tk_job"] = jobs.submit(train_job(algorithm, sizes, lowercase))
            st.session_state["tk_job_what"] = (algorithm, sizes)
            st.rerun()
    if job is not None:
        train_progress_ui() if not job.done else trained_ui(bundle, job)


@st.fragment(run_every=1.0)
def train_progress_ui():
    job = jobs.live("tk_job", "tk_stop")
    if job is not None:
        algorithm, sizes = st.session_state["tk_job_what"]
        st.progress(len(job.events()) / len(sizes), text=f"Training {algorithm}: {len(job.events())} of {len(sizes)}")


def trained_ui(bundle, job):
    if job.error:
        (st.info if job.stopped else st.error)(ui.md_escape(job.error))
        return
    algorithm, sizes = st.session_state["tk_job_what"]
    mine = vocab.checkpoint_stats(bundle, lab_text()[1])
    rows = [{"vocabulary": "this checkpoint's", **mine.to_dict(), "seconds": None}]
    rows += [{"vocabulary": f"{algorithm} {s.size:,}", **vocab.trained_stats(t, lab_text()[1], bundle.info.hidden_size,
                                                                             bundle.info.parameters).to_dict(),
              "seconds": round(t.seconds, 2)} for t, s in job.events()]
    export.table(pd.DataFrame(rows), "tk_stats", what="vocabularies", hide_index=True)
    if len(sizes) > 1:
        export.chart(charts.tradeoff([{"algorithm": algorithm, **r} for r in rows[1:]]), key="tk_curve", what="tradeoff")
    trained = job.events()[-1][0]
    text = st.session_state.get("tk_text", "")
    if text.strip():
        st.caption("Your sentence (Step by step tab), split by the last vocabulary trained:")
        st.code(" ".join(trained.tokenize([text])[0]), language=None, wrap_lines=True)
    st.download_button("Download the vocabulary (tokenizer.json)", trained.tokenizer.to_str(), "tokenizer.json",
                       "application/json", key="tk_download")


# ---- the loaded vocabulary and other languages -----------------------------------------------------

def explorer_ui(bundle):
    export.chart(charts.composition(explorer.composition(bundle)), key="tk_composition", what="vocabulary")
    query = st.text_input("Find entries containing", key="tk_query")
    with ui.user_errors():
        found = explorer.search(bundle, query)
        if not found:
            st.info("No entry contains that.")
            return
        export.table(pd.DataFrame([e.to_dict() for e in found]), "tk_entries", what="entries", hide_index=True)
        pick = st.selectbox("Nearest entries to", [e.token for e in found], key="tk_pick")
        export.table(pd.DataFrame(explorer.nearest(bundle, pick), columns=["entry", "cosine similarity"]),
                     "tk_nearest", what="nearest", hide_index=True)
        st.caption("Frequency: occurrences in the labs' shipped corpus. Norm and nearest: the input embedding "
                   "matrix, the first thing the model reads.")


def languages_ui(bundle):
    rows = explorer.languages(bundle)
    export.table(pd.DataFrame([{"Language / script": r["language"], "Text": r["text"], "Pieces": " ".join(r["pieces"]),
                                "Tokens per word": round(r["fertility"], 2), "[UNK] rate": round(r["unk_rate"], 3)}
                               for r in rows]), "tk_languages", what="languages", hide_index=True)
    st.caption("A vocabulary learned from English text splits other languages into many pieces or [UNK]: "
               "bert-base-multilingual-cased, loaded in the sidebar, has a vocabulary for 104 languages. (Chinese "
               "has no spaces: its 'words' per space are whole sentences.)")


def tabs_ui(bundle):
    widgets.views_ui("Part", dict(zip(TABS, (steps_ui, train_ui, explorer_ui, languages_ui))), "tk_tab", bundle)


bundle = ui.setup(SPEC)
intro_ui()
tabs_ui(ui.need_model(bundle))
