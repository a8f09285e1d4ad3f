"""The server's HTTP application (Starlette, run by uvicorn: `server.py`): its routes, reading a request under the
caps, and every answer and refusal.

  GET  /health              200 {"status": "ok", "model", "kind", "task", "commands", ...} once the model is loaded
  GET  /openapi.json        the OpenAPI description of the routes below (`openapi.py`)
  POST /<task>, POST /      the Hugging Face Inference API's tasks (`tasks.py`); / is the served model's own task
  POST /v1/<command>        the CLI's commands, exactly their --json output (`commands.py`)

Refusals are one line of JSON, `{"error": "..."}`: 400 (not JSON), 404 (no such route or not for this model), 405,
413 (body or a text too large), 422 (invalid arguments, or the package's own refusal), 503 with Retry-After (every
worker busy and the queue full), 500 for a fault (its traceback goes to the server's log only). The server keeps
serving after each. Requests share only the read-only model; nothing is kept between them.
"""
from __future__ import annotations

import json
import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import commands, openapi
from ..core.errors import shown
from .limits import Limits, RequestError
from .pool import Busy, Pool
from .tasks import TASKS, split_body

log = logging.getLogger("bert_playground.serve")


def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def answer(text: str, notices=()) -> Response:
    """A result already written as the CLI writes it with --json (`compute`), notices in the X-Notices header."""
    headers = {"X-Notices": json.dumps(list(notices))} if notices else None  # ASCII: header-safe
    return Response(text, media_type="application/json", headers=headers)


def compute(command: str, args, task=None, params=None, served=None) -> tuple[str, list[str]]:
    """In a worker: run the command (and reshape its result for an Inference API task), and write the JSON there
    too, as the CLI prints it (json.dumps, non-ASCII kept): a large answer never holds up the event loop."""
    result, notices = commands.run(command, args)
    if task is not None:
        result = task.answer(result, params, served)
    return json.dumps(result, ensure_ascii=False), notices


async def read_json(request: Request, limit: int):
    """The request body as JSON, refused past `limit` bytes (413) before it is all read, or when not JSON (400)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"The body has {int(declared):,} bytes; this server takes at most {limit:,}.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(413, f"The body is over {limit:,} bytes, this server's limit.")
    try:
        return json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise RequestError(400, "The body is not valid JSON (UTF-8).") from None


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


class Server:
    """The routes' handlers around one served model, its limits and its worker pool."""

    def __init__(self, served, limits: Limits):
        self.served, self.limits = served, limits
        self.pool = Pool(limits.workers, limits.queue)
        self.parsers = commands.build_parsers()
        self.description = openapi.describe(served, self.parsers, limits)

    async def health(self, request: Request) -> Response:
        return JSONResponse({**self.served.health(), "workers": self.pool.workers, "queue": self.pool.queue})

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(self.description)

    async def command(self, request: Request) -> Response:
        name = request.path_params["command"]
        return await self._guarded(self._command, name, request)

    async def task(self, request: Request) -> Response:
        name = request.path_params.get("task") or self.served.task
        return await self._guarded(self._task, name, request)

    async def _command(self, name: str, request: Request) -> Response:
        if name not in commands.HTTP_COMMANDS:
            raise RequestError(404, f"No command {shown(name)} over HTTP; here: {', '.join(self.served.commands)}.")
        self._check_served(name in self.served.commands, f"/v1/{name}")
        args = commands.namespace(name, self.parsers[name], await read_json(request, self.limits.max_body),
                                  self.limits, self.served)
        return answer(*await self.pool.run(compute, name, args))

    async def _task(self, name: str | None, request: Request) -> Response:
        if name not in TASKS:
            raise RequestError(404, f"No route {shown(request.url.path)}. {self._routes()}")
        self._check_served(name == self.served.task, f"/{name}")
        task = TASKS[name]
        inputs, params = split_body(name, await read_json(request, self.limits.max_body))
        args = commands.namespace(task.command, self.parsers[task.command], task.request(inputs, params),
                                  self.limits, self.served)
        return answer(*await self.pool.run(compute, task.command, args, task, params, self.served))

    def _check_served(self, ok: bool, route: str) -> None:
        if not ok:
            raise RequestError(404, f"'{self.served.name}' is a {self.served.kind} checkpoint: it does not answer "
                                    f"{route}. {self._routes()}")

    def _routes(self) -> str:
        task = f"POST /{self.served.task}, " if self.served.task else ""
        return f"This server answers {task}POST /v1/<command> ({', '.join(self.served.commands)}); GET /openapi.json."

    async def _guarded(self, handler, name, request: Request) -> Response:
        """Every refusal and fault as one line of JSON; the server goes on."""
        try:
            return await handler(name, request)
        except RequestError as exc:
            return error(exc.status, exc.message)
        except HTTPException as exc:  # Starlette's own, e.g. a client that sent less than it declared
            return error(exc.status_code, str(exc.detail))
        except ClientDisconnect:  # nobody is left to read an answer
            return error(400, "The client went away before its request was read.")
        except Busy:
            return error(503, f"The server is busy ({self.pool.workers} computations running, {self.pool.queue} "
                              f"waiting); retry in {self.limits.retry_after} s.",
                         {"Retry-After": str(self.limits.retry_after)})
        except Exception as exc:  # a fault: the client gets one line, the log the traceback
            log.exception("fault answering %s", request.url.path)
            return error(500, f"Internal error ({type(exc).__name__}); the server's log has the details.")


async def _http_error(request: Request, exc: HTTPException) -> Response:
    """Starlette's own refusals (no such route, wrong method) in the same one-line JSON."""
    return error(exc.status_code, exc.detail or "refused", getattr(exc, "headers", None))


def build_app(served, limits: Limits) -> Starlette:
    server = Server(served, limits)
    routes = [
        Route("/health", server.health, methods=["GET"]),
        Route("/openapi.json", server.openapi, methods=["GET"]),
        Route("/v1/{command}", server.command, methods=["POST"]),
        Route("/{task}", server.task, methods=["POST"]),
        Route("/", server.task, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.server = server
    return app
