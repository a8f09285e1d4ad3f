"""`python -m bert_playground serve`: load the checkpoint once, bind the address, and answer over HTTP with uvicorn
until SIGINT or SIGTERM, which end it cleanly (requests under way are finished, then the worker pool closes).

The socket is bound before uvicorn starts, so a busy port is a one-line error and `--port 0` takes a free port; the
line `serving ... at http://HOST:PORT` on standard output says which, once the model is loaded and the port listens.
"""
from __future__ import annotations

import signal
import socket
import sys
import threading
from contextlib import contextmanager

from ..core.errors import PlaygroundError
from .limits import Limits
from .model import is_loopback, load_served


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (IPv4 or IPv6), or a one-line refusal."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        raise PlaygroundError(f"cannot listen on {host}:{port}: {exc.strerror or exc}.") from None
    return sock


def stopping_server(config):
    """uvicorn's server, but SIGINT and SIGTERM end it with exit status 0 once its graceful shutdown is done (uvicorn
    raises the signal again afterwards, which kills the process before the worker pool is closed)."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            before = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in before.items():
                    signal.signal(sig, handler)

    return Server(config)


def serve(name: str | None, host: str, port: int, limits: Limits, log_requests: bool = False) -> None:
    """Serve one checkpoint until stopped (call inside `cli.common.holding_models()`)."""
    import uvicorn

    from .app import build_app

    shared = not is_loopback(host)
    print(f"loading '{name or 'the default checkpoint'}'" + (" (shared server: the checkpoint-root and "
          "allowed-models rules apply)" if shared else ""), file=sys.stderr, flush=True)
    served = load_served(name, shared)
    app = build_app(served, limits)
    sock = bind(host, port)
    bound = sock.getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    print(f"serving '{served.name}' ({served.kind}, loaded in {served.seconds:.1f} s) at http://{url_host}:{bound} "
          f"with {limits.workers} worker(s): GET /health, /openapi.json; POST "
          + (f"/{served.task}, " if served.task else "") + "/v1/<command>", flush=True)
    config = uvicorn.Config(app, lifespan="off", log_level="info" if log_requests else "warning",
                            access_log=log_requests, timeout_graceful_shutdown=30)
    try:
        stopping_server(config).run(sockets=[sock])
    finally:
        app.state.server.pool.close()
        sock.close()
