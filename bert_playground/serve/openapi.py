"""The server's OpenAPI 3.1 description (GET /openapi.json), built at start from what this server answers: the
Inference API task of its model and its `/v1/<command>` routes, whose arguments are read from the commands' own
argparse declarations (names, types, defaults, choices, help), so the description cannot drift from the CLI."""
from __future__ import annotations

import argparse

from .. import __version__
from .commands import arguments

ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
STRING = {"type": "string"}
TASK_SCHEMAS = {  # (request body, response) in the Hugging Face Inference API's shapes
    "fill-mask": (
        {"inputs": {**STRING, "description": "a text with one or more [MASK]"},
         "parameters": {"type": "object", "properties": {"top_k": {"type": "integer", "default": 5}}}},
        {"description": "one mask: a list of guesses; several masks: a list of such lists",
         "type": "array", "items": {"type": "object", "properties": {
             "sequence": STRING, "score": {"type": "number"}, "token": {"type": "integer"}, "token_str": STRING}}}),
    "text-classification": (
        {"inputs": {"oneOf": [STRING, {"type": "object", "properties": {"text": STRING, "text_pair": STRING}}]},
         "parameters": {"type": "object", "properties": {"top_k": {"type": "integer"},
                                                         "function_to_apply": {"enum": ["softmax"]}}}},
        {"type": "array", "items": {"type": "array", "items": {"type": "object", "properties": {
            "label": STRING, "score": {"type": "number"}}}}}),
    "token-classification": (
        {"inputs": STRING, "parameters": {"type": "object", "properties": {
            "aggregation_strategy": {"enum": ["simple", "first", "average", "max"]},
            "ignore_labels": {"type": "array", "items": STRING}}}},
        {"type": "array", "items": {"type": "object", "properties": {
            "entity_group": STRING, "score": {"type": "number"}, "word": STRING, "start": {"type": "integer"},
            "end": {"type": "integer"}}}}),
    "question-answering": (
        {"inputs": {"type": "object", "properties": {"question": STRING, "context": STRING},
                    "required": ["question", "context"]}},
        {"type": "object", "properties": {"answer": STRING, "score": {"type": "number"},
                                          "start": {"type": "integer"}, "end": {"type": "integer"}}}),
}


def argument_schema(action: argparse.Action) -> dict:
    """One argparse argument as a JSON schema."""
    base = {int: {"type": "integer"}, float: {"type": "number"}}.get(action.type, {"type": "string"})
    if action.nargs == 0:
        base = {"type": "boolean"}
    if action.choices is not None:
        base = {**base, "enum": list(action.choices)}
    many = action.nargs in ("*", "+") or isinstance(action, argparse._AppendAction)
    out = {"type": "array", "items": base} if many else dict(base)
    if action.default is not None and action.default is not argparse.SUPPRESS:
        out["default"] = action.default
    if action.help:
        out["description"] = action.help.replace("%(default)s", str(action.default)).replace("%%", "%")
    return out


def _post(summary: str, properties: dict, response: dict) -> dict:
    body = {"type": "object", "properties": properties}
    errors = {str(code): {"description": why, "content": {"application/json": {"schema": ERROR}}}
              for code, why in ((400, "not JSON"), (404, "not answered by this server's model"), (413, "too large"),
                                (422, "invalid arguments"), (503, "busy: retry after the Retry-After seconds"))}
    return {"post": {"summary": summary, "requestBody": {"required": True, "content": {"application/json": {
        "schema": body}}}, "responses": {"200": {"description": "the answer", "content": {"application/json": {
            "schema": response}}}, **errors}}}


def describe(served, parsers: dict, limits) -> dict:
    paths = {"/health": {"get": {"summary": "200 once the model is loaded: the model, its kind, task, commands",
                                 "responses": {"200": {"description": "ready"}}}}}
    if served.task:
        request, response = TASK_SCHEMAS[served.task]
        paths[f"/{served.task}"] = _post(f"Hugging Face Inference API: {served.task}", request, response)
    for name in served.commands:
        props = {dest: argument_schema(a) for dest, a in arguments(parsers[name]).items()}
        props["argv"] = {"type": "array", "items": STRING, "description": "the words of a command line, read by "
                         "the command's parser (named arguments win)"}
        props["json"] = {"type": "boolean", "default": True,
                         "description": "false: the fuller result the CLI formats as text"}
        paths[f"/v1/{name}"] = _post(f"`{name} --json`: {parsers[name].description or ''}".strip(), props,
                                     {"type": "object", "description": f"exactly `{name} ... --json`'s output"})
    return {"openapi": "3.1.0", "info": {"title": "BERT Playground", "version": __version__,
                                          "description": f"Serving '{served.name}' ({served.kind}). Texts up to "
                                                         f"{limits.max_text:,} characters, bodies up to "
                                                         f"{limits.max_body:,} bytes."},
            "paths": paths}
