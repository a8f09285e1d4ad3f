"""Lessons: walk through an exercise set one exercise at a time; each opens its page with its inputs (a link)."""
import streamlit as st

from playground_ui import lesson, state, ui
from bert_playground import lessons

PAGE_FILES = {"masked-lm": "pages/2_Masked_LM.py", "nsp": "pages/3_Next_sentence_prediction.py",
              "attention": "pages/4_Attention.py", "fine-tuning": "pages/5_Fine-tuning.py"}
SOURCES = ["Shipped set", "Your own file"]
SPEC = state.spec("lessons",
                  state.Param("set", "lesson_set_name", "masked-lm", choices=tuple(lessons.shipped())),
                  state.Param("ex", lesson.INDEX, 0, int, 0, 199),
                  state.Param("source", "lesson_source", SOURCES[0], choices=tuple(SOURCES)))


def intro_ui():
    st.title("Lessons: predict, then reveal")
    st.markdown(
        "Each exercise opens a page with its inputs and asks a question. **Commit a guess first**; then the model's "
        "answer appears with your guess marked, and your score grows. Teachers: write your own set (YAML or JSON, "
        "same format as the shipped ones below) and upload it, or share a link to a shipped set and exercise."
    )


def choose_set_ui() -> lessons.LessonSet | None:
    source = st.radio("Exercise set", SOURCES, key="lesson_source", horizontal=True)
    if source == SOURCES[0]:
        name = st.selectbox("Shipped set", list(lessons.shipped()), key="lesson_set_name")
        return lessons.load(name)
    up = st.file_uploader("Your exercise set (YAML or JSON)", type=["yaml", "yml", "json"], key="lesson_upload")
    if up is None:
        st.info("Upload a set; download a shipped one below as a template.")
        return None
    return lessons.parse(up.getvalue(), up.name)


def walk_ui(lset: lessons.LessonSet):
    n = len(lset.exercises)
    state_index = min(max(int(st.session_state.get(lesson.INDEX, 0)), 0), n - 1)
    st.session_state[lesson.INDEX] = state_index
    ex = lset.exercises[state_index]
    st.subheader(ui.md_escape(lset.title))
    if lset.description:
        st.caption(ui.md_escape(lset.description))
    st.progress((state_index + 1) / n, text=f"Exercise {state_index + 1} of {n} · page: {ex.page}")
    st.markdown("**" + ui.md_escape(ex.question) + "**")
    c = st.columns(3)
    c[0].button("⬅️ Previous", key="lesson_prev", disabled=state_index == 0, on_click=_step, args=(-1,))
    if c[1].button("Open this exercise ▶️", key="lesson_open", type="primary"):
        st.session_state[lesson.SET] = lset
        st.session_state[lesson.ON] = True
        st.switch_page(PAGE_FILES[ex.page], query_params={**ex.inputs, "lesson": "1"})
    c[2].button("Next ➡️", key="lesson_next", disabled=state_index == n - 1, on_click=_step, args=(1,))
    lesson.score_ui()


def _step(d: int):
    st.session_state[lesson.INDEX] = int(st.session_state.get(lesson.INDEX, 0)) + d


def template_ui():
    with st.expander("The file format (download a shipped set as a template)"):
        st.code(lessons.__doc__.split("A set is a YAML or JSON file:", 1)[-1].strip("\n"), language="yaml")
        for name, path in lessons.shipped().items():
            st.download_button(f"⬇️ {name}{path.suffix}", path.read_bytes(), file_name=path.name,
                               key=f"lesson_tpl_{name}", on_click="ignore", type="tertiary")


def lessons_ui():
    with ui.user_errors():
        chosen = choose_set_ui()
        if chosen is not None:
            walk_ui(chosen)


ui.setup("Lessons", "🎓", SPEC)
intro_ui()
lessons_ui()
template_ui()
