"""Streamlit helpers shared by app.py and every page: the cached model, the sidebar, errors.

Only UI code lives here; all model work is in the `bert_playground` package.
"""
from __future__ import annotations

import os
import re
import threading
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable

import streamlit as st
from streamlit.errors import StreamlitAPIException

from bert_playground import PlaygroundError  # torch-free: the home page draws before torch has loaded
from bert_playground.checkpoints import folders as checkpoint
from bert_playground.core.device import cpu_label_now, describe  # (torch is imported inside their functions)
from playground_ui import export, jobs, runtime, state, style
from playground_ui.hall import moved_session_notice
from playground_ui.registry import BY_KEY, HOME, PAGES, ROOT

if TYPE_CHECKING:
    from bert_playground.checkpoints import models

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_MARKDOWN = re.compile(r"([\\`*_\[\]<>~$|:@])")  # links, images, emphasis, code, maths, :emoji:, e-mail links
_BARE_LINK = re.compile(r"(?i)\b(www)\.")  # GFM turns 'www.x.y' into a link; 'https\://' is already broken by ':'


def md_escape(text: str) -> str:
    """User text inside a Markdown element (st.error, st.caption…) is shown literally, never as markup: no link,
    no emoji shortcode, no colour directive."""
    return _BARE_LINK.sub(r"\1\\.", _MARKDOWN.sub(r"\\\1", str(text)))


SOURCES = ["Embedded", "Local folder", "Hugging Face Hub id"]

def allowed() -> list[str] | None:
    """Classroom (server) mode: $BERT_PLAYGROUND_ALLOWED_MODELS or `allowed_models` in .streamlit/secrets.toml."""
    try:
        extra = st.secrets.get("allowed_models")
    except Exception:  # no secrets file
        extra = None
    if isinstance(extra, (list, tuple)):
        extra = ",".join(extra)
    return checkpoint.allowed_models(extra)


LOOPBACK = ("localhost", "127.0.0.1", "::1")


def served_to_others() -> bool:
    """A server for others: classroom mode, or bound to an address other than loopback (the repository's
    .streamlit/config.toml binds to localhost; `--server.address 0.0.0.0` opens it). Local folders are then read only
    below $BERT_PLAYGROUND_CHECKPOINT_ROOT."""
    if allowed() is not None:
        return True
    address = st.get_option("server.address")
    if address:
        return address not in LOOPBACK and not address.startswith("127.")
    return runtime.runtime_exists() and os.environ.get("BERT_PLAYGROUND_LOCAL_ONLY") != "1"  # unset: every interface


def cached_bundle(name: str, device: str) -> models.Bundle:
    """The loaded checkpoint, shared by all sessions (never mutate it), from the process-wide cache keyed by the
    resolved folder: './assets/model', 'assets/model/' and 'embedded' are one entry, loaded once. While the
    background load (`preload`) of the same checkpoint runs, this waits for it under the cache's spinner."""
    ok, shared = allowed(), served_to_others()
    return _loaded(checkpoint.cache_key(name, ok, shared), device, name, ok, shared)


@st.cache_resource(show_spinner="Loading the checkpoint (once per server)…", max_entries=4)
def _loaded(key: str, device: str, _name: str, _allowed: list[str] | None, _shared: bool) -> models.Bundle:
    """One load per (resolved checkpoint, device) per process; `_name` (not in the key) is the spelling loaded.
    Streamlit computes a key once however many threads ask at once (the others wait for its result), and
    `models.load` takes `models._LOAD_LOCK`: never two loads of one checkpoint, never two loads at once. The home
    page's background load of the same checkpoint (`preload`) is waited for and reused."""
    from bert_playground.checkpoints import models  # torch and transformers: imported by the first load

    job = _PRELOADS.get(key)
    if job is not None:
        try:
            bundle = job.result()
        except Exception:  # noqa: BLE001 (its error is said by the load below)
            bundle = None
        if bundle is not None and str(bundle.device) == device:
            return bundle
    return models.load(_name, device, allowed=_allowed, shared=_shared)


_PRELOADS: dict[str, Future] = {}  # cache key -> the background load's Bundle (its result) or its error
_PRELOAD_LOCK = threading.Lock()
PRELOAD_THREAD = "bert-playground-preload"


def preload(name: str) -> None:
    """Start loading `name` in a background thread, once per checkpoint per process: the home page draws at once
    and the first model page finds the model in `_loaded` (or waits for it under a spinner). The thread never
    calls st.*: it loads into `_PRELOADS`, which `_loaded` reads. Raises the PlaygroundError of a refused name."""
    ok, shared = allowed(), served_to_others()
    key = checkpoint.cache_key(name, ok, shared)
    with _PRELOAD_LOCK:
        if key in _PRELOADS:
            return
        job = _PRELOADS[key] = Future()
    threading.Thread(target=_preload, args=(job, name, ok, shared), name=PRELOAD_THREAD,
                     daemon=True).start()  # a daemon: stopping the server never waits for a load


def _preload(job: Future, name: str, ok: list[str] | None, shared: bool) -> None:
    try:
        from bert_playground.checkpoints import models

        job.set_result(models.load(name, device_name(), allowed=ok, shared=shared))
    except BaseException as exc:  # noqa: BLE001 (the model page that loads it says why)
        job.set_exception(exc)


def _preload_job(name: str) -> Future | None:
    try:
        return _PRELOADS.get(checkpoint.cache_key(name, allowed(), served_to_others()))
    except PlaygroundError:
        return None


def preloaded_device(name: str) -> str | None:
    """The device the background load of `name` finished on; None while it runs, or when it failed or never ran."""
    job = _preload_job(name)
    return str(job.result().device) if job is not None and job.done() and job.exception() is None else None


def loading(name: str) -> bool:
    """True while the background load of `name` runs."""
    job = _preload_job(name)
    return job is not None and not job.done()


def device_name() -> str:
    from bert_playground.core.device import choose_device  # imports torch (waits for the background import)

    return str(choose_device())


def device_label(name: str) -> str:
    """The device badge of a page that must not wait for torch: exact when known without torch (a machine with no
    GPU driver) or once the background load of `name` is done."""
    label = cpu_label_now()
    if label is None:
        device = preloaded_device(name)
        label = describe(device) if device else "GPU if this machine has one (checked while the model loads)"
    return label


def _initial_choice() -> tuple[str, str]:
    name = checkpoint.default_name()
    if allowed() is not None:
        return "Allowed", (name if name in allowed() else allowed()[0])
    if name == checkpoint.EMBEDDED:
        return SOURCES[0], ""
    return (SOURCES[1], name) if os.path.exists(os.path.expanduser(name)) else (SOURCES[2], name)


def checkpoint_name() -> str:
    """The checkpoint this session uses, kept in session state across pages."""
    if "checkpoint" not in st.session_state:
        src, val = _initial_choice()
        st.session_state["checkpoint"] = checkpoint.EMBEDDED if src == SOURCES[0] else val
        st.session_state["checkpoint_source"] = src if src in SOURCES else SOURCES[0]
        st.session_state["checkpoint_value"] = val
    return st.session_state["checkpoint"]


def _picker():
    """Free choice of source and name; in classroom mode only a list of allowed checkpoints."""
    names = allowed()
    if names is not None:
        current = st.session_state["checkpoint"]
        choice = st.selectbox("Checkpoint (classroom mode)", names, index=names.index(current) if current in names else 0)
        st.session_state["checkpoint"] = choice
        return
    st.session_state["_w_source"] = st.session_state["checkpoint_source"]
    st.session_state["_w_value"] = st.session_state["checkpoint_value"]
    with st.form("checkpoint_form", border=False):
        st.radio("Source", SOURCES, key="_w_source", horizontal=False)
        st.text_input("Folder or Hub id (not used for Embedded)", key="_w_value",
                      placeholder="bert-base-uncased or /path/to/checkpoint")
        st.form_submit_button("Use this checkpoint", on_click=_apply_choice)


def _apply_choice():
    src = st.session_state["_w_source"]
    val = (st.session_state.get("_w_value") or "").strip()
    st.session_state["checkpoint_source"] = src
    st.session_state["checkpoint_value"] = val
    st.session_state["checkpoint"] = checkpoint.EMBEDDED if src == SOURCES[0] else val
    st.session_state[_CHOSEN] = True  # a choice the user made is loaded, and so checked, at once, even on the home page


def _info_caption(i: checkpoint.CheckpointInfo) -> str:
    heads = ", ".join(i.heads_present) or "none"
    return (f"**{md_escape(i.name)}** · {i.family.name} · {i.layers} layers · {i.heads} heads · hidden {i.hidden_size} · "
            f"vocab {i.vocab_size:,} · heads: {heads}")


def _info_now(name: str) -> checkpoint.CheckpointInfo | None:
    """The checkpoint's description without waiting for torch: from config.json, or from the model once the
    background load is done (a Hub id downloaded by it). Raises the PlaygroundError of a refused name or folder."""
    info = checkpoint.quick_info(name, allowed(), served_to_others())
    device = preloaded_device(name) if info is None else None
    return cached_bundle(name, device).info if device else info


def _sidebar_now(name: str) -> checkpoint.CheckpointInfo | None:
    """The sidebar of a page that does not wait for the model (the home page): what config.json says. A checkpoint
    that passes the checks is then loaded in the background (`load_behind`)."""
    info = None
    st.session_state.pop(_BEHIND, None)
    chosen = st.session_state.pop(_CHOSEN, False)
    try:
        if name:
            info = _info_now(name)
            job = _preload_job(name)
            if chosen or (job is not None and job.done() and job.exception() is not None):
                # what config.json cannot tell (weights that do not fit, a Hub id offline) is said here, not later
                info = cached_bundle(name, device_name()).info
            else:
                st.session_state[_BEHIND] = name
    except PlaygroundError as exc:
        st.error(md_escape(exc))
    else:
        if info is not None:
            st.caption(_info_caption(info))
        elif name:
            st.caption(f"**{md_escape(name)}** · loading in the background…")
        else:
            st.warning("Type a folder or a Hub id, then press 'Use this checkpoint'.")
    st.info(f"Device: {device_label(name)}")
    return info


_BEHIND = "_load_behind"  # session key: the checkpoint the home page accepted, to load once it has drawn
_CHOSEN = "_checkpoint_chosen"  # session key: the user has just pressed 'Use this checkpoint'


def load_behind() -> None:
    """The home page's last call: start loading the checkpoint it showed, in the background (`preload`), once the
    page itself is drawn, so that the load does not compete with drawing it."""
    name = st.session_state.get(_BEHIND)
    if name:
        with user_errors():
            preload(name)


def sidebar(wait: bool = True) -> models.Bundle | checkpoint.CheckpointInfo | None:
    """Checkpoint picker and device badge; returns the loaded bundle or None (with the reason shown). `wait=False`
    (the home page): returns the checkpoint's CheckpointInfo at once (then `load_behind`)."""
    checkpoint_name()
    with st.sidebar:
        st.subheader("Checkpoint")
        _picker()
        name = st.session_state["checkpoint"]
        if not wait:
            return _sidebar_now(name)
        with st.spinner("Starting PyTorch…"):  # shown only past 0.5 s: the first page while torch is imported
            dev = device_name()
        try:
            bundle = cached_bundle(name, dev) if name else None  # waits for a background load under its spinner
        except PlaygroundError as exc:
            st.error(md_escape(exc))
            bundle = None
        if bundle is not None:
            st.caption(_info_caption(bundle.info))
        elif not name:
            st.warning("Type a folder or a Hub id, then press 'Use this checkpoint'.")
        st.info(f"Device: {describe(dev)}")
    return bundle


@contextmanager
def user_errors(shown: set | None = None):
    """Show a PlaygroundError as a clear message instead of a traceback; the input stays as typed. `shown`: the
    messages already on the page in this run (one set per run), so one problem is said once, not once per view."""
    try:
        yield
    except PlaygroundError as exc:
        if shown is not None and str(exc) in shown:
            st.caption("Same problem as above.")
            return
        if shown is not None:
            shown.add(str(exc))
        st.error(md_escape(exc))


def need_model(bundle) -> models.Bundle:
    if bundle is None:
        st.info("This part needs a checkpoint that loads: pick one in the sidebar.")
        st.stop()
    return bundle


def navigation(home: Callable[[], None]):
    """Streamlit's own navigation over the page registry, in the registry's sections, Home (the `home` function of
    app.py) first; a page whose file is missing is left out."""
    groups: dict[str, list] = {"": [st.Page(home, title=HOME.title, default=True)]}
    for p in PAGES:
        if p.file and (ROOT / p.file).is_file():
            groups.setdefault(p.section, []).append(st.Page(p.file, title=p.title, url_path=p.url_path))
    return st.navigation(groups, expanded=True)  # grouped by BERT's story; every page listed (never folded)


def page_link(key: str, label: str, query: dict | None = None):
    """A link to another page of the registry, keeping this session (st.page_link). A page run on its own (AppTest's
    `from_file`, no navigation) gets the same link as a plain address."""
    page = BY_KEY[key]
    try:
        st.page_link(page.file, label=label, query_params=query)
    except StreamlitAPIException:
        from urllib.parse import urlencode

        st.markdown(f"[{md_escape(label)}](/{page.url_path}{'?' + urlencode(query) if query else ''})")


def view_ui(spec):
    """Sidebar: presentation mode and the link to this view; notes about a link's ignored parameters."""
    with st.sidebar:
        st.toggle("Presentation mode", key=state.PRESENT.key, help="Larger fonts and high contrast for a projector")
        export.format_ui()
        with st.expander("Copy link to this view"):
            st.code(state.link(spec), language=None, wrap_lines=True)
            st.caption("The copy button at the right of the box copies it. Opening it reopens this page with these inputs.")
    for note in state.pop_notes():
        st.info(md_escape(note))


def setup(spec: state.Spec | None = None, wait: bool = True) -> models.Bundle | checkpoint.CheckpointInfo | None:
    """Page config (the title from the page registry), the page's remembered inputs (session and link),
    presentation mode, sidebar. `spec=None`: the home page. `wait=False` (the home page): the checkpoint's
    CheckpointInfo at once, the model loading behind (`sidebar`)."""
    page = BY_KEY[spec.page if spec else HOME.key]
    jobs.watch_sessions()  # what a closed session leaves behind is released (once per process)
    checkpoint_name()
    state.sync(spec, allowed())
    present = bool(st.session_state.get(state.PRESENT.key))
    st.set_page_config(page_title=f"{page.title} · BERT Playground", layout="wide",
                       initial_sidebar_state="collapsed" if present else "auto")
    moved_session_notice()  # a browser that came over from a stopped replica is told what it lost
    st.session_state["_page"], st.session_state["_page_spec"] = page.key, spec
    style.base_css()
    if present:
        style.presentation_css()
    bundle = sidebar(wait)
    view_ui(spec)
    return bundle
