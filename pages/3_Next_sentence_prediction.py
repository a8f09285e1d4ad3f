"""Next sentence prediction: build IsNext / NotNext pairs the BERT way and score them with the NSP head."""
import streamlit as st

from bert_playground.classroom import lessons
from bert_playground.inputs.corpus import parse_pasted
from bert_playground.objectives import nsp
from bert_playground.figures import describe
from playground_ui import export, lesson, state, ui
from bert_playground.figures import nsp as charts
from playground_ui.widgets import bump, notices

SOURCES = ["Demo corpus", "Your documents", "Type both sentences"]
EXAMPLE_DOCS = ("We planted beans along the fence in May. They climbed quickly in the warm weather. "
                "By July we were picking a basket every other day.\n\n"
                "The train was delayed by a signal failure. We waited on the platform for an hour. "
                "When it finally came, every seat was taken.")
SPEC = state.spec("nsp",
                  state.Param("source", "nsp_source", SOURCES[0], choices=tuple(SOURCES)),
                  state.Param("len", "nsp_len", 128, int, choices=(32, 64, 128, 256, 512)),
                  state.Param("docs", "nsp_corpus", EXAMPLE_DOCS, max_len=state.MAX_LONG_TEXT),
                  state.Param("is_next", "nsp_is_next", True, bool),
                  state.Param("seed", "nsp_seed", 0, int, 0, 2**31 - 1),
                  state.Param("a", "nsp_a", "I put the kettle on and took two cups from the shelf."),
                  state.Param("b", "nsp_b", "A few minutes later the tea was ready."))


@st.cache_data(max_entries=16, show_spinner=False)
def corpus(checkpoint: str, device: str, pasted: str | None) -> nsp.Corpus:
    """`pasted=None` means the shipped demo corpus."""
    docs = nsp.demo_documents() if pasted is None else parse_pasted(pasted)
    return nsp.read_corpus(ui.cached_bundle(checkpoint, device).tokenizer, docs)


@st.cache_data(max_entries=64, show_spinner=False)
def packed_and_score(checkpoint: str, device: str, pair=None, text_a="", text_b=""):
    """The pair packed once; its score when the checkpoint has an NSP head."""
    b = ui.cached_bundle(checkpoint, device)
    packed = nsp.pack_pair(b, pair) if pair is not None else nsp.encode_pair(b, text_a, text_b)
    return packed, (nsp.score_packed(b, packed) if b.info.has_pair else None)


@st.cache_data(max_entries=8, show_spinner="Scoring 100 pairs with the NSP head…")
def batch(checkpoint: str, device: str, pasted: str | None, seed: int, budget: int, order: bool = False):
    draw = nsp.draw_order_pairs if order else nsp.draw_pairs  # ALBERT: in order vs swapped
    return nsp.score_batch(ui.cached_bundle(checkpoint, device),
                           draw(corpus(checkpoint, device, pasted).token_docs, 100, seed, budget))


def intro_ui(bundle):
    st.title("Next sentence prediction")
    st.markdown(
        "BERT's second pre-training task. The input is a pair, `[CLS] A [SEP] B [SEP]`: half the time **B is the text "
        "that really follows A** in its document (*IsNext*), half the time B comes from a **different, randomly chosen "
        "document** (*NotNext*). A small head on the final `[CLS]` vector says which. Segment embeddings (A = 0, "
        "B = 1) tell the model where B starts."
    )
    bundle = ui.need_model(bundle)
    if bundle.info.has_sop:
        st.info(f"'{bundle.info.name}' is an ALBERT checkpoint: it was trained with **sentence-order prediction** "
                "instead of NSP. Both segments always come from the same document, consecutive; half the time they "
                "are swapped. The same pair builder makes the pairs (an IsNext pair, swapped or not) and the SOP head "
                "gives P(in order).")
    elif bundle.family.pair_task is None:
        st.info(nsp.no_pair_head_reason(bundle))
    elif not bundle.info.has_pair:
        st.warning(f"The checkpoint '{bundle.info.name}' has no {bundle.family.pair_task.upper()} head, so it cannot "
                   "score pairs. The pair builder below still works; pick a checkpoint with an NSP head (e.g. the "
                   "embedded one) to see the scores.")
    return bundle


def source_ui(bundle) -> tuple[str, int, str | None]:
    """(source, token budget of a drawn pair, pasted documents or None)."""
    source = st.radio("Pair source", SOURCES, key="nsp_source", horizontal=True)
    seq_len = st.select_slider("Length of drawn pairs (tokens, [CLS] and [SEP] included)", [32, 64, 128, 256, 512],
                               key="nsp_len")
    pasted = None
    if source == SOURCES[1]:
        pasted = st.text_area("Your documents: one per paragraph, separated by a blank line",
                              key="nsp_corpus", height=160)
    return source, nsp.pair_budget(bundle, seq_len), pasted


def typed_pair_ui() -> tuple[str, str]:
    c1, c2 = st.columns(2)
    text_a = c1.text_area("Sentence A", key="nsp_a")
    text_b = c2.text_area("Sentence B", key="nsp_b")
    st.caption("A typed pair has no true label: you decide whether B follows A, the model gives its view.")
    return text_a, text_b


def drawn_pair_ui(bundle, ckpt: str, dev: str, pasted: str | None, budget: int):
    """A pair from the package's pair builder, with where it comes from and its true label."""
    c = corpus(ckpt, dev, pasted)
    notices(c.notices)
    c1, c2 = st.columns([3, 1])
    sop = bundle.info.has_sop
    label, off = (("In order: A then B", "Off: swapped (B then A)") if sop
                  else ("IsNext: B follows A", "Off: NotNext, B comes from another document"))
    is_next = c1.toggle(label, True, key="nsp_is_next", help=off)  # short: a phone shows the whole label
    c2.button("Resample", key="nsp_resample", on_click=bump, args=("nsp_seed",))
    pair = nsp.sample_pair(c.token_docs, st.session_state.get("nsp_seed", 0), budget, is_next, order=sop)
    st.caption(nsp.pair_origin(c.documents, pair))
    st.text("A: " + nsp.pair_text(bundle.tokenizer, pair.a))
    st.text("B: " + nsp.pair_text(bundle.tokenizer, pair.b))
    names = nsp.labels(bundle)
    st.markdown(f"True label: **{names[0] if pair.is_next else names[1]}**")
    return pair


def score_ui(packed: nsp.Packed, score: nsp.NspScore | None):
    notices(packed.notices)
    if packed.truncated:
        st.warning(f"The pair had {packed.full_length} tokens; {len(packed)} fit the sequence length, so it was cut "
                   "(the longer side first: A loses its start, B its end). The model sees what is shown below.")
    if packed.identical:
        st.info("A and B are identical. The model scores the pair all the same, but no real document repeats a "
                "sentence, so this is outside what NSP was trained on.")
    st.subheader(f"Packed input: {len(packed)} tokens")
    export.chart(charts.packed_input(packed.tokens, packed.segments), key="nsp_packed", what="packed",
                 summary="The packed pair: " + describe.segments(packed.tokens, packed.segments))
    if len(packed) > 192:
        st.caption("The figure shows the first 192 tokens.")
    if score is not None:
        g1, g2 = st.columns([2, 1])
        export.chart(charts.probability_gauge(score.is_next_probability), key="nsp_gauge", where=g1, what="probability",
                     summary=describe.is_next(score.is_next_probability))
        g2.metric("Model says", score.prediction)
        first, second = nsp.SOP_LABELS if score.task == "sop" else nsp.LABELS
        g2.caption(f"P({first}) = {score.is_next_probability:.3f} ({first} above 0.5). {score.task.upper()} logits: "
                   f"{first} {score.head_output[0]:.2f}, {second} {score.head_output[1]:.2f}; softmax of the two gives P.")


def pair_ui(bundle, source: str, budget: int, pasted: str | None, shown: set):
    ckpt, dev = ui.checkpoint_name(), ui.device_name()
    with ui.user_errors(shown):
        pair, text_a, text_b = None, "", ""
        if source == SOURCES[2]:
            text_a, text_b = typed_pair_ui()
        else:
            pair = drawn_pair_ui(bundle, ckpt, dev, pasted, budget)
        packed, score = packed_and_score(ckpt, dev, pair, text_a, text_b)
        guess = lesson.guess_ui("nsp", "Does B follow A? What will the NSP head say?", (ckpt, packed.tokens),
                                ["IsNext", "NotNext"])
        if guess.hidden:
            return
        if score is not None:
            lesson.reveal_ui(guess, lessons.nsp_answer(score))
        score_ui(packed, score)


def batch_ui(bundle, budget: int, pasted: str | None, shown: set):
    st.subheader("Batch view: 100 pairs")
    st.caption("100 pairs drawn from the " + ("pasted documents" if pasted is not None else "demo corpus") +
               " with the same pair builder (labels 50/50), scored in a few forward passes. Pre-training pairs are "
               "about 128 tokens of Wikipedia; short everyday pairs are further from what a small model saw, so expect "
               "a lower accuracy here than on held-out Wikipedia (BERT mixed 10% shorter pairs into pre-training).")
    st.button("Draw 100 pairs and score them", key="nsp_batch_go",
              on_click=bump, args=("nsp_batch_seed", -1))
    if "nsp_batch_seed" not in st.session_state:
        return
    with ui.user_errors(shown):
        if not bundle.info.has_pair:
            st.info("The batch view needs an NSP head (or ALBERT's SOP head).")
            return
        res = batch(ui.checkpoint_name(), ui.device_name(), pasted, 1000 + st.session_state["nsp_batch_seed"], budget,
                    bundle.info.has_sop)
        if bundle.info.has_sop:
            st.caption("Sentence-order pairs: 'IsNext' below means in order, 'NotNext' swapped.")
        m1, m2, m3 = st.columns(3)
        m1.metric("Accuracy", f"{res.accuracy:.1%}")
        m2.metric("True IsNext pairs", sum(res.labels))
        m3.metric("True NotNext pairs", len(res) - sum(res.labels))
        h1, h2 = st.columns(2)
        export.chart(charts.confusion_heatmap(res.confusion), key="nsp_confusion", where=h1, what="batch-confusion")
        export.chart(charts.probability_histogram(res.probabilities, res.labels), key="nsp_hist", where=h2, what="batch-histogram")


def roberta_ui():
    st.subheader("Why RoBERTa dropped NSP")
    st.markdown(
        "Liu et al. (2019, *RoBERTa*) retrained BERT with and without this task. **Removing NSP matched or slightly "
        "improved** downstream results (SQuAD, MNLI, SST-2, RACE), provided each input was packed with **full "
        "sentences of contiguous text** up to 512 tokens instead of two short segments. Part of the reason: a NotNext "
        "B comes from another document, so it is often easy to spot by **topic alone** (cooking vs football) without "
        "learning anything about coherence; and short pairs gave the model less context to learn long-range "
        "dependencies. Later models replaced NSP with harder tasks (ALBERT's sentence-order prediction swaps two "
        "consecutive segments of the same document) or dropped the second task altogether."
    )


bundle = intro_ui(ui.setup(SPEC))
source, budget, pasted = source_ui(bundle)
errors = set()  # each problem is said once on the page
pair_ui(bundle, source, budget, pasted, errors)
batch_ui(bundle, budget, pasted, errors)
roberta_ui()
