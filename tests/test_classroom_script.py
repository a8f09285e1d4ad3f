"""scripts/classroom.sh's bad input (clear one-line message, exit 2, nothing started) and playground_ui/hall.py."""
import os
import subprocess

import pytest
from streamlit.testing.v1 import AppTest

from apphelp import ROOT
from playground_ui import hall


def classroom(*args, **env):
    return subprocess.run(["bash", "scripts/classroom.sh", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=30, env={**os.environ, **env})


@pytest.mark.parametrize("args, message", [
    (["--replicas", "four"], "--replicas takes a number"),
    (["--port", "80"], "ports must be numbers from 1024 to 65535"),
    (["--first-port", "http"], "ports must be numbers from 1024 to 65535"),
    (["--replicas", "0"], "no replicas"),
    (["--bogus"], "unknown option --bogus"),
])
def test_bad_options_exit_2_with_one_line(args, message, tmp_path):
    r = classroom(*args, "--run", str(tmp_path / "run"))
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "run").exists()  # nothing was started


def test_missing_nginx_is_named(tmp_path):
    r = classroom("--replicas", "1", "--run", str(tmp_path / "run"), NGINX=str(tmp_path / "no-nginx"))
    assert r.returncode == 2 and "nginx is not installed: apt-get install nginx" in r.stderr


def test_help_lists_the_options():
    r = classroom("--help")
    assert r.returncode == 0 and "--replicas N" in r.stdout and "--upstream HOST:PORT" in r.stdout


def test_template_has_everything_a_streamlit_replica_needs():
    conf = (ROOT / "deploy" / "nginx-classroom.conf.template").read_text()
    for line in ("hash $hall_key consistent;", "proxy_set_header Upgrade $http_upgrade;",
                 "proxy_set_header Connection $connection_upgrade;", "proxy_set_header Host $http_host;",
                 "proxy_read_timeout 1d;", "client_max_body_size @BODY_MB@m;", "proxy_next_upstream error timeout"):
        assert line in conf
    assert "ip_hash" not in conf.replace("Not ip_hash", "")


@pytest.mark.parametrize("header, expected", [
    (None, None),
    ("streamlit", None),  # a first connection
    ("streamlit, 2|ab|cd|1", None),  # a first connection with its XSRF token
    ("streamlit, 2|ab|cd|1, 8a6c4f2e-old-session", "8a6c4f2e-old-session"),  # a reconnect
    ("streamlit, , 8a6c4f2e-old-session", "8a6c4f2e-old-session"),  # XSRF protection off
    ("streamlit, 2|ab|cd|1, ", None),
])
def test_resumed_session_id_reads_the_third_subprotocol_entry(header, expected):
    headers = {} if header is None else {"Sec-WebSocket-Protocol": header}
    assert hall.resumed_session_id(headers) == expected


def _page(moved: bool):
    import streamlit as st

    from playground_ui import hall

    if moved is not None:
        st.session_state["_hall_session"] = {"moved": moved, "at": "10:15"}
    hall.moved_session_notice()
    st.write(hall.fresh_key("ft_upload"))


@pytest.mark.parametrize("moved, key, notice", [(None, "ft_upload", False), (False, "ft_upload", False),
                                                (True, "ft_upload@moved", True)])
def test_a_moved_session_is_told_and_gets_fresh_uploaders(moved, key, notice):
    at = AppTest.from_function(_page, args=(moved,)).run()
    assert not at.exception
    assert at.markdown[-1].value == key
    warnings = [w.value for w in at.sidebar.warning]
    assert bool(warnings) == notice
    if notice:
        assert warnings[0].startswith("Reconnected at 10:15: moved to another server") and "upload or train again" in warnings[0]
    assert at.session_state["_hall_session"]["moved"] == bool(moved)  # AppTest has no websocket: never moved


def test_in_a_hall_every_page_carries_the_reconnect_fragment(monkeypatch):
    monkeypatch.setenv("BERT_PLAYGROUND_HALL", "1")
    assert hall.in_hall()
    at = AppTest.from_function(_page, args=(False,)).run()
    assert not at.exception and at.markdown[-1].value == "ft_upload"
    monkeypatch.setenv("BERT_PLAYGROUND_HALL", "0")
    assert not hall.in_hall()


def test_load_test_counts_sessions_per_replica_and_server_errors(tmp_path):
    import load_test

    log = tmp_path / "access.log"
    log.write_text(
        '127.0.0.1 [x] "GET /_stcore/stream HTTP/1.1" 101 161579 replica=127.0.0.1:8601 key=a rt=18.1\n'
        '127.0.0.1 [x] "GET /_stcore/stream HTTP/1.1" 101 0 replica=127.0.0.1:8601, 127.0.0.1:8602 key=b rt=3.8\n'
        '127.0.0.1 [x] "GET /_stcore/health HTTP/1.1" 200 2 replica=127.0.0.1:8602 key=c rt=0.001\n'
        '127.0.0.1 [x] "GET / HTTP/1.1" 502 150 replica=127.0.0.1:8601 key=d rt=0.001\n')
    assert load_test.hall_log(log) == ({"127.0.0.1:8601": 1, "127.0.0.1:8602": 1}, 1)
    assert load_test.hall_log(tmp_path / "missing.log") == ({}, 0)


def test_load_test_refuses_pid_without_url(capsys):
    import load_test

    with pytest.raises(SystemExit) as e:
        load_test.main(["--pid", "1"])
    assert e.value.code == 2 and "--pid goes with --url" in capsys.readouterr().err


def test_a_remote_replica_that_does_not_answer_stops_the_start(tmp_path):
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = classroom("--replicas", "0", "--upstream", f"127.0.0.1:{port}", "--port", "18099", "--run",
                  str(tmp_path / "run"), CLASSROOM_START_TIMEOUT="2", NGINX="/bin/true")
    assert r.returncode == 1 and f"the replica at 127.0.0.1:{port} does not answer" in r.stderr, r.stderr
    assert "classroom: stopped" in r.stderr  # nothing left running
