"""Lesson mode (predict, then reveal): the student commits a guess, then the model's answer appears with the
guess marked; a per-session score. Exercises come from sets (bert_playground.classroom.lessons) walked on the Lessons page."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from bert_playground.classroom import lessons
from playground_ui.ui import md_escape

ON = "lesson_on"  # the toggle's key (a global link parameter: playground_ui.state.LESSON)
SET, INDEX = "lesson_set", "lesson_index"  # the set being walked (a LessonSet) and the exercise's index
SCORE = "lesson_score"  # {(page, signature): correct?}


@dataclass(frozen=True)
class Guess:
    on: bool  # lesson mode is on
    text: str | None  # the committed guess (None: not yet)
    exercise: lessons.Exercise | None  # the exercise this page shows, if one is open
    key: str  # identifies the question (page + inputs)

    @property
    def hidden(self) -> bool:
        """Keep the model's answer out of sight."""
        return self.on and self.text is None


def exercise(page: str) -> lessons.Exercise | None:
    """The walked set's current exercise when it belongs to this page."""
    s, i = st.session_state.get(SET), st.session_state.get(INDEX, 0)
    if s is None or not 0 <= i < len(s.exercises):
        return None
    ex = s.exercises[i]
    return ex if ex.page == page else None


def score_ui(update: bool = False):
    """The score in the sidebar; `update`: redraw it in this run's place after a reveal."""
    if not update or "_lesson_slot" not in st.session_state:
        st.session_state["_lesson_slot"] = st.sidebar.empty()
    marks = st.session_state.get(SCORE, {})
    st.session_state["_lesson_slot"].metric("Lesson score (this session)", f"{sum(marks.values())} / {len(marks)}")


def toggle_ui() -> bool:
    return st.toggle("Lesson mode: predict, then reveal", key=ON, help="Commit a guess first; then the model answers")


def guess_ui(page: str, question: str, signature, choices: list[str] | None = None, toggle: bool = True) -> Guess:
    """The lesson toggle (unless the page drew it); when on, the question and the guess form."""
    if not (toggle_ui() if toggle else st.session_state.get(ON)):
        return Guess(False, None, None, "")
    ex = exercise(page)
    key = f"{page}:{hash(str(signature))}"
    committed = st.session_state.setdefault("lesson_guesses", {})
    score_ui()
    with st.container(border=True):
        st.markdown("**" + md_escape(ex.question if ex else question) + "**")
        if key in committed:
            st.caption(f"Your guess: **{md_escape(committed[key])}**")
            if st.button("Guess again", key=f"lesson_again_{page}"):
                committed.pop(key)
                st.rerun()
            return Guess(True, committed[key], ex, key)
        with st.form(f"lesson_form_{page}", border=False):
            if choices:
                guess = st.radio("Your guess", choices, horizontal=True, key=f"lesson_choice_{page}")
            else:
                guess = st.text_input("Your guess", key=f"lesson_text_{page}", max_chars=100)
            if st.form_submit_button("Commit my guess", type="primary") and str(guess or "").strip():
                committed[key] = str(guess).strip()
                st.rerun()
        st.caption("The model's answer stays hidden until you commit a guess.")
    return Guess(True, None, ex, key)


def reveal_ui(g: Guess, model_answer: str, ranking: list[tuple[str, float]] | None = None):
    """The model's answer with the guess marked on it; the score counts each question once."""
    if not g.on or g.text is None:
        return
    ex = g.exercise
    right = ex.accepts(g.text) if ex else lessons.normalise(g.text) == lessons.normalise(model_answer)
    marks = st.session_state.setdefault(SCORE, {})
    if g.key not in marks:
        marks[g.key] = right
        score_ui(update=True)
    ok = "✓ right" if right else "✗ not this time"
    (st.success if right else st.error)(f"Your guess **{md_escape(g.text)}** · the model says **{md_escape(model_answer)}** · {ok}")
    if ranking:
        ranks = [lessons.normalise(t) for t, _ in ranking]
        if lessons.normalise(g.text) in ranks:
            r = ranks.index(lessons.normalise(g.text))
            st.caption(f"Your guess is number {r + 1} in the model's list (probability {ranking[r][1]:.3f}).")
        else:
            st.caption(f"Your guess is not among the model's top {len(ranking)}.")
    if ex:
        model_ok = ex.accepts(model_answer)
        st.caption("Accepted answers: " + ", ".join(md_escape(a) for a in ex.answers)
                   + ("" if model_ok else " — the model gets this one wrong" + (" (that is the point)." if ex.model_wrong else ".")))
        if ex.note:
            st.caption(md_escape(ex.note))
