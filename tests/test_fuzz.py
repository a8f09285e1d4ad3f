"""Every reader of user input, fuzzed (Hypothesis): for generated inputs — random bytes, deep nesting, YAML alias
bombs, invalid UTF-8, control characters, huge sizes — it returns a result or raises the package's own
user-facing error (PlaygroundError), never another exception, within a stated time and memory bound, and its
message is short and does not repeat the input."""
from __future__ import annotations

import json
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bert_playground import PlaygroundError, datasets
from bert_playground.checkpoints import compare, folders
from bert_playground.classroom import lessons
from bert_playground.core import parsing
from bert_playground.inputs import corpus
from playground_ui import state

SECONDS = 5.0  # one parse, whatever the input
MEGABYTES = 100  # Python memory one parse may allocate at its peak
MESSAGE = 400  # characters of an error message
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def nested(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


def alias_bomb(levels: int, fan: int) -> str:
    """The billion-laughs document: each level a list of `fan` aliases of the level below."""
    lines = ["a0: &a0 [lol]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]")
    return "\n".join(lines) + "\n"


HOSTILE_TEXT = st.one_of(
    st.text(max_size=3000),
    st.text(alphabet=st.characters(max_codepoint=0x20), max_size=500),  # control characters
    st.integers(1, 60_000).map(nested),
    st.integers(1, 60_000).map(lambda n: nested(n, "{a: ", "}")),
    st.integers(1, 3_000).map(lambda n: "- " * n + "x"),  # block nesting
    st.builds(alias_bomb, st.integers(1, 12), st.integers(2, 10)),
)
HOSTILE_BYTES = st.one_of(
    st.binary(max_size=3000),
    st.binary(max_size=500).map(lambda b: b"\xff\xfe" + b),  # invalid UTF-8
    HOSTILE_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
)


def within_bounds(read, raw):
    """Run one reader: (result or the PlaygroundError) after checking the time, memory and message bounds."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        out = read(raw)
    except PlaygroundError as exc:
        out = exc
        msg = str(exc)
        assert len(msg) <= MESSAGE and "\n" not in msg.strip(), msg[:200]
        if isinstance(raw, (str, bytes)) and len(raw) > 600:
            assert (raw if isinstance(raw, str) else raw.decode("utf-8", "replace"))[:300] not in msg
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.perf_counter() - t0 < SECONDS
    assert peak < MEGABYTES * 2**20, f"{peak / 2**20:.0f} MB"
    return out


@FUZZ
@given(HOSTILE_BYTES)
@example(alias_bomb(9, 9).encode())  # the hostile tester's 518-byte document
@example(nested(100_000).encode())
@example(b"x" * (lessons.MAX_BYTES + 1))
def test_lesson_sets_from_files(raw):
    within_bounds(lambda r: lessons.parse(r, "set.yaml"), raw)


@FUZZ
@given(st.one_of(st.text(max_size=7000), st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123456789-_", max_size=7000).map(lambda t: "1." + t)))
def test_lesson_sets_from_links(code):
    within_bounds(lessons.decode_link, code)


def test_alias_bombs_in_links_are_refused_quickly():
    """The 226-character link that took a server to 3.5 GB: a packed alias bomb."""
    import base64
    import zlib

    code = "1." + base64.urlsafe_b64encode(zlib.compress(alias_bomb(9, 9).encode(), 9)).decode().rstrip("=")
    err = within_bounds(lessons.decode_link, code)
    assert isinstance(err, PlaygroundError) and "aliases" in str(err)


@FUZZ
@given(HOSTILE_BYTES)
@example(b"text,label\n" + b"=HYPERLINK(\"x\"),1\n" * 3)
def test_tables(raw):
    within_bounds(lambda r: datasets.read_table(r, "data.csv"), raw)


@FUZZ
@given(HOSTILE_BYTES)
def test_conll(raw):
    within_bounds(lambda r: datasets.read_conll(r, "data.conll"), raw)


@FUZZ
@given(st.one_of(HOSTILE_BYTES, st.integers(1, 100_000).map(lambda n: ('{"data": ' + nested(n) + "}").encode())))
@example(('{"data": ' + nested(100_000) + "}").encode())
def test_squad(raw):
    within_bounds(lambda r: datasets.read_squad(r, "data.json"), raw)


@FUZZ
@given(st.one_of(HOSTILE_TEXT, st.text(max_size=2000)))
def test_cloze_sheets(text):
    within_bounds(compare.read_sheet, text)


@FUZZ
@given(st.lists(st.one_of(st.text(max_size=300), st.sampled_from(['<doc id="1" title="T">', "</doc>", "T"])), max_size=200))
def test_wikiextractor_and_pasted_documents(lines):
    within_bounds(lambda ls: list(corpus.parse_wikiextractor(ls)), lines)
    within_bounds(corpus.parse_pasted, "\n".join(lines))


PARAMS = [state.Param("t", "t", "", str), state.Param("n", "n", 0, int, 0, 10), state.Param("x", "x", 0.5, float, 0, 1),
          state.Param("b", "b", False, bool), state.Param("c", "c", "a", choices=("a", "b"))]


@FUZZ
@given(st.sampled_from(PARAMS), st.one_of(st.text(max_size=3000), st.from_regex(r"-?\d{1,60}(\.\d{0,5})?(e-?\d{1,4})?")))
def test_query_parameters(param, raw):
    """A link's value: the parameter's value or a ValueError with a reason (the page turns it into a note)."""
    try:
        value, note = param.parse(raw)
    except ValueError as why:
        assert len(str(why)) < 100
        return
    if param.kind in (int, float):
        assert param.lo <= value <= param.hi
    if param.kind is str:
        assert len(value) <= param.max_len


@FUZZ
@given(st.one_of(HOSTILE_TEXT, st.dictionaries(st.text(max_size=20), st.one_of(st.text(max_size=30), st.integers(), st.none()), max_size=20).map(json.dumps)))
@example(nested(100_000))
@example('{"model_type": "bert", "auto_map": {"AutoModel": "x.Y"}, "num_hidden_layers": "six"}')
def test_checkpoint_config_json(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("ckpt")
    (folder / "config.json").write_text(text, encoding="utf-8", errors="surrogatepass")
    within_bounds(lambda f: folders.read_config(f, "ckpt"), folder)


@FUZZ
@given(st.binary(max_size=2000), st.integers(0, 2**64 - 1))
def test_safetensors_headers(tmp_path_factory, body, length):
    f = tmp_path_factory.mktemp("st") / "model.safetensors"
    f.write_bytes(length.to_bytes(8, "little") + body)
    try:
        folders.safetensors_header(str(f))
    except ValueError as why:  # folders.weight_keys turns it into the CheckpointError a user reads
        assert len(str(why)) < 100


@pytest.mark.parametrize("depth", [parsing.MAX_DEPTH, parsing.MAX_DEPTH + 1])
def test_the_depth_limit_is_exact(depth):
    text = nested(depth)
    if depth <= parsing.MAX_DEPTH:
        assert parsing.load_json(text, "x") is not None and parsing.load_yaml(text, "x") is not None
    else:
        for load in (parsing.load_json, parsing.load_yaml):
            with pytest.raises(PlaygroundError, match="levels deep"):
                load(text, "x")


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=400), st.text(max_size=12), st.text(max_size=25),
       st.binary(max_size=40).map(lambda b: b.decode("utf-8", "surrogateescape")))
def test_cli_arguments(tiny_dir, text, rate, seed, raw_bytes):
    """The CLI on hostile arguments (any text, numbers that are not, bytes that are not UTF-8): exit 0, or one line
    `error: ...` and exit 2; never a traceback or another exit code."""
    import contextlib
    import io

    from bert_playground import cli

    for argv in (["mask", text, "--rate", rate, "--seed", seed, "--model", str(tiny_dir)],
                 ["mask", raw_bytes or "x", "--model", str(tiny_dir)], ["represent", text + raw_bytes, "--model", str(tiny_dir)]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = cli.main(argv)
            except SystemExit as exit_:  # argparse's own refusal (an unknown option, a bad number)
                code = exit_.code
        lines = [ln for ln in err.getvalue().splitlines() if not ln.startswith("note:")]
        assert code in (0, 2), (argv, err.getvalue()[-500:])
        assert "Traceback" not in err.getvalue()
        if code == 2:
            assert len(lines) == 1 and lines[0].startswith("error: ")
