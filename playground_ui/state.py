"""Inputs that survive navigation and reload, and links that reopen a view.

Each page declares its persistent inputs once, as a `Spec` of `Param`s (URL name, widget key, default, bounds).
`sync(spec)`, called at the top of the page (through `ui.setup`), then
  (a) keeps every value under the app's own session key (Streamlit drops the state of widgets that are not
      rendered, so leaving a page would lose them) and seeds the widget keys from it when the page comes back,
  (b) applies a link's query parameters (first load, reload, a lesson exercise) after validating them: unknown or
      malformed ones are ignored with a note, long texts are capped, a checkpoint the server does not allow is
      refused with a note,
  (c) writes the current values back to `st.query_params`, so the address bar is always a link to this view.
Widgets named in a spec take their default from the spec, never from the widget call.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

MAX_TEXT = 2000  # characters kept of a text parameter (a link must stay a link)
MAX_LONG_TEXT = 20_000  # for pasted documents
KEPT = "_kept_inputs"  # session key: {widget key: value}, outlives the widgets of a page that is not shown
WRITTEN = "_query_written"  # session key: {page: the query parameters this app last wrote}
NOTES = "_query_notes"  # session key: notes about ignored parameters, shown once
IGNORED = {"embed", "embed_options"}  # Streamlit's own parameters


@dataclass(frozen=True)
class Param:
    """One persistent input: its name in the URL, its widget key and how to read it from text."""
    name: str  # the query parameter (short, stable: part of lesson links)
    key: str  # the widget's key in st.session_state
    default: Any  # the value a fresh page shows (None: the page sets it)
    kind: type = str  # str, int, float or bool
    lo: float | None = None  # inclusive bounds for numbers
    hi: float | None = None
    choices: tuple | None = None  # allowed values (compared after conversion)
    max_len: int = MAX_TEXT  # longer texts are cut to this many characters
    in_link: bool = True  # False: kept for the session only, never read from or written to a link
    check: Callable | None = None  # a page's own rule for a link's value: (value, allowed) -> (value, note or None)
    opens: tuple = ()  # ((parameter, value), ...): a link naming this one but not those sets them too (the tab that
    #                    shows it); a link written with this one always names them

    def parse(self, raw: str) -> tuple[Any, str | None]:
        """(value, note); raises ValueError with a reason when the text cannot be this parameter."""
        raw = str(raw)
        if self.kind is bool:
            low = raw.strip().lower()
            if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError("expected 1 or 0")
            return low in ("1", "true", "yes", "on"), None
        if self.kind in (int, float):
            if len(raw) > 40:
                raise ValueError("not a number")
            try:
                value = self.kind(float(raw)) if self.kind is int and re.fullmatch(r"-?\d+(\.0*)?", raw.strip()) else self.kind(raw)
            except (TypeError, ValueError):
                raise ValueError("not a number") from None
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError("not a number")
            if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
                raise ValueError(f"outside {self.lo:g}…{self.hi:g}")
        else:
            value = raw
        if self.choices is not None:
            match = [c for c in self.choices if str(c) == str(value)]
            if not match:
                raise ValueError("not one of the choices")
            return match[0], None
        if self.kind is str and len(value) > self.max_len:
            return value[: self.max_len], f"'{self.name}' was cut to its first {self.max_len:,} characters."
        return value, None

    def dump(self, value) -> str:
        if self.kind is bool:
            return "1" if value else "0"
        return str(value)[: self.max_len]  # a huge paste stays in the session; the link carries what a link can


@dataclass(frozen=True)
class Spec:
    """A page's persistent inputs."""
    page: str  # short name: notes, file names
    params: tuple[Param, ...] = field(default_factory=tuple)

    def values(self) -> dict[str, Any]:
        """The current value of every parameter (URL name -> value)."""
        return {p.name: st.session_state[p.key] for p in self.params if p.key in st.session_state}


def spec(page: str, *params: Param) -> Spec:
    return Spec(page, tuple(params))


# The app-wide parameters every page carries (set in the sidebar).
PRESENT = Param("present", "present", False, bool)
CHECKPOINT = Param("checkpoint", "checkpoint", None, str, max_len=200)
FIGURE_FORMAT = Param("fig", "figure_format", "png", str, choices=("png", "svg"))
LESSON = Param("lesson", "lesson_on", False, bool)  # lesson mode (playground_ui.lesson)
GLOBAL = (PRESENT, FIGURE_FORMAT, LESSON)
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}(/[\w.-]{1,96})?")


def checkpoint_allowed(name: str, allowed: list[str] | None, current: str | None = None) -> str | None:
    """Why a link may not switch to this checkpoint (None when it may): only names the server allows."""
    if allowed is not None:
        return None if name in allowed else "this server allows only " + ", ".join(allowed)
    if name in ("embedded", current):
        return None
    if not _HUB_ID.fullmatch(name) or ".." in name:
        return "a link can name only the embedded checkpoint or a Hugging Face Hub id, not a folder"
    return None


def checkpoint_lines(text: str, allowed: list[str] | None) -> tuple[str, str | None]:
    """A link's list of checkpoints (one a line): only the names a link may open (`checkpoint_allowed`) are kept."""
    names = [n.strip() for n in str(text).splitlines() if n.strip()]
    kept = [n for n in names if checkpoint_allowed(n, allowed) is None]
    dropped = len(names) - len(kept)
    rule = ("a link can name only the checkpoints this server allows" if allowed is not None else
            "a link can name only the embedded checkpoint or a Hugging Face Hub id, not a folder")
    return "\n".join(kept), f"{dropped} checkpoint(s) in the link were left out: {rule}." if dropped else None


def _kept() -> dict:
    return st.session_state.setdefault(KEPT, {})


def _notes() -> list:
    return st.session_state.setdefault(NOTES, [])


def _apply_link(spec: Spec, query: dict[str, str], allowed, current_checkpoint) -> None:
    """A link's parameters into the widget keys; missing page parameters fall back to their defaults."""
    known = {p.name: p for p in spec.params + GLOBAL if p.in_link}
    notes = _notes()
    page_params = any(p.name in query for p in spec.params if p.in_link)
    applied = set()
    for name, raw in query.items():
        if name in IGNORED or name == CHECKPOINT.name:
            continue
        p = known.get(name)
        if p is None:
            notes.append(f"The link's parameter '{name[:40]}' is not used on this page and was ignored.")
            continue
        try:
            value, note = p.parse(raw)
        except ValueError as why:
            notes.append(f"The link's '{name}' was ignored ({why}).")
            continue
        if p.check is not None:
            value, extra = p.check(value, allowed)
            note = " ".join(n for n in (note, extra) if n) or None
        if note:
            notes.append(note)
        st.session_state[p.key] = _kept()[p.key] = value
        applied.add(name)
    if page_params:  # a link to this view: what it does not name is the default
        for p in spec.params:
            if p.name not in query and p.default is not None and p.in_link:
                st.session_state[p.key] = _kept()[p.key] = p.default
    for p in spec.params:  # e.g. a link with a fill text but no tab opens the tab that shows the text
        for name, value in p.opens if p.name in applied else ():
            if name not in query:
                q = known[name]
                st.session_state[q.key] = _kept()[q.key] = value
    if CHECKPOINT.name in query:
        name = str(query[CHECKPOINT.name])[: CHECKPOINT.max_len].strip()
        why = checkpoint_allowed(name, allowed, current_checkpoint)
        if why:
            notes.append(f"The link's checkpoint was not opened: {why}.")
        elif name != current_checkpoint:
            st.session_state["checkpoint"] = name
            st.session_state["checkpoint_source"] = "Embedded" if name == "embedded" else "Hugging Face Hub id"
            st.session_state["checkpoint_value"] = "" if name == "embedded" else name


def sync(spec: Spec | None, allowed=None) -> None:
    """Restore the page's inputs (session, then link) and write them back to the URL; call before any widget."""
    spec = spec or Spec("home")
    kept, written = _kept(), st.session_state.setdefault(WRITTEN, {})
    query = {k: st.query_params.get(k) for k in st.query_params}
    if query and query != written.get(spec.page):  # a link, a reload or a lesson exercise: it wins
        _apply_link(spec, query, allowed, st.session_state.get("checkpoint"))
    for p in spec.params + GLOBAL:
        if p.key in st.session_state:
            kept[p.key] = st.session_state[p.key]
        elif p.key in kept:
            st.session_state[p.key] = kept[p.key]
        elif p.default is not None:
            st.session_state[p.key] = kept[p.key] = p.default
    save(spec)


def link_params(spec: Spec) -> dict[str, str]:
    """The query parameters of the current view: values that differ from their defaults."""
    out = {}
    for p in spec.params + GLOBAL:
        if p.in_link and p.key in st.session_state and st.session_state[p.key] != p.default:
            out[p.name] = p.dump(st.session_state[p.key])
    known = {p.name: p for p in spec.params}
    for p in spec.params:  # the link then reopens the same tab, even the default one
        for name, _ in p.opens if p.name in out else ():
            q = known[name]
            if name not in out and q.key in st.session_state:
                out[name] = q.dump(st.session_state[q.key])
    ckpt = st.session_state.get("checkpoint")
    if ckpt and ckpt != "embedded" and checkpoint_allowed(ckpt, None) is None:
        out[CHECKPOINT.name] = ckpt
    return out


def save(spec: Spec | None) -> None:
    """Keep the current values and write them to the URL (call it again inside a fragment that owns inputs)."""
    spec = spec or Spec("home")
    kept = _kept()
    for p in spec.params + GLOBAL:
        if p.key in st.session_state:
            kept[p.key] = st.session_state[p.key]
    params = link_params(spec)
    current = {k: st.query_params.get(k) for k in st.query_params}
    if current != params:
        st.query_params.from_dict(params)
    st.session_state.setdefault(WRITTEN, {})[spec.page] = params


def pop_notes() -> list[str]:
    """Notes about ignored link parameters, once."""
    notes = list(st.session_state.get(NOTES, []))
    st.session_state[NOTES] = []
    return notes


def link(spec: Spec | None) -> str:
    """The address of this view (absolute when the browser told us where the app lives)."""
    query = urlencode(link_params(spec or Spec("home")))
    try:
        url = st.context.url or ""
    except Exception:
        url = ""
    if not url:
        return "?" + query if query else "?"
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
