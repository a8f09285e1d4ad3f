"""Issue 19: what a closed session leaves behind is released, not kept until the server restarts.

A fine-tuning run's result holds a copy of the model and its epoch snapshots; the tests hold it only through weak
references and check that it becomes garbage once its session ends: through the job registry (the owner is gone for
good), through the session reaper (a session disconnected for longer than the TTL is closed and its state cleared),
and through the job itself (its closure, which holds the model and the data, is dropped when it ends). No timing and
no memory thresholds: the objects either die or they do not.
"""
from __future__ import annotations

import gc
import threading
import weakref

import pytest
from test_finetune import fast, toy

from bert_playground import finetune as F
from bert_playground.core import jobs
from bert_playground.core.jobs import Job, Registry
from playground_ui import jobs as app_jobs


@pytest.fixture(scope="module")
def data():
    return toy(32, 0), toy(16, 1, "toy eval")


def _run_job(reg: Registry, tiny, data, owner: str) -> Job:
    job = reg.submit(Job(lambda stop: F.train(tiny, *data, fast(epochs=2, snapshots=2), stop), "ft"), owner=owner)
    assert job.wait(120) and job.error is None, job.error
    return job


def _result(job: Job) -> F.FinetuneResult:
    return next(e.result for e in job.events() if isinstance(e, F.Done))


def _refs(result: F.FinetuneResult) -> list[weakref.ref]:
    """Weak references to the heavy parts of a result: the trained model and one snapshot tensor."""
    model = result.classifier.model
    snapshot = next(iter(result.snapshots[-1][1].values()))
    assert result.snapshots and len(result.snapshots) >= 2
    return [weakref.ref(model), weakref.ref(snapshot)]


def _dead(refs) -> bool:
    gc.collect()
    return all(r() is None for r in refs)


def test_a_job_drops_its_closure_when_it_ends():
    class Data:  # stands for the model and the data the closure captures
        pass

    held = Data()
    ref = weakref.ref(held)
    job = Job(lambda stop, d=held: iter([1, 2, 3]), "t").start()
    del held
    assert job.wait(10) and job.events() == [1, 2, 3]
    assert _dead([ref])  # the events stay for the owner; the closure is gone


def test_registry_release_frees_the_result_of_a_gone_owner(tiny, data):
    reg = Registry(max_jobs=2)
    job = _run_job(reg, tiny, data, "s1")
    other = _run_job(reg, tiny, data, "s2")
    refs, kept = _refs(_result(job)), _refs(_result(other))
    assert not _dead(refs)  # the owner may still read it
    assert reg.release("s1") == [job]
    assert reg.get(job.id) is None and job.events() == []
    assert _dead(refs)
    assert not _dead(kept) and reg.get(other.id) is other  # another session's run is untouched


def test_registry_release_stops_a_running_job(tiny, data):
    reg = Registry(max_jobs=1)
    job = reg.submit(Job(lambda stop: F.train(tiny, *data, fast(epochs=50), stop), "ft"), owner="s1")
    waiting = reg.submit(Job(lambda stop: iter(()), "w"), owner="s1")
    reg.release("s1")
    assert job.wait(60) and job.stop_flag.is_set()
    assert waiting.done and waiting.started is None  # taken out of the queue, never started


class FakeSessions:
    """Streamlit's side, as the reaper sees it: which sessions are disconnected, and closing one."""

    def __init__(self):
        self.states: dict[str, dict] = {}
        self.connected: set[str] = set()
        self.closed: list[str] = []

    def disconnected(self) -> list[str]:
        return [s for s in self.states if s not in self.connected]

    def close(self, sid: str) -> None:
        self.states.pop(sid).clear()
        self.closed.append(sid)


def test_reaper_releases_a_session_disconnected_longer_than_the_ttl(tiny, data, monkeypatch):
    reg = Registry(max_jobs=2)
    monkeypatch.setattr(app_jobs, "REGISTRY", reg)
    job = _run_job(reg, tiny, data, "s1")
    fake, now = FakeSessions(), [0.0]
    fake.states["s1"] = {"ft_job": job, "ft_result": _result(job)}  # what page 5 keeps
    fake.states["s2"] = {"x": 1}
    fake.connected = {"s1", "s2"}
    reaper = app_jobs.SessionReaper(lambda: fake, ttl=lambda: 30.0, clock=lambda: now[0])
    refs = _refs(_result(job))
    del job
    assert reaper.sweep() == []

    fake.connected.discard("s1")  # the tab closed
    assert reaper.sweep() == [] and not _dead(refs)  # within the TTL it may still come back
    now[0] = 29.0
    assert reaper.sweep() == [] and not _dead(refs)
    now[0] = 30.0
    assert reaper.sweep() == ["s1"] and fake.closed == ["s1"]
    assert _dead(refs)  # its run, model copy and snapshots are garbage
    assert "s2" in fake.states and reaper.sweep() == []  # the connected session is untouched


def test_reaper_forgives_a_session_that_comes_back(monkeypatch):
    fake, now = FakeSessions(), [0.0]
    fake.states["s1"] = {"kept": True}
    reaper = app_jobs.SessionReaper(lambda: fake, ttl=lambda: 30.0, clock=lambda: now[0])
    reaper.sweep()  # disconnected at t=0
    now[0] = 20.0
    fake.connected.add("s1")  # reconnected
    reaper.sweep()
    fake.connected.discard("s1")  # and gone again at t=25: the TTL counts from here
    now[0] = 25.0
    reaper.sweep()
    now[0] = 50.0
    assert reaper.sweep() == [] and fake.states["s1"] == {"kept": True}
    now[0] = 55.0
    assert reaper.sweep() == ["s1"]


def test_without_a_server_there_is_nothing_to_release(app_env):
    assert app_jobs.StreamlitSessions().disconnected() == []
    assert app_jobs.SessionReaper().sweep() == []
    app_jobs.watch_sessions()  # no server: no thread
    from streamlit.testing.v1 import AppTest

    from apphelp import ROOT

    at = AppTest.from_file(str(ROOT / "pages" / "1_Input_representation.py"), default_timeout=120)
    at.run()  # every page calls watch_sessions(); AppTest's runtime is a mock, not a server
    assert not at.exception
    assert app_jobs.REAPER._thread is None


def test_the_app_keeps_a_closed_session_briefly():
    """The TTL the reaper applies is the app's Streamlit setting (30 s in .streamlit/config.toml)."""
    import tomllib

    from apphelp import ROOT

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert 0 < cfg["server"]["disconnectedSessionTTL"] <= 120
    assert app_jobs.session_ttl() == app_jobs.DEFAULT_TTL  # no server here: Streamlit's default, no config read


def test_the_watchdog_marks_a_run_it_stopped(monkeypatch):
    live = {"s1": True}
    reg = Registry(max_jobs=1, grace=0.2, tick=0.05)
    reg.alive = lambda owner: live[owner]
    stop_seen = threading.Event()

    def ticker(stop):
        while not stop.wait(0.01):
            yield 1
        stop_seen.set()

    job = reg.submit(Job(ticker, "t"), owner="s1")
    live["s1"] = False
    assert job.wait(10) and stop_seen.is_set()
    assert "page was closed" in job.error


def test_every_streamlit_cache_is_bounded():
    """Every st.cache_data / st.cache_resource of the app names max_entries: a server's caches cannot grow with its
    users (a function without arguments has one entry, and says so)."""
    import ast

    from apphelp import ROOT

    files = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "playground_ui").rglob("*.py"))]
    found, unbounded = 0, []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                if isinstance(target, ast.Attribute) and target.attr in ("cache_data", "cache_resource"):
                    found += 1
                    if not (isinstance(dec, ast.Call) and any(k.arg == "max_entries" for k in dec.keywords)):
                        unbounded.append(f"{path.name}:{node.name}")
    assert found >= 10 and unbounded == [], unbounded


def test_index_store_forgets_finished_builds():
    from playground_ui.index_store import IndexStore

    store = IndexStore()
    done = Job(lambda stop: iter(()), "old").start()
    assert done.wait(5)
    store._jobs[("old",)] = done
    store._jobs[("new",)] = Job(lambda stop: iter(()), "new")  # an unstarted placeholder: kept while it runs
    job = store.start(("other",), None, [], 0, "mean")
    assert ("old",) not in store._jobs and ("new",) in store._jobs and store.job(("other",)) is job
    job.wait(10)
