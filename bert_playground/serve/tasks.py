"""The Hugging Face Inference API's request and response shapes for the tasks the playground has, so that its clients
(`huggingface_hub.InferenceClient(model="http://HOST:PORT/fill-mask")`, curl scripts written for the hosted API)
work unchanged. Each task is the CLI command that computes it (its `run_*`, through `commands.run`), and a reshaping
of that command's --json result:

  fill-mask             `fill`      {"inputs": str, "parameters": {"top_k": k}} -> [{"sequence", "score", "token",
                                    "token_str"}, ...] (a list of such lists when the text has several masks)
  text-classification   `classify`  {"inputs": str | {"text", "text_pair"}, "parameters": {"top_k"}} -> [[{"label",
                                    "score"}, ...]] (most probable first)
  token-classification  `predict`   {"inputs": str, "parameters": {"ignore_labels"}} -> [{"entity_group", "score",
                                    "word", "start", "end"}, ...] (entities grouped, as the hosted API's "simple")
  question-answering    `predict`   {"inputs": {"question", "context"}} -> {"answer", "score", "start", "end"}

Parameters the playground cannot honour are refused with 422, never ignored.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

from ..core.errors import shown
from .limits import RequestError

GROUPED = (None, "simple", "first", "average", "max")  # token-classification: the word-level grouping we compute


class Task(NamedTuple):
    command: str  # the CLI command that computes it
    parameters: tuple[str, ...]  # the parameters it honours
    request: Callable  # (inputs, parameters) -> the command's named arguments
    answer: Callable  # (the command's --json result, parameters, served) -> the API's response


def split_body(task: str, body) -> tuple[object, dict]:
    """(inputs, parameters without null values) of an Inference API body; unknown parameters are refused."""
    if not isinstance(body, dict) or "inputs" not in body:
        raise RequestError(422, f"{task} takes a JSON object {{\"inputs\": ..., \"parameters\": {{...}}}}.")
    extra = set(body) - {"inputs", "parameters", "options"}
    if extra:
        raise RequestError(422, f"{task}: unknown field(s) {', '.join(map(shown, sorted(extra)))}.")
    params = body.get("parameters") or {}
    if not isinstance(params, dict):
        raise RequestError(422, "'parameters' must be a JSON object.")
    params = {k: v for k, v in params.items() if v is not None}
    unknown = sorted(set(params) - set(TASKS[task].parameters))
    if unknown:
        raise RequestError(422, f"{task} here takes the parameters {', '.join(TASKS[task].parameters) or 'none'}; "
                                f"not supported: {', '.join(map(shown, unknown))}.")
    return body["inputs"], params


def _text(inputs, what: str = "'inputs'") -> str:
    if not isinstance(inputs, str):
        raise RequestError(422, f"{what} must be a string.")
    return inputs


# ---- fill-mask: `fill` ---------------------------------------------------------------------------


def fill_request(inputs, params) -> dict:
    return {"text": _text(inputs), "top_k": params.get("top_k", 5)}


def fill_answer(result: dict, params, served) -> list:
    """The hosted API's shape from `fill --json`: each guess's token id and decoded string, and the input with the
    guess in place, decoded like the transformers pipeline (special tokens dropped when there is one mask)."""
    tok = served.model.tokenizer
    ids = tok.convert_tokens_to_ids(result["tokens"])
    single = len(result["masks"]) == 1
    rows = []
    for mask in result["masks"]:
        row = []
        for p in mask["predictions"]:
            filled = list(ids)
            filled[mask["position"]] = p["token_id"]
            row.append({"sequence": tok.decode(filled, skip_special_tokens=single), "score": p["probability"],
                        "token": p["token_id"], "token_str": tok.decode([p["token_id"]])})
        rows.append(row)
    return rows[0] if single else rows


# ---- text-classification: `classify` -------------------------------------------------------------


def classify_request(inputs, params) -> dict:
    fn = params.get("function_to_apply", "softmax")
    if fn != "softmax":
        raise RequestError(422, "function_to_apply: the classifier's probabilities are a softmax; only 'softmax'.")
    _positive(params.get("top_k", 1), "top_k")
    if isinstance(inputs, dict):  # a sentence pair, as the hosted API takes it
        if set(inputs) != {"text", "text_pair"}:
            raise RequestError(422, "A pair is {\"text\": ..., \"text_pair\": ...}.")
        return {"texts": [_text(inputs["text"], "'text'") + "\t" + _text(inputs["text_pair"], "'text_pair'")]}
    return {"texts": [_text(inputs)]}


def classify_answer(result: dict, params, served) -> list:
    probs = result["predictions"][0]["probabilities"]
    ranked = sorted(probs.items(), key=lambda kv: -kv[1])[:params.get("top_k", len(probs))]
    return [[{"label": label, "score": score} for label, score in ranked]]


def _positive(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestError(422, f"'{name}' must be a positive whole number.")
    return value


# ---- token-classification and question-answering: `predict` --------------------------------------


def tag_request(inputs, params) -> dict:
    if params.get("aggregation_strategy") not in GROUPED:
        raise RequestError(422, "aggregation_strategy: this tagger answers whole entities ('simple'), not tokens.")
    ignore = params.get("ignore_labels", ["O"])
    if not isinstance(ignore, list) or not all(isinstance(x, str) for x in ignore):
        raise RequestError(422, "'ignore_labels' must be a list of strings.")
    return {"text": _text(inputs)}


def tag_answer(result: dict, params, served) -> list:
    ignore = set(params.get("ignore_labels", ["O"]))
    return [{"entity_group": e["label"], "score": e["probability"], "word": e["text"], "start": e["start"],
             "end": e["end"]} for e in result["entities"] if e["label"] not in ignore]


def qa_request(inputs, params) -> dict:
    if params.get("top_k", 1) != 1:
        raise RequestError(422, "top_k: this reader answers its one best span (top_k 1).")
    if not isinstance(inputs, dict) or set(inputs) != {"question", "context"}:
        raise RequestError(422, "question-answering takes {\"inputs\": {\"question\": ..., \"context\": ...}}.")
    return {"question": _text(inputs["question"], "'question'"), "context": _text(inputs["context"], "'context'")}


def qa_answer(result: dict, params, served) -> dict:
    return {"answer": result["answer"], "score": result["probability"], "start": result["start"], "end": result["end"]}


TASKS = {
    "fill-mask": Task("fill", ("top_k",), fill_request, fill_answer),
    "text-classification": Task("classify", ("top_k", "function_to_apply"), classify_request, classify_answer),
    "token-classification": Task("predict", ("aggregation_strategy", "ignore_labels"), tag_request, tag_answer),
    "question-answering": Task("predict", ("top_k",), qa_request, qa_answer),
}
