"""A catalogue of hostile and odd inputs across the package, the CLI and every page.

Each input must give a clear `PlaygroundError` (package), a non-zero exit with one `error: ...` line
(CLI) or a clear message on the page (UI) — or simply work — never a traceback; user text is shown as
text (never inside a Markdown element), stays in its widget, and the session keeps working afterwards.
Runs on the tiny random checkpoint of conftest (fast, CI).
"""
from __future__ import annotations

import pickle
import shutil

import pytest

from bert_playground import PlaygroundError

from apphelp import FILL, MLM_TAB, ROOT, open_tab

LONG = "word " * 10_000  # 50,000 characters
HOSTILE = {
    "empty": "",
    "whitespace": " \t\n\u00a0\u3000 ",
    "50k chars": LONG,
    "NUL and control": "a\x00b\x01c\x1b[31mred\x7f\x9b zero\u200bwidth",
    "emoji": "I 😀 love 👍🏽 my 👨‍👩‍👧 family 🎉",
    "CJK": "北京是中国的首都。東京は日本の首都です。",
    "right-to-left": "مرحبا بالعالم שלום עולם \u202eevil\u202c",
    "combining": "Ze\u0301\u0301\u0301 Z̷̢͓̈́a̸̡͝l̵g̷o̴ cafe\u0301",
    "script tag": "<script>alert('pwned')</script><img src=x onerror=alert(1)>",
    "markdown/html": "**bold** [click](https://evil.example) ![img](https://evil.example/x.png) <b>hi</b> $x^2$",
    "only special tokens": "[CLS] [SEP] [PAD] [UNK]",
    "mask spellings": "[mask] <mask> [ MASK ] <MASK] and MASK",
    "zero-width only": "\u200b\u200c\u200d\u2060\ufeff",  # issue 19: read as empty, never as a 2 x 2 map
    "typed [SEP]/[CLS]": "the cat [SEP] sat [CLS] down",  # issue 19: read as special tokens, and every page says so
}
INJECTIONS = {"<script>alert('pwned')</script>", "[click](https://evil.example)", "**bold**", "<b>hi</b>",
              "![img](https://evil.example/x.png)", "$x^2$"}
MARKDOWN_KINDS = ("markdown", "caption", "error", "warning", "info", "success", "exception")


# ---- helpers --------------------------------------------------------------------------------

def markdown_leaks(at, raw: str) -> list[str]:
    """Elements rendered as Markdown that contain a raw injection string taken from the user's input."""
    found = []
    for bit in [s for s in INJECTIONS if s in raw]:
        for kind in MARKDOWN_KINDS:
            for el in at.get(kind):
                if bit in str(getattr(el, "value", "")) or bit in str(getattr(el, "message", "")):
                    found.append(f"{kind}: {bit}")
    return found


def page_ok(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("exception")


def no_traceback(text: str):
    assert "Traceback" not in text and 'File "' not in text, text


# ---- checkpoint fixtures --------------------------------------------------------------------

class Boom:
    """Unpickling this would create a file: proof that a pickle was (not) loaded."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def bad_dirs(tmp_path_factory, tiny_dir):
    base = tmp_path_factory.mktemp("bad")
    out = {}

    def variant(name, change):
        d = base / name
        shutil.copytree(tiny_dir, d)
        change(d)
        out[name] = d

    variant("no_weights", lambda d: (d / "model.safetensors").unlink())
    marker = base / "PICKLE_WAS_LOADED"
    out["marker"] = marker

    def pickle_only(d):
        (d / "model.safetensors").unlink()
        (d / "pytorch_model.bin").write_bytes(pickle.dumps(Boom(marker)))

    variant("pickle_only", pickle_only)
    variant("corrupt_weights", lambda d: (d / "model.safetensors").write_bytes(b"\x00garbage" * 100))
    variant("config_not_json", lambda d: (d / "config.json").write_text("{this is not json"))
    variant("config_a_list", lambda d: (d / "config.json").write_text("[1, 2, 3]"))
    variant("roberta", lambda d: (d / "config.json").write_text(
        (d / "config.json").read_text().replace('"model_type": "bert"', '"model_type": "roberta"')))
    variant("no_tokenizer", lambda d: [(d / f).unlink() for f in ("tokenizer.json", "vocab.txt") if (d / f).exists()])
    out["empty_dir"] = base / "empty_dir"
    out["empty_dir"].mkdir()
    return out


# ---- data files -----------------------------------------------------------------------------

def _rows(n, labels=("pos", "neg")):
    return "".join(f"example sentence number {i},{labels[i % len(labels)]}\n" for i in range(n))


FILES = {
    "csv 0 rows": ("zero.csv", b"text,label\n", "no data rows"),
    "csv empty file": ("empty.csv", b"", "is empty"),
    "csv 1 class": ("one.csv", ("text,label\n" + _rows(20, ("pos",))).encode(), "only one class"),
    "csv broken quoting": ("quote.csv", b'text,label\n"never closed,pos\nfine,neg\n', "different number of columns"),
    "csv ragged rows": ("ragged.csv", b"text,label\na,b,c\nd,e\n", "different number of columns"),
    "csv non-UTF-8": ("latin1.csv", "text,label\ncaf\xe9 au lait,pos\nthé,neg\n".encode("latin-1"), "not UTF-8"),
    "csv NUL bytes": ("nul.csv", b"text,label\nx\x00y,pos\n", "NUL"),
    "csv binary": ("image.csv", bytes(range(256)) * 4, "not UTF-8"),
    "csv over the cap": ("big.csv", b"text,label\n" + b"x" * (10 * 2**20 + 1) + b",pos\n", "limit is 10 MB"),
    "csv too few rows": ("few.csv", ("text,label\n" + _rows(4)).encode(), "at least 10"),
    "csv empty label": ("nolabel.csv", ("text,label\n" + _rows(12) + "orphan,\n").encode(), "no label"),
    "csv NaN label": ("nan.csv", ("text,label\n" + _rows(12) + "orphan,NaN\nstray,nan\n").encode(), "missing values"),
    "csv 1 row per class": ("single.csv", ("text,label\n" + "".join(f"row {i},c{i}\n" for i in range(12))).encode(),
                            "single row per class"),
}


# ============================================================================================
# 1. Package
# ============================================================================================

def _fill(text, k=5):
    from bert_playground.objectives.mlm import fill
    return lambda b: fill(b, text, k)


def _represent(a, b_=None):
    from bert_playground.inputs.representation import represent
    return lambda b: represent(b, a, b_)


def _nsp(a, b_):
    from bert_playground.objectives.nsp import score_text
    return lambda b: score_text(b, a, b_)


def _attention(a, b_=None):
    from bert_playground.interpret.attention import compute
    return lambda b: compute(b, a, b_)


def _mask(text, rate=0.15):
    from bert_playground.objectives.masking import MaskingConfig, mask_text
    return lambda b: mask_text(b.tokenizer, text, MaskingConfig(rate=rate), 0)


def _ft(**kw):
    from bert_playground import finetune as F
    return lambda b: F.validate(F.FinetuneConfig(**kw), b)


def _table(key):
    from bert_playground import datasets
    name, raw, _ = FILES[key]

    def go(b):
        t = datasets.read_table(raw, name)
        return datasets.split_holdout(datasets.to_labelled(t, *datasets.guess_columns(t)[::2]))
    return go


# ---- what a user checks when a hostile input "simply works" ---------------------------------

VOCAB = 30522  # the tiny checkpoints use bert-base-uncased's vocabulary (conftest)


def _framed(tokens, max_len=512):
    """[CLS] ... [SEP], something in between, within the model's maximum length."""
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and 2 < len(tokens) <= max_len, tokens[:8]


def _says(result, text):
    assert any(text in n for n in result.notices), result.notices


def _rep(*words, cut=False, pair=False):
    """A representation: framed, one row per token with positions 0..T-1, the typed words among the tokens,
    cut to 512 exactly when the input was longer, segment B only for a pair (starting after the first [SEP])."""
    def check(rep):
        e, rows = rep.encoding, rep.rows()
        _framed(e.tokens)
        assert [r["position"] for r in rows] == list(range(len(e))) and [r["token"] for r in rows] == list(e.tokens)
        assert e.truncated == cut and (len(e) == 512 and e.full_length > 512 if cut else e.full_length == len(e))
        assert all(w in e.tokens for w in words), (words, e.tokens)
        segs = list(e.token_type_ids)
        b = segs.index(1) if 1 in segs else None
        assert (b is not None) == pair and (b is None or (e.tokens[b - 1] == "[SEP]" and 0 not in segs[b:]))
    return check


def _fill_ok(n_masks, k=5, notice=None):
    """Fill results: one prediction list of k per mask, most probable first, the best guess in the filled text,
    and the expected notice (or none)."""
    def check(res):
        assert len(res.masks) == n_masks
        for m in res.masks:
            probs = [p.probability for p in m.predictions]
            assert len(probs) == k and probs == sorted(probs, reverse=True) and 0 < probs[0] <= 1
            assert res.tokens[m.position] == res.mask_token
        assert all(m.predictions[0].token.removeprefix("##") in res.filled for m in res.masks)
        assert (notice is None and res.notices == ()) or any(notice in n for n in res.notices), res.notices
    return check


def _fill_all_vocab(res):
    """top-k above the vocabulary: the whole vocabulary, once each, summing to 1."""
    (m,) = res.masks
    assert len(m.predictions) == VOCAB and len({p.token_id for p in m.predictions}) == VOCAB
    assert sum(p.probability for p in m.predictions) == pytest.approx(1.0, abs=1e-3)


def _nsp_ok(cut=False):
    """An NSP score: [CLS] A [SEP] B [SEP] within 512 tokens, P(IsNext) = softmax of the two logits."""
    def check(s):
        import math
        p = s.packed
        _framed(p.tokens)
        assert p.tokens.count("[SEP]") == 2 and p.tokens[p.b_start - 1] == "[SEP]" and 1 < p.b_start < len(p) - 1
        assert p.truncated == cut and (len(p) == 512 if cut else True)
        a, b = s.head_output
        assert s.is_next_probability == pytest.approx(1 / (1 + math.exp(b - a)), abs=1e-5)
        assert s.prediction == ("IsNext" if s.is_next_probability >= 0.5 else "NotNext")
    return check


def _attention_ok(cut=False, pair=False):
    """Attention maps: (L, H, T, T) over the tokens shown, every row a distribution, a notice when cut."""
    def check(maps):
        import numpy as np
        L, H, T, T2 = maps.attentions.shape
        assert T == T2 == len(maps.tokens) and (T == 512 if cut else T < 512)
        assert np.allclose(maps.attentions.sum(-1), 1, atol=1e-4) and (maps.attentions >= 0).all()
        assert (maps.sentence_b_start is not None) == pair
        assert any("cut" in n and n.level == "warning" for n in maps.notices) == cut
    return check


def _masked_ok(rate=0.15):
    """BERT masking of a long text: every token kept (no length limit), the chosen share within 3 sigma."""
    def check(m):
        import math
        n = len(m.tokens) - 2
        chosen = sum(lab is not None for lab in (r["label"] for r in m.rows()))
        assert len(m.input_tokens) == len(m.tokens) == len(m.rows()) and n == 10_000
        assert abs(chosen - rate * n) <= 3 * math.sqrt(n * rate * (1 - rate)), chosen
    return check


OK = None  # expected: no error (a case with a check function asserts what the user would check too)
PACKAGE = [
    # text, every entry point
    ("represent empty", _represent(""), "empty"),
    ("represent whitespace", _represent(HOSTILE["whitespace"]), "empty"),
    ("represent None", _represent(None), "empty"),
    ("represent not a string", _represent(12345), "must be a string"),
    ("represent 50k chars", _represent(LONG), _rep("word", cut=True)),
    ("represent 50k chars pair", _represent(LONG, LONG), _rep("word", cut=True, pair=True)),
    ("represent NUL/control", _represent(HOSTILE["NUL and control"]), _rep("a", "b", "c", "zero")),
    ("represent only NUL", _represent("\x00\x01\x02"), "empty"),
    ("represent emoji", _represent(HOSTILE["emoji"]), _rep("love", "family", "[UNK]")),
    ("represent CJK", _represent(HOSTILE["CJK"]), _rep("北", "京", "中", "国")),
    ("represent RTL", _represent(HOSTILE["right-to-left"]), _rep("م", "evil")),
    ("represent combining", _represent(HOSTILE["combining"]), _rep("ze", "cafe")),
    ("represent script", _represent(HOSTILE["script tag"]), _rep("<", "script", "alert", ">")),
    ("represent special tokens", _represent(HOSTILE["only special tokens"]), _rep("[PAD]", "[UNK]")),
    ("represent special tokens are said", _represent("a [SEP] b"),
     lambda rep: _says(rep, "[SEP] in your text is read as the model's own special token")),
    ("represent zero-width only", _represent(HOSTILE["zero-width only"]), "empty"),
    ("attention zero-width only", _attention(HOSTILE["zero-width only"]), "empty"),
    ("fill no mask", _fill("The cat sat on the mat."), "There is no [MASK]"),
    ("fill only special tokens", _fill(HOSTILE["only special tokens"]), "There is no [MASK]"),
    ("fill mask spellings", _fill(HOSTILE["mask spellings"]), _fill_ok(4, notice="Read '[mask]'")),
    ("fill only masks", _fill("[MASK] [MASK] [MASK]"), _fill_ok(3, notice="only masks")),
    ("fill mask after 512 tokens", _fill(LONG + " [MASK]"), _fill_ok(1, notice="window around the masks")),
    ("fill 50k with early mask", _fill("[MASK] " + LONG), _fill_ok(1, notice="reads the first 512")),
    ("fill top-k 0", _fill("a [MASK] b", 0), "top-k"),
    ("fill top-k negative", _fill("a [MASK] b", -3), "top-k"),
    ("fill top-k not int", _fill("a [MASK] b", 2.5), "top-k"),
    ("fill top-k huge", _fill("a [MASK] b", 10**9), _fill_all_vocab),
    ("fill emoji+mask", _fill("😀 [MASK] 🎉"), _fill_ok(1, notice="only masks")),
    ("fill script+mask", _fill("<script>[MASK]</script>"), _fill_ok(1)),
    ("nsp empty B", _nsp("A sentence.", ""), "empty"),
    ("nsp both 50k", _nsp(LONG, LONG), _nsp_ok(cut=True)),
    ("nsp control chars", _nsp("\x00\x1b", "B"), "empty"),
    ("nsp CJK/RTL", _nsp(HOSTILE["CJK"], HOSTILE["right-to-left"]), _nsp_ok()),
    ("attention empty", _attention("   "), "empty"),
    ("attention 50k", _attention(LONG), _attention_ok(cut=True)),
    ("attention emoji pair", _attention(HOSTILE["emoji"], HOSTILE["combining"]), _attention_ok(pair=True)),
    ("mask rate negative", _mask("some words here", -0.1), "between 0 and 1"),
    ("mask rate 2", _mask("some words here", 2.0), "between 0 and 1"),
    ("mask rate NaN", _mask("some words here", float("nan")), "between 0 and 1"),
    ("mask empty text", _mask(""), "empty"),
    ("mask 50k", _mask(LONG), _masked_ok()),
    ("mask special tokens are said", _mask(HOSTILE["typed [SEP]/[CLS]"]),
     lambda m: _says(m, "[SEP], [CLS] in your text is read as the model's own special token")),
    ("nsp special tokens are said", _nsp("A sentence.", HOSTILE["typed [SEP]/[CLS]"]),
     lambda s: _says(s.packed, "[SEP], [CLS] in your text is read as the model's own special token")),
    ("attention special tokens are said", _attention(HOSTILE["typed [SEP]/[CLS]"]),
     lambda m: _says(m, "[SEP], [CLS] in your text is read as the model's own special token")),
    # hyper-parameters
    ("finetune epochs negative", _ft(epochs=-1), "epochs"),
    ("finetune epochs huge", _ft(epochs=10**9), "epochs"),
    ("finetune batch 0", _ft(batch_size=0), "batch size"),
    ("finetune lr huge", _ft(lr=1e9), "lr"),
    ("finetune lr NaN", _ft(lr=float("nan")), "lr"),
    ("finetune lr negative", _ft(lr=-1e-3), "lr"),
    ("finetune max_length 10**6", _ft(max_length=10**6), "max length"),
    ("finetune layers 99", _ft(layers=99), "layers"),
    ("finetune layers 0", _ft(layers=0), "layers"),
    ("finetune unknown mode", _ft(mode="turbo"), "mode"),
    # data files
    *[(name, _table(name), FILES[name][2]) for name in FILES],
]


@pytest.mark.parametrize("case, call, expect", PACKAGE, ids=[c[0] for c in PACKAGE])
def test_package(tiny, case, call, expect):
    if expect is OK or callable(expect):
        result = call(tiny)
        if callable(expect):
            expect(result)
    else:
        with pytest.raises(PlaygroundError) as info:
            call(tiny)
        msg = str(info.value)
        assert expect in msg, msg
        assert msg and "\n" not in msg.strip() and len(msg) < 600, msg


CHECKPOINTS = [  # (case, name or bad_dirs key, message)
    ("nonexistent folder", "/no/such/checkpoint", "does not exist"),
    ("empty folder", "empty_dir", "no config.json"),
    ("folder without weights", "no_weights", "no *.safetensors"),
    ("pickle-only checkpoint", "pickle_only", "pickle"),
    ("corrupt safetensors", "corrupt_weights", "could not be read"),
    ("config not JSON", "config_not_json", "unreadable config.json"),
    ("config a list", "config_a_list", "not a JSON object"),
    ("not a BERT", "roberta", "'roberta' checkpoint"),
    ("no tokenizer", "no_tokenizer", "no tokenizer"),
    ("Hub id while offline", "nobody-xyz/no-such-model-4242", "offline"),
    ("invalid Hub id", "a/b/c d", "neither an existing folder nor a valid"),
    ("empty name", "   ", "No checkpoint named"),
    ("NUL in name", "/tmp/\x00evil", "control characters"),
    ("50k-character name", "x" * 50_000, "too long"),
    ("path component too long", "/" + "x" * 900, "does not exist"),
]


@pytest.mark.parametrize("case, name, expect", CHECKPOINTS, ids=[c[0] for c in CHECKPOINTS])
def test_checkpoint_refused(bad_dirs, case, name, expect):
    from bert_playground.checkpoints.models import load
    from bert_playground.core.errors import CheckpointError

    path = str(bad_dirs[name]) if name in bad_dirs else name
    with pytest.raises(CheckpointError) as info:
        load(path, "cpu")
    assert expect in str(info.value), str(info.value)
    assert not bad_dirs["marker"].exists(), "a pickle file was unpickled"


def test_classroom_mode_refuses_paths_and_other_ids(monkeypatch, tiny_dir):
    from bert_playground.checkpoints.models import load
    from bert_playground.core.errors import CheckpointError

    monkeypatch.setenv("BERT_PLAYGROUND_ALLOWED_MODELS", "embedded, prajjwal1/bert-tiny")
    for name in (str(tiny_dir), "../../etc", "bert-base-uncased", "/etc/passwd"):
        with pytest.raises(CheckpointError, match="classroom mode"):
            load(name, "cpu")


# ============================================================================================
# 2. CLI (in-process main(): the same code path as `python -m bert_playground`, much faster)
# ============================================================================================

def _cli_cases(tiny_dir, bad_dirs, tmp_path):
    m = ["--model", str(tiny_dir)]
    files = {}
    for key in ("csv 0 rows", "csv non-UTF-8", "csv 1 class", "csv broken quoting", "csv NaN label"):
        name, raw, _ = FILES[key]
        files[key] = tmp_path / name
        files[key].write_bytes(raw)
    good = tmp_path / "good.csv"
    good.write_text("text,label\n" + _rows(20))
    return [
        ("fill empty", ["fill", "", *m], "empty"),
        ("fill no mask", ["fill", "no mask here", *m], "There is no [MASK]"),
        ("fill top-k 0", ["fill", "a [MASK]", "--top-k", "0", *m], "top-k"),
        ("fill top-k not a number", ["fill", "a [MASK]", "--top-k", "many", *m], "invalid int"),
        ("represent NUL only", ["represent", "\x01\x02", *m], "empty"),
        ("attention zero-width only", ["attention", "\u200b\u200c", *m], "empty"),
        ("mask huge seed", ["mask", "some text", "--seed", "99999999999999999999", *m], "seed must be"),
        ("mask negative seed", ["mask", "some text", "--seed", "-1", *m], "seed must be"),
        ("finetune NaN labels", ["finetune", "--train", str(files["csv NaN label"]), "--mode", "baseline"],
         "missing values"),
        ("nsp empty B", ["nsp", "One.", "   ", *m], "empty"),
        ("attention whitespace", ["attention", " \t ", *m], "empty"),
        ("mask rate 5", ["mask", "some text", "--rate", "5", *m], "between 0 and 1"),
        ("nonexistent checkpoint", ["represent", "hi", "--model", "/no/such/dir"], "does not exist"),
        ("pickle-only checkpoint", ["represent", "hi", "--model", str(bad_dirs["pickle_only"])], "pickle"),
        ("folder without weights", ["fill", "a [MASK]", "--model", str(bad_dirs["no_weights"])], "safetensors"),
        ("corrupt weights", ["nsp", "a", "b", "--model", str(bad_dirs["corrupt_weights"])], "could not be read"),
        ("Hub id offline", ["represent", "hi", "--model", "nobody-xyz/no-such-model-4242"], "offline"),
        ("finetune csv 0 rows", ["finetune", "--train", str(files["csv 0 rows"]), "--mode", "baseline"], "no data rows"),
        ("finetune non-UTF-8", ["finetune", "--train", str(files["csv non-UTF-8"]), "--mode", "baseline"], "not UTF-8"),
        ("finetune 1 class", ["finetune", "--train", str(files["csv 1 class"]), "--mode", "baseline"], "one class"),
        ("finetune broken quoting", ["finetune", "--train", str(files["csv broken quoting"]), "--mode", "baseline"],
         "different number of columns"),
        ("finetune missing file", ["finetune", "--train", str(tmp_path / "nope.csv")], "does not exist"),
        ("finetune negative epochs", ["finetune", "--train", str(good), "--epochs", "-3", "--mode", "baseline"], "epochs"),
        ("finetune huge lr", ["finetune", "--train", str(good), "--lr", "1e9", "--mode", "baseline"], "lr"),
        ("finetune zero batch", ["finetune", "--train", str(good), "--batch-size", "0", "--mode", "baseline"], "batch size"),
        ("finetune layers 99", ["finetune", "--train", str(good), "--layers", "99", *m], "layers"),
        ("classify no such model", ["classify", "--model", str(tmp_path / "nothing"), "hello"], "is not a folder"),
        ("classify a pre-training checkpoint", ["classify", "--model", str(tiny_dir), "hello"], "not a fine-tuned"),
        ("unknown command", ["explode"], "invalid choice"),
        ("unknown option", ["fill", "a [MASK]", "--temperature", "9"], "unrecognized"),
    ]


@pytest.fixture(scope="module")
def cli_cases(tiny_dir, bad_dirs, tmp_path_factory):
    return {c[0]: c for c in _cli_cases(tiny_dir, bad_dirs, tmp_path_factory.mktemp("cli"))}


CLI_NAMES = ["fill empty", "fill no mask", "fill top-k 0", "fill top-k not a number", "represent NUL only",
             "attention zero-width only", "mask huge seed", "mask negative seed", "finetune NaN labels",
             "nsp empty B", "attention whitespace", "mask rate 5", "nonexistent checkpoint", "pickle-only checkpoint",
             "folder without weights", "corrupt weights", "Hub id offline", "finetune csv 0 rows",
             "finetune non-UTF-8", "finetune 1 class", "finetune broken quoting", "finetune missing file",
             "finetune negative epochs", "finetune huge lr", "finetune zero batch", "finetune layers 99",
             "classify no such model", "classify a pre-training checkpoint", "unknown command", "unknown option"]


@pytest.mark.parametrize("case", CLI_NAMES)
def test_cli(cli_cases, case, capsys, bad_dirs):
    from bert_playground.cli import main

    _, argv, expect = cli_cases[case]
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse errors exit from inside parse_args
        rc = exc.code
    out, err = capsys.readouterr()
    assert rc not in (0, None), (out, err)
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("note:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expect in lines[0], lines[0]
    no_traceback(err + out)
    assert not bad_dirs["marker"].exists()


def test_cli_subprocess_one_line_error(tiny_dir):
    """The real entry point, once: no traceback, exit code 2, one line."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, HF_HUB_OFFLINE="1", BERT_PLAYGROUND_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "bert_playground", "fill", "\x01 nothing to guess", "--model", str(tiny_dir)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("error: There is no [MASK]"), r.stderr
    no_traceback(r.stderr)


# ============================================================================================
# 3. Pages (AppTest): every text widget, the sidebar checkpoint picker, uploads
# ============================================================================================

P1, P2, P3, P4, P5 = ("pages/1_Input_representation.py", "pages/2_Masked_LM.py", "pages/3_Next_sentence_prediction.py",
                      "pages/4_Attention.py", "pages/5_Fine-tuning.py")
P6 = "pages/6_Contextual_embeddings.py"
VALID = "The quick brown fox jumps over the lazy dog."
# page, setup widgets (key -> value), the widget that gets the hostile text, its valid follow-up
WIDGETS = {
    "rep_a": (P1, {}, VALID),
    "rep_b": (P1, {}, "It splits rare words into pieces."),
    "mlm_text": (P2, {}, VALID),
    "fill_text": (P2, {}, "Paris is the capital of [MASK]."),
    "nsp_corpus": (P3, {"nsp_source": "Your documents"},
                   "We planted beans. They grew fast. We ate them.\n\nThe train was late. We waited. It came."),
    "nsp_a": (P3, {"nsp_source": "Type both sentences"}, "I put the kettle on."),
    "nsp_b": (P3, {"nsp_source": "Type both sentences"}, "The tea was ready soon."),
    "att_a": (P4, {}, VALID),
    "att_b": (P4, {}, "It lay down and slept."),
    "ctx_sentences": (P6, {}, "river | We sat on the bank.\nmoney | The bank lent us money."),
    "ctx_corpus_text": (P6, {"ctx_corpus_src": "Paste a corpus"}, "The bank approved the loan.\nA muddy river bank."),
}
# which hostile strings each widget gets: all of them for the main text of each page, a few for the others
# (kept small: every case is three reruns of a page)
ALL = list(HOSTILE)
SOME = ["empty", "50k chars", "NUL and control", "emoji", "script tag", "markdown/html", "only special tokens"]
FEW = ["empty", "50k chars", "markdown/html"]
CHOICE = {"rep_a": SOME, "mlm_text": ALL, "fill_text": ALL, "nsp_corpus": SOME, "nsp_a": ALL, "att_a": ALL,
          "ctx_sentences": SOME}
PAGE_CASES = [(w, h) for w in WIDGETS for h in CHOICE.get(w, FEW)]


# the Masked-LM page's widgets outside its first tab: the tab to open first (only the open tab runs)
TAB_OF = {"fill_text": FILL, "fill_k": FILL, "mlm_x_joint_text": FILL, "mlm_x_cands": FILL, "mlm_x_ww_text": FILL}


def _open(page, setup, tabs=None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / page), default_timeout=180)
    for key, label in (tabs or {}).items():
        at.session_state[key] = label
    at.run()
    page_ok(at)
    for key, value in setup.items():
        at.radio(key=key).set_value(value).run()
        page_ok(at)
    return at


def _visible(at) -> bool:
    """The page drew its main result (a chart, a table or the filled-in code)."""
    return bool(at.get("plotly_chart") or at.dataframe or at.code)


@pytest.mark.parametrize("widget, hostile", PAGE_CASES, ids=[f"{w}-{h}" for w, h in PAGE_CASES])
def test_page_text(app_env, widget, hostile):
    page, setup, valid = WIDGETS[widget]
    at = _open(page, setup, TAB_OF.get(widget))
    raw = HOSTILE[hostile]
    at.text_area(key=widget).set_value(raw).run()
    page_ok(at)
    assert at.text_area(key=widget).value == raw  # the input stays as typed
    assert markdown_leaks(at, raw) == []
    if hostile in ("empty", "whitespace") and widget not in ("rep_b", "att_b"):
        assert at.error, "an empty input needs a clear message"
    for e in at.error:
        assert e.value.strip() and "Traceback" not in e.value
    # the session keeps working: a valid input renders without any message of error
    at.text_area(key=widget).set_value(valid).run()
    page_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert _visible(at)


def test_masked_lm_page_edge_widgets(app_env):
    at = _open(P2, {})
    for rate in (0.0, 1.0):
        at.slider(key="mlm_rate").set_value(rate).run()
        page_ok(at)
    at.number_input(key="mlm_seed").set_value(2**31 - 1).run()
    page_ok(at)
    open_tab(at, MLM_TAB, FILL[MLM_TAB])
    page_ok(at)
    at.slider(key="fill_k").set_value(20).run()
    at.text_area(key="fill_text").set_value("[mask] is [ MASK ].").run()
    page_ok(at)
    assert any("as [MASK]" in i.value for i in at.info)
    at.text_area(key="fill_text").set_value("[MASK] [MASK]").run()
    assert any("only masks" in w.value for w in at.warning)


@pytest.mark.parametrize("page", ["app.py", P1, P2, P3, P4, P5, P6])
def test_every_page_with_a_missing_checkpoint(app_env, monkeypatch, page):
    monkeypatch.setenv("BERT_PLAYGROUND_MODEL", "/no/such/checkpoint")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / page), default_timeout=180)
    at.run()
    page_ok(at)
    assert any("does not exist" in e.value for e in at.sidebar.error)


SIDEBAR = [  # (case, source, value or bad_dirs key, message, markdown-safe)
    ("nonexistent folder", "Local folder", "/no/such/checkpoint", "does not exist"),
    ("folder without weights", "Local folder", "no_weights", "safetensors"),
    ("pickle-only checkpoint", "Local folder", "pickle_only", "pickle"),
    ("corrupt weights", "Local folder", "corrupt_weights", "could not be read"),
    ("not a BERT", "Local folder", "roberta", "roberta"),
    ("Hub id while offline", "Hugging Face Hub id", "nobody-xyz/no-such-model-4242", "offline"),
    ("Hub id with spaces", "Hugging Face Hub id", "a/b/c d", "neither"),
    ("empty name", "Hugging Face Hub id", "", "Type a folder or a Hub id"),
    ("NUL in name", "Local folder", "/tmp/\x00evil", "control characters"),
    ("50k name", "Hugging Face Hub id", "x" * 50_000, "too long"),
    ("path component too long", "Local folder", "/" + "x" * 900, "does not exist"),
]


def _sidebar(at, source, value):
    at.sidebar.radio[0].set_value(source)
    at.sidebar.text_input[0].set_value(value)
    at.sidebar.button[0].click().run()
    page_ok(at)


@pytest.mark.parametrize("case, source, value, expect", SIDEBAR, ids=[c[0] for c in SIDEBAR])
def test_sidebar_checkpoint(app_env, bad_dirs, case, source, value, expect):
    at = _open("app.py", {})
    _sidebar(at, source, str(bad_dirs[value]) if value in bad_dirs else value)
    messages = [e.value for e in at.sidebar.error] + [w.value for w in at.sidebar.warning]
    assert any(expect in m for m in messages), messages
    assert not bad_dirs["marker"].exists()
    _sidebar(at, "Local folder", str(app_env))  # the session recovers with a good checkpoint
    assert not at.sidebar.error and at.session_state["checkpoint"] == str(app_env)


def test_sidebar_checkpoint_name_is_not_markdown(app_env):
    at = _open("app.py", {})
    raw = "[click](https://evil.example)"
    _sidebar(at, "Hugging Face Hub id", raw)
    assert markdown_leaks(at, raw) == []


def test_classroom_mode_sidebar_offers_only_the_list(app_env, monkeypatch):
    monkeypatch.setenv("BERT_PLAYGROUND_ALLOWED_MODELS", str(app_env))
    at = _open("app.py", {})
    assert not at.sidebar.text_input and not at.sidebar.radio
    assert at.sidebar.selectbox[0].options == [str(app_env)]


UPLOADS = [k for k in FILES]


def _upload(at, name, raw):
    at.file_uploader(key="ft_upload").set_value((name, raw, "text/csv")).run()
    page_ok(at)


@pytest.mark.parametrize("case", UPLOADS)
def test_upload(app_env, case):
    name, raw, expect = FILES[case]
    at = _open(P5, {"ft_source": "Upload CSV/TSV"})
    _upload(at, name, raw)
    assert any(expect in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key="ft_start").disabled
    _upload(at, "good.csv", ("text,label\n" + _rows(20)).encode())  # the session recovers
    assert not at.error and not at.button(key="ft_start").disabled
    assert any("16 training and 4 held-out" in c.value for c in at.caption)


@pytest.mark.parametrize("where", ["label names", "file name", "column name"])
def test_upload_text_is_not_markdown(app_env, where):
    inj = "[click](https://evil.example)"
    label = inj if where == "label names" else "neg"
    header = f"text,{inj}" if where == "column name" else "text,label"
    body = "".join(f"sentence {i},{label if i % 2 else 'pos'}\n" for i in range(20))
    at = _open(P5, {"ft_source": "Upload CSV/TSV"})
    _upload(at, inj + ".csv" if where == "file name" else "x.csv", (header + "\n" + body).encode())
    if where == "file name":
        _upload(at, inj + ".csv", b"text,label\n")  # an error quoting the name
    assert markdown_leaks(at, inj) == []
