"""The fine-tuning page's result of the last run: each task's scores and chart, and a box to try the fine-tuned
model (a label, tagged entities, an answer span). Thin views over the run's `FinetuneResult`."""
from __future__ import annotations

import streamlit as st

from bert_playground.figures import finetune as charts
from bert_playground.figures import heads as hcharts
from bert_playground.finetune import TASKS
from playground_ui import export, lesson, ui, widgets
from playground_ui.views import finetune as view

def metrics_ui(*shown: tuple[str, str]) -> None:
    """The run's scores in a row of metric boxes: (label, value) each."""
    for col, (label, value) in zip(st.columns(len(shown)), shown):
        col.metric(label, value)


def classify_result_ui(result) -> None:
    m = result.metrics
    metrics_ui(("Accuracy", f"{m.accuracy:.1%}"), ("Macro-F1", f"{m.macro_f1:.3f}"),
               ("Time", f"{result.seconds:.1f} s"), ("Examples/s", f"{result.examples_per_s:,.0f}"))
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


def tag_result_ui(result) -> None:
    m = result.metrics
    metrics_ui(("Entity F1", f"{m.f1:.3f}"), ("Precision", f"{m.precision:.3f}"), ("Recall", f"{m.recall:.3f}"),
               ("Time", f"{result.seconds:.1f} s"))
    st.caption("Entity-level scores (seqeval/conlleval rules): an entity counts only when its type and both "
               "boundaries are right.")
    types = list(m.per_type)
    export.chart(hcharts.metric_bars(types, [m.per_type[t][2] for t in types], "Entity F1 per type"), key="ft_types")
    st.subheader("Try the tagger")
    text = st.text_input("Sentence", "Just watched Stranger Things with Millie Bobby Brown in Atlanta", key="ft_try_tag")
    with ui.user_errors():
        pred = result.classifier.predict(text)
        kinds = [n[2:] for n in pred.label_names if n.startswith("B-")]
        spans = [(e.start, e.end, e.label, e.probability) for e in pred.entities]
        st.markdown(view.highlight(text, spans, kinds))
        if not spans:
            st.caption("No entities found in this sentence.")
        export.chart(hcharts.tag_probabilities(list(pred.tokens), list(pred.label_names), pred.probabilities),
                        key="ft_tag_probs")


def qa_result_ui(result) -> None:
    m = result.metrics
    metrics_ui(("Exact match", f"{m.exact_match:.1%}"), ("F1 (SQuAD)", f"{m.f1:.1%}"), ("Time", f"{result.seconds:.1f} s"))
    st.caption("SQuAD's official scoring: answers lower-cased, punctuation and articles removed; the best of the "
               "reference answers counts.")
    st.subheader("Try the reader")
    question = st.text_input("Question", "Who led the Normans?", key="ft_try_q")
    passage = st.text_area("Passage", "The Normans were led by Rollo, a Viking who settled in northern France in the "
                           "10th century.", key="ft_try_ctx")
    with ui.user_errors():
        pred = result.classifier.predict(question, passage)
        s = pred.span
        st.markdown(view.highlight(passage, [(s.start, s.end, "answer", s.probability)] if s.text else [], ["answer"]))
        st.caption(f"Best valid span (end ≥ start, at most {result.classifier.max_answer} tokens) over "
                   f"{pred.n_windows} window(s) of {result.classifier.max_length} tokens; from window {s.window + 1}.")
        export.chart(hcharts.span_probabilities(list(pred.tokens), pred.start_probabilities, pred.end_probabilities,
                                                   s.tokens), key="ft_span_probs")


def results_ui() -> None:
    result = st.session_state.get("ft_result")
    if result is None:
        return
    st.subheader("Result of the last run")
    if result.stopped:
        st.caption(f"Ended early ({result.stopped}) after {result.epochs:.2f} epochs.")
    widgets.notices(result.notices)
    if result.metrics is None:  # stopped before its first evaluation: the notice above says so
        return
    VIEWS[TASKS[result.config.task].view](result)


VIEWS = {"classify": classify_result_ui, "tag": tag_result_ui, "qa": qa_result_ui}  # `Task.view` -> its result view
