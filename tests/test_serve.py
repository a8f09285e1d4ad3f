"""`serve`, the CLI's `--server` mode and `fill -` / `nsp -`: a real server process on a free loopback port with the
tiny checkpoint (shut down with SIGTERM, which must end it cleanly), the Inference API's shapes checked with
huggingface_hub's own InferenceClient, and the same answers as the local CLI. Loopback only."""
from __future__ import annotations

import http.client
import io
import json
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, HF_HUB_OFFLINE="1", BERT_PLAYGROUND_THREADS="1", PYTHONPATH=str(ROOT))
ENV.pop("BERT_PLAYGROUND_SERVER", None)
TEXTS = ["The capital of France is [MASK].", "I had [MASK] for breakfast.", "The [MASK] sat on the mat.",
         "She opened the [MASK] slowly.", "Rain fell [MASK] night.", "Dogs [MASK] loudly."]


def start_server(log: Path, *args: str):
    """A `serve` process on a free loopback port, its log in `log`: (process, port) once it says it serves."""
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "bert_playground", "serve", "--port", "0", *args], cwd=ROOT,
                                env=ENV, stdout=subprocess.PIPE, stderr=err, text=True)
    line = proc.stdout.readline()  # "serving '...' (...) at http://127.0.0.1:PORT ..."
    if "serving" not in line:
        proc.kill()
        raise AssertionError(f"the server did not start: {line}{log.read_text()}")
    return proc, int(line.split("http://127.0.0.1:")[1].split()[0])


def stop_server(proc, log: Path) -> None:
    """SIGTERM: the server must end cleanly (exit 0, no traceback in its log)."""
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in log.read_text(), log.read_text()


@pytest.fixture(scope="module")
def server(tiny_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve") / "server.log"
    proc, port = start_server(log, "--model", str(tiny_dir), "--workers", "2", "--queue", "2", "--max-body", "4096",
                              "--max-text", "300")
    yield f"http://127.0.0.1:{port}"
    stop_server(proc, log)


def request(url: str, path: str, body=None, method: str = "POST", raw: bytes | None = None):
    """(status, headers, parsed JSON body) of one request."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    payload = resp.read()
    conn.close()
    return resp.status, resp.headers, json.loads(payload)


def local(capsys, *argv) -> tuple[int, str, str]:
    """The CLI in this process: (exit status, stdout, stderr)."""
    from bert_playground.cli import main

    capsys.readouterr()
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def remote(*argv, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bert_playground", *argv], cwd=ROOT, env={**ENV, **(env or {})},
                          input=stdin, capture_output=True, text=True, timeout=120)


@contextmanager
def online_for_loopback():
    """huggingface_hub refuses every URL while HF_HUB_OFFLINE is set (read once, at import): lift it for one call."""
    import huggingface_hub.constants as constants

    saved = os.environ.pop("HF_HUB_OFFLINE", None), constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = False
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved[1]
        if saved[0] is not None:
            os.environ["HF_HUB_OFFLINE"] = saved[0]


# ---- the Inference API's shapes -------------------------------------------------------------------------------


def test_health_and_openapi(server, tiny_dir):
    status, _, health = request(server, "/health", method="GET")
    assert status == 200 and health["status"] == "ok" and health["model"] == str(tiny_dir)
    assert health["task"] == "fill-mask" and "fill" in health["commands"] and health["workers"] == 2
    status, _, spec = request(server, "/openapi.json", method="GET")
    assert status == 200 and {"/fill-mask", "/v1/fill", "/v1/nsp", "/health"} <= set(spec["paths"])
    fill = spec["paths"]["/v1/fill"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert fill["top_k"] == {"type": "integer", "default": 5} and fill["model"]["type"] == "array"


def test_inference_client_fill_mask_equals_cli(server, tiny_dir, capsys):
    from huggingface_hub import InferenceClient

    text = "The capital of France is [MASK]."
    status, out, _ = local(capsys, "fill", text, "--model", str(tiny_dir), "--top-k", "5", "--json")
    cli = json.loads(out)["masks"][0]["predictions"]
    assert status == 0 and server.startswith("http://127.0.0.1:")  # loopback only
    with online_for_loopback():
        answer = InferenceClient(model=f"{server}/fill-mask").fill_mask(text, top_k=5)
    assert [a.token for a in answer] == [p["token_id"] for p in cli]
    assert [a.token_str for a in answer] == [p["token"] for p in cli]
    assert [a.score for a in answer] == pytest.approx([p["probability"] for p in cli], abs=1e-4)
    assert all(a.sequence.startswith("the capital of france is") for a in answer)  # one mask: no [CLS]/[SEP]


def test_several_masks_give_a_list_per_mask(server):
    status, _, out = request(server, "/fill-mask", {"inputs": "The [MASK] sat on the [MASK].",
                                                    "parameters": {"top_k": 3}})
    assert status == 200 and len(out) == 2 and all(len(row) == 3 for row in out)
    assert out[0][0]["sequence"].startswith("[CLS] the") and out[0][0]["sequence"].endswith("[MASK]. [SEP]")
    assert request(server, "/", {"inputs": "A [MASK]."})[0] == 200  # / is the model's own task


# ---- /v1/<command>: exactly the CLI's --json output -----------------------------------------------------------

@pytest.mark.parametrize("argv, body", [
    (["represent", "Hello there", "unaffable friend"], {"sent_a": "Hello there", "sent_b": "unaffable friend"}),
    (["nsp", "It rained.", "The streets were wet."], {"argv": ["It rained.", "The streets were wet."]}),
    (["mask", "The cat sat on the mat.", "--seed", "3"], {"text": "The cat sat on the mat.", "seed": 3}),
    (["attention", "The cat sat."], {"sent_a": "The cat sat."}),
    (["fill", "The [mask] sat.", "--top-k", "2"], {"text": "The [mask] sat.", "top_k": 2}),
    (["lens", "The cat sat on the [MASK].", "--top-k", "2"], {"text": "The cat sat on the [MASK].", "top_k": 2}),
    (["tokenize", "unaffable friend", "--steps"], {"text": "unaffable friend", "steps": True}),
    (["ablate", "The cat sat on the [MASK].", "--heads", "1.0,0.3", "--mode", "mean"],  # hooks, then none left
     {"text": "The cat sat on the [MASK].", "heads": "1.0,0.3", "ablation_mode": "mean"}),
    (["patch", "The cat sat on the [MASK].", "The dog sat on the [MASK]."],
     {"clean": "The cat sat on the [MASK].", "corrupted": "The dog sat on the [MASK]."}),
])
def test_commands_answer_exactly_the_cli_json(server, tiny_dir, capsys, argv, body):
    status, out, err = local(capsys, *argv, "--model", str(tiny_dir), "--json")
    assert status == 0
    code, headers, answer = request(server, f"/v1/{argv[0]}", body)
    assert code == 200 and json.dumps(answer, ensure_ascii=False) == out.strip()
    sent = json.loads(headers.get("X-Notices") or "[]")
    assert [f"note: {n}" for n in sent] == notes(err) and (argv[0] != "fill" or sent)


def notes(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("note: ")]


# ---- the CLI against a server --------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["fill", "The [mask] sat on the mat.", "--top-k", "3"],  # with a notice
                                  ["nsp", "It rained.", "The streets were wet."], ["attention", "The cat sat."]])
def test_cli_server_mode_prints_like_the_local_cli(server, tiny_dir, capsys, argv):
    for extra in ([], ["--json"]):
        status, out, err = local(capsys, *argv, "--model", str(tiny_dir), *extra)
        r = remote(*argv, *extra, "--server", server)
        assert status == 0 and r.returncode == 0, r.stderr
        assert r.stdout == out and notes(r.stderr) == notes(err) and "Traceback" not in r.stderr
    by_env = remote(*argv, "--json", env={"BERT_PLAYGROUND_SERVER": server})
    assert by_env.returncode == 0 and by_env.stdout == out


def test_cli_server_errors_are_one_line(server):
    r = remote("fill", "no mask here", "--server", server)
    assert r.returncode == 2 and r.stderr.startswith("error: There is no [MASK]") and len(r.stderr.splitlines()) == 1
    r = remote("finetune", "--train", "x.csv", "--server", server)
    assert r.returncode == 2 and "does not run on a server" in r.stderr
    r = remote("fill", "A [MASK].", "--server", "http://127.0.0.1:9")  # nothing listens on port 9
    assert r.returncode == 1 and "no server answers" in r.stderr and "Traceback" not in r.stderr


def test_which_commands_go_to_the_server(monkeypatch):
    from bert_playground.cli.client import route, split_server

    assert split_server(["fill", "A [MASK].", "--server=http://h:1", "--json"]) == (
        "http://h:1", True, ["fill", "A [MASK].", "--json"])
    monkeypatch.setenv("BERT_PLAYGROUND_SERVER", "http://127.0.0.1:9")
    assert route(["pretrain", "--corpus", "c", "--out", "o"]) == (None, ["pretrain", "--corpus", "c", "--out", "o"])
    assert route(["fill", "--help"]) == (None, ["fill", "--help"])  # help is local
    assert route(["fill", "A [MASK]."])[0] == 1  # sent to the server from the environment (none listens on port 9)


def test_client_path_imports_neither_torch_nor_transformers(server):
    code = ("import sys; from bert_playground.cli import main; s = main(['fill', 'A [MASK].', '--json', '--server', "
            f"{server!r}]); print(s, 'torch' in sys.modules, 'transformers' in sys.modules, file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60)
    assert r.stderr.strip().splitlines()[-1] == "0 False False", r.stderr
    assert json.loads(r.stdout)["masks"][0]["predictions"]


# ---- fill - and nsp -: many queries from standard input -------------------------------------------------------


def test_stdin_batch_locally_and_through_the_server(server, tiny_dir, capsys, monkeypatch):
    lines = "\n".join([TEXTS[0], "", "no mask here", TEXTS[1]]) + "\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    status, out, err = local(capsys, "fill", "-", "--model", str(tiny_dir), "--top-k", "2")
    rows = [json.loads(x) for x in out.splitlines()]
    assert status == 2 and len(rows) == 3 and "error" in rows[1] and "1 of 3 queries failed" in err
    _, one, _ = local(capsys, "fill", TEXTS[1], "--model", str(tiny_dir), "--top-k", "2", "--json")
    assert rows[2] == json.loads(one)
    r = remote("fill", "-", "--top-k", "2", "--server", server, stdin=lines)
    assert r.returncode == 2 and r.stdout == out
    pairs = "It rained.\tThe streets were wet.\nno tab here\n"
    r = remote("nsp", "-", "--server", server, stdin=pairs)
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 2 and "is_next_probability" in out[0] and "tab" in out[1]["error"]


# ---- under load and bad input ----------------------------------------------------------------------------------


def test_concurrent_requests_are_answered_correctly(server, tiny_dir):
    from bert_playground import load
    from bert_playground.objectives.mlm import fill

    bundle = load(str(tiny_dir), "cpu")
    expect = {t: [p.token_id for p in fill(bundle, t, 3).masks[0].predictions] for t in TEXTS}

    def client(i):  # 4 clients at once (2 workers + 2 queued: never refused), each its own texts in turn
        return [(t, request(server, "/fill-mask", {"inputs": t, "parameters": {"top_k": 3}}))
                for t in TEXTS[i:] + TEXTS[:i]]

    with ThreadPoolExecutor(4) as pool:
        results = [r for batch in pool.map(client, range(4)) for r in batch]
    assert all(status == 200 for _, (status, _, _) in results)
    assert all([g["token"] for g in out] == expect[t] for t, (_, _, out) in results)


def test_a_full_queue_answers_503_with_retry_after_then_serves_again(server):
    text = "The capital of France is [MASK], and the Seine runs through it."
    body = {"text": text, "steps": 200}  # slowish: 200 integrated-gradients steps on 16 tokens
    start = threading.Barrier(10)

    def ask(_):
        start.wait()
        return request(server, "/v1/attribute", body)

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(ask, range(10)))
    busy = [(h, out) for status, h, out in answers if status == 503]
    done = [out for status, _, out in answers if status == 200]
    assert len(busy) >= 3 and len(done) >= 2 and len(busy) + len(done) == 10
    assert all(h["Retry-After"] == "1" and "busy" in out["error"] for h, out in busy)
    assert all(out == done[0] for out in done)  # no state between requests
    assert request(server, "/health", method="GET")[0] == 200


@pytest.mark.parametrize("path, body, raw, method, status, says", [
    ("/fill-mask", None, b"{not json", "POST", 400, "not valid JSON"),
    ("/fill-mask", None, b'{"inputs": NaN}', "POST", 400, "not valid JSON"),
    ("/fill-mask", None, b"[" * 100_000, "POST", 413, "4,096"),
    ("/fill-mask", None, b"[" * 2_000 + b"]" * 2_000, "POST", 400, "not valid JSON"),
    ("/fill-mask", {"inputs": "x [MASK] " * 100}, None, "POST", 413, "at most 300"),
    ("/fill-mask", {"inputs": "no mask"}, None, "POST", 422, "There is no [MASK]"),
    ("/fill-mask", {"inputs": 5}, None, "POST", 422, "must be a string"),
    ("/fill-mask", None, b'{"inputs": "A [MASK] \\ud800"}', "POST", 422, "not valid Unicode"),
    ("/fill-mask", {"inputs": "A [MASK].", "parameters": {"targets": ["a"]}}, None, "POST", 422, "targets"),
    ("/fill-mask", {"inputs": "A [MASK].", "parameters": {"top_k": "5"}}, None, "POST", 422, "whole number"),
    ("/fill-mask", {"inputs": "A [MASK].", "parameters": {"top_k": 10_000}}, None, "POST", 413, "at most 100"),
    ("/fill-mask", None, None, "GET", 405, "Method Not Allowed"),
    ("/text-classification", {"inputs": "hi"}, None, "POST", 404, "does not answer"),
    ("/no/such/route", {}, None, "POST", 404, "Not Found"),
    ("/v1/pretrain", {}, None, "POST", 404, "No command"),
    ("/v1/fill", {"text": "A [MASK].", "colour": "red"}, None, "POST", 422, "no argument 'colour'"),
    ("/v1/fill", {"argv": ["A [MASK].", "--top-k", "x"]}, None, "POST", 422, "invalid int value"),
    ("/v1/fill", {"argv": ["--help"]}, None, "POST", 422, "--help"),
    ("/v1/fill", {"text": "-"}, None, "POST", 422, "standard input"),
    ("/v1/fill", {"text": "A [MASK].", "model": ["/etc"]}, None, "POST", 422, "answers with"),
    ("/v1/nsp", {"sent_a": "One."}, None, "POST", 422, "two sentences"),
    ("/v1/neighbours", {"word": "a", "sentence": "a b", "corpus": "/etc/passwd"}, None, "POST", 422, "--corpus"),
    ("/v1/context", {"word": "a", "sentences": ["a"] * 65}, None, "POST", 413, "at most 64"),
])
def test_bad_requests_get_one_line_json_errors(server, path, body, raw, method, status, says):
    code, _, out = request(server, path, body, method, raw)
    assert code == status and set(out) == {"error"} and says in out["error"], out
    assert "\n" not in out["error"] and "Traceback" not in out["error"]
    assert request(server, "/fill-mask", {"inputs": "A [MASK]."})[0] == 200  # and it keeps serving


# ---- fine-tuned checkpoints: the other Inference API tasks ----------------------------------------------------


def finetuned(folder: Path, tiny_dir: Path, cls: str, labels: list[str]) -> Path:
    import transformers

    config = transformers.BertConfig.from_pretrained(str(tiny_dir))
    config.id2label, config.label2id = dict(enumerate(labels)), {x: i for i, x in enumerate(labels)}
    getattr(transformers, cls)(config).save_pretrained(str(folder), safe_serialization=True)
    transformers.AutoTokenizer.from_pretrained(str(tiny_dir)).save_pretrained(str(folder))
    return folder


@contextmanager
def in_process_server(model: str):
    """A server on a loopback port inside this process (uvicorn in a thread), for the fine-tuned kinds."""
    import uvicorn

    from bert_playground.cli.common import holding_models
    from bert_playground.serve.app import build_app
    from bert_playground.serve.limits import Limits
    from bert_playground.serve.model import load_served
    from bert_playground.serve.server import bind

    with holding_models():
        app = build_app(load_served(model, shared=False), Limits(workers=1))
        sock = bind("127.0.0.1", 0)
        server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            server.should_exit = True
            thread.join(10)
            app.state.server.pool.close()


def test_finetuned_tasks_answer_like_the_cli(tmp_path, tiny_dir, capsys):
    from huggingface_hub import InferenceClient

    classifier = finetuned(tmp_path / "cls", tiny_dir, "BertForSequenceClassification", ["pos", "neg", "neutral"])
    with in_process_server(str(classifier)) as url, online_for_loopback():
        got = InferenceClient(model=f"{url}/text-classification").text_classification("Where is my parcel?")
    _, out, _ = local(capsys, "classify", "--model", str(classifier), "Where is my parcel?", "--json")
    probs = json.loads(out)["predictions"][0]["probabilities"]
    assert {g.label: g.score for g in got} == probs and got[0].score == max(probs.values())
    tagger = finetuned(tmp_path / "tag", tiny_dir, "BertForTokenClassification", ["O", "B-person", "I-person"])
    with in_process_server(str(tagger)) as url, online_for_loopback():
        got = InferenceClient(model=f"{url}/token-classification").token_classification("Bill Gates visited Paris")
    _, out, _ = local(capsys, "predict", "--model", str(tagger), "Bill Gates visited Paris", "--json")
    assert [(g.entity_group, g.word, g.start, g.end) for g in got] == [
        (e["label"], e["text"], e["start"], e["end"]) for e in json.loads(out)["entities"]]
    reader = finetuned(tmp_path / "qa", tiny_dir, "BertForQuestionAnswering", ["start", "end"])
    question, context = "Who led the Normans?", "Rollo led the Normans into France."
    with in_process_server(str(reader)) as url, online_for_loopback():
        got = InferenceClient(model=f"{url}/question-answering").question_answering(question=question, context=context)
    _, out, _ = local(capsys, "predict", "--model", str(reader), "--question", question, "--context", context, "--json")
    expect = json.loads(out)
    assert (got.answer, got.start, got.end, got.score) == (expect["answer"], expect["start"], expect["end"],
                                                           expect["probability"])


# ---- a shared server: the app server's path rules ------------------------------------------------------------


def test_a_shared_server_reads_folders_only_below_the_checkpoint_root(tiny_dir, monkeypatch, capsys):
    from bert_playground.cli.common import holding_models
    from bert_playground.serve.limits import RequestError
    from bert_playground.serve.model import is_loopback, load_served

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    monkeypatch.delenv("BERT_PLAYGROUND_CHECKPOINT_ROOT", raising=False)
    status, _, err = local(capsys, "serve", "--host", "0.0.0.0", "--port", "0", "--model", str(tiny_dir))
    assert status == 2 and "does not read local folders" in err  # refused before any port is bound
    monkeypatch.setenv("BERT_PLAYGROUND_CHECKPOINT_ROOT", str(tiny_dir.parent))
    with holding_models():
        served = load_served(tiny_dir.name, shared=True)
        served.check_name(str(tiny_dir.name) + "/")  # the same folder, spelled otherwise
        with pytest.raises(RequestError, match="checkpoint folder"):
            served.check_name("/etc")
