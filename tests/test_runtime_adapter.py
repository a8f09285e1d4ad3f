"""`playground_ui/runtime.py` is the app's one adapter to Streamlit internals: these tests fail loudly when a
Streamlit upgrade removes or renames what it uses (then adapt the adapter, nothing else)."""
import inspect

from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.session_manager import SessionManager

from playground_ui import runtime


def test_the_runtime_calls_the_adapter_makes_still_exist():
    for name in ("exists", "instance", "is_active_session", "close_session", "_get_async_objs"):
        assert hasattr(Runtime, name), f"streamlit.runtime.Runtime.{name} is gone: adapt playground_ui/runtime.py"
    for name in ("list_sessions", "get_session_info", "is_active_session"):
        assert hasattr(SessionManager, name), f"SessionManager.{name} is gone: adapt playground_ui/runtime.py"
    assert "_session_mgr" in inspect.getsource(Runtime.__init__), "Runtime._session_mgr is gone"
    from streamlit.runtime.runtime import AsyncObjects

    assert "eventloop" in AsyncObjects.__annotations__, "Runtime's event loop moved"
    assert "suppress_warning" in inspect.signature(get_script_run_ctx).parameters


def test_without_a_server_there_are_no_sessions_to_lose():
    """Scripts and tests run without a server: nothing is disconnected, every session counts as connected."""
    assert runtime.server() is None
    assert runtime.disconnected_sessions() == []
    assert runtime.connected("any-id") is True
    assert runtime.session_id() is None
    runtime.close_session("any-id")  # a no-op, not an error


def test_only_the_adapter_touches_streamlit_internals():
    """No other module of the app reads Streamlit's private runtime objects."""
    from apphelp import ROOT

    internals = ("_session_mgr", "_get_async_objs", "streamlit.runtime", "get_script_run_ctx")
    app_files = [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "playground_ui").rglob("*.py")]
    offenders = [f"{p.name}: {name}" for p in app_files if p.name != "runtime.py"
                 for name in internals if name in p.read_text()]
    assert offenders == []
