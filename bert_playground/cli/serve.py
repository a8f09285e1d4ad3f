"""`serve`: answer queries over HTTP with the model loaded once (`bert_playground/serve/`)."""
from __future__ import annotations

from .common import holding_models, model_arg


def add_serve(sub):
    from ..serve.limits import Limits

    d = Limits()
    p = sub.add_parser("serve", help="answer queries over HTTP with the model loaded once: the Hugging Face Inference "
                                     "API's shapes (POST /fill-mask, ...) and every command at POST /v1/<command>")
    model_arg(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only); any other "
                   "address makes a shared server: the checkpoint-root and allowed-models rules apply")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port, said at start)")
    p.add_argument("--workers", type=int, default=0, help="computations at once (default: cores / torch threads, "
                                                          f"here {d.workers})")
    p.add_argument("--queue", type=int, default=d.queue, help=f"requests waiting for a worker (default {d.queue}); "
                                                              "more are answered 503 with Retry-After")
    p.add_argument("--max-body", type=int, default=d.max_body, help=f"bytes of a request (default {d.max_body:,})")
    p.add_argument("--max-text", type=int, default=d.max_text, help=f"characters of a text (default {d.max_text:,})")
    p.add_argument("--log-requests", action="store_true", help="log every request on standard error")


def run_serve(args):
    from ..serve.limits import Limits
    from ..serve.server import serve

    limits = Limits(workers=args.workers, queue=args.queue, max_body=args.max_body, max_text=args.max_text)
    with holding_models():
        serve(args.model, args.host, args.port, limits, args.log_requests)
    return None  # nothing to print: the server ran until stopped
