"""Lessons: walk through an exercise set one exercise at a time; each opens its page with its inputs (a link)."""
import streamlit as st

from bert_playground import PlaygroundError
from bert_playground.classroom import lessons
from playground_ui import lesson, registry, state, ui

SOURCES = ["Shipped set", "Your own file", "A shared link"]
CODE, SEEN, STASH = "lesson_code", "_lesson_code_seen", "_lesson_code_stash"  # a set carried in the link


def link_set(code: str, allowed) -> tuple[str, str | None]:
    """A link's `lesson_set`: kept when it decodes to a valid set, else dropped with a note (never an error page)."""
    try:
        lessons.decode_link(code)
    except PlaygroundError as why:
        return "", f"The link's exercise set was not opened: {why}"
    return code, None


SPEC = state.spec("lessons",
                  state.Param("set", "lesson_set_name", "masked-lm", choices=tuple(lessons.shipped())),
                  state.Param("ex", lesson.INDEX, 0, int, 0, 199),
                  state.Param("source", "lesson_source", SOURCES[0], choices=tuple(SOURCES)),
                  state.Param("lesson_set", CODE, "", max_len=10 * lessons.MAX_LINK_CHARS, check=link_set))


def intro_ui():
    st.title("Lessons: predict, then reveal")
    st.markdown(
        "Each exercise opens a page with its inputs and asks a question. **Commit a guess first**; then the model's "
        "answer appears with your guess marked, and your score grows. Teachers: write your own set (YAML or JSON, "
        "same format as the shipped ones below) and upload it, or share a link to a shipped set and exercise."
    )


def _source_changed():
    """The set in the link belongs to 'A shared link' only: put it aside while another source is chosen."""
    if st.session_state["lesson_source"] == SOURCES[2]:
        st.session_state[CODE] = st.session_state.get(CODE) or st.session_state.pop(STASH, "")
    elif st.session_state.get(CODE):
        st.session_state[STASH], st.session_state[CODE] = st.session_state[CODE], ""


def _share(code: str):
    st.session_state[CODE] = st.session_state[SEEN] = code
    st.session_state["lesson_source"], st.session_state[lesson.INDEX] = SOURCES[2], 0


def choose_set_ui() -> lessons.LessonSet | None:
    code = st.session_state.get(CODE, "")
    if code and code != st.session_state.get(SEEN):  # a link that carries a set opens it
        st.session_state[SEEN], st.session_state["lesson_source"] = code, SOURCES[2]
    source = st.radio("Exercise set", SOURCES, key="lesson_source", horizontal=True, on_change=_source_changed)
    if source == SOURCES[0]:
        name = st.selectbox("Shipped set", list(lessons.shipped()), key="lesson_set_name")
        return lessons.load(name)
    if source == SOURCES[2]:
        if not code:
            st.info("Open the link a teacher shared with you, or upload a set under 'Your own file' and share it.")
            return None
        lset = lessons.decode_link(code)
        st.caption("This set came inside the link: nothing is stored on the server. The link below reopens it.")
        st.code(state.link(SPEC), language=None, wrap_lines=True)
        return lset
    up = st.file_uploader("Your exercise set (YAML or JSON)", type=["yaml", "yml", "json"], key="lesson_upload")
    if up is None:
        st.info("Upload a set; download a shipped one below as a template.")
        return None
    lset = lessons.parse(up.getvalue(), up.name)
    share_ui(lset)
    return lset


def share_ui(lset: lessons.LessonSet):
    """Share an uploaded set by a link that carries the set itself (works offline; no server storage)."""
    try:
        code = lessons.encode_link(lset)
    except PlaygroundError as why:
        st.info(ui.md_escape(why))
        return
    st.button("Share this set", key="lesson_share", on_click=_share, args=(code,),
              help="Puts the whole set into this page's link (compressed): copy the link and give it to the class.")


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
    c[0].button("Previous", key="lesson_prev", disabled=state_index == 0, on_click=_step, args=(-1,))
    if c[1].button("Open this exercise", key="lesson_open", type="primary"):
        st.session_state[lesson.SET] = lset
        st.session_state[lesson.ON] = True
        st.switch_page(registry.BY_KEY[ex.page].file, query_params={**ex.inputs, "lesson": "1"})
    c[2].button("Next", key="lesson_next", disabled=state_index == n - 1, on_click=_step, args=(1,))
    lesson.score_ui()


def _step(d: int):
    st.session_state[lesson.INDEX] = int(st.session_state.get(lesson.INDEX, 0)) + d


def template_ui():
    with st.expander("The file format (download a shipped set as a template)"):
        st.code(lessons.__doc__.split("A set is a YAML or JSON file:", 1)[-1].strip("\n"), language="yaml")
        for name, path in lessons.shipped().items():
            st.download_button(f"{name}{path.suffix}", data=path.read_bytes(), file_name=path.name,
                               key=f"lesson_tpl_{name}", on_click="ignore", type="tertiary")


def lessons_ui():
    with ui.user_errors():
        chosen = choose_set_ui()
        if chosen is not None:
            walk_ui(chosen)


ui.setup(SPEC)
intro_ui()
lessons_ui()
template_ui()
