"""House rules that keep the architecture as it should stay."""
import ast
import re

from apphelp import ROOT

PACKAGE = ROOT / "bert_playground"
SOURCES = [p for p in ROOT.rglob("*.py") if ".venv" not in p.parts and "site-packages" not in p.parts]


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_package_never_imports_streamlit():
    offenders = [p.name for p in PACKAGE.rglob("*.py") if any(m.split(".")[0] == "streamlit" for m in _imports(p))]
    assert offenders == []


def test_no_trust_remote_code_anywhere():
    pattern = re.compile(r"trust_remote_code\s*=\s*True")
    assert [str(p) for p in SOURCES if pattern.search(p.read_text())] == []


def test_user_text_never_reaches_unsafe_html():
    # unsafe_allow_html may only ever be used with constant strings (none today)
    assert [str(p) for p in SOURCES if "unsafe_allow_html=True" in p.read_text() and p.name != "test_architecture.py"] == []


def test_one_page_registry_drives_the_navigation():
    """Every page file is in the registry (and the other way round), Home comes first, the lesson pages are the
    pages exercise sets may name, and Streamlit's own navigation is built in one place from the registry."""
    from bert_playground.classroom import lessons
    from playground_ui import registry

    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))
    assert sorted(p.file for p in registry.PAGES if p.file) == files
    assert registry.PAGES[0] is registry.HOME and registry.HOME.file is None
    assert registry.LESSON_PAGES == lessons.PAGES
    assert len({p.key for p in registry.PAGES}) == len(registry.PAGES)
    for page in registry.PAGES[1:]:  # each page's remembered inputs carry its registry key
        assert f'state.spec("{page.key}"' in (ROOT / page.file).read_text(), page.file
    users = [str(p.relative_to(ROOT)) for p in SOURCES if "st.navigation(" in p.read_text() and p.name != "test_architecture.py"]
    assert users == ["playground_ui/ui.py"]
    assert "showSidebarNavigation" not in (ROOT / ".streamlit" / "config.toml").read_text()


VIEWS = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
MATH_MODULES = {"torch", "numpy", "scipy", "transformers", "safetensors", "sklearn", "math"}
# tensor operations (names pandas' counting and the package's own `attention.view` do not share)
TENSOR_OPS = {"softmax", "log_softmax", "sigmoid", "matmul", "einsum", "mm", "bmm", "argmax", "argmin", "topk",
              "argsort", "norm", "cumsum", "stack", "cat", "tensor", "from_numpy", "no_grad", "inference_mode",
              "forward", "backward", "numpy", "detach", "cpu", "cuda", "half", "permute", "squeeze", "unsqueeze"}


def _tensor_math(path):
    """Imports of math libraries, calls of tensor operations and reads of model outputs in one file (AST)."""
    found = [f"import {m}" for m in _imports(path) if m.split(".")[0] in MATH_MODULES]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TENSOR_OPS:
            found.append(f"line {node.lineno}: .{node.func.attr}()")
        elif isinstance(node, ast.Attribute) and node.attr in {"logits", "hidden_states", "attentions_raw", "model"}:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            found.append(f"line {node.lineno}: @")
    return found


def test_pages_do_no_tensor_math():
    """Pages read widgets, call the package and draw: no math library, no tensor op, no raw model output."""
    offenders = {p.name: _tensor_math(p) for p in VIEWS}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_tensor_math_guard_catches_tensor_code(tmp_path):
    page = tmp_path / "page.py"
    page.write_text("import torch as t\nfrom numpy import linalg\nx = out.logits.softmax(-1)\ny = a @ b\n")
    assert sorted(_tensor_math(page)) == ["import numpy", "import torch", "line 3: .logits", "line 3: .softmax()",
                                          "line 4: @"]
    page.write_text("import pandas as pd\nst.caption(f'{score.is_next_probability:.3f} softmax of the two')\n")
    assert _tensor_math(page) == []


# A page reads as a short story: imports, constants and named functions, then a few top-level calls of them.
STORY_PAGES = list(VIEWS)  # every page, the fine-tuning page included
MAX_STORY = 8  # top-level statements that are not imports, constants or definitions


def _story_lines(path) -> tuple[list[str], list[str]]:
    """(the top-level statements that do work, those that are blocks: if/for/while/try or a `with` of more than a call)."""
    story, blocks = [], []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):  # docstring
            continue
        names = [n for t in getattr(node, "targets", []) for n in (t.elts if isinstance(t, ast.Tuple) else [t])]
        if isinstance(node, ast.Assign) and all(isinstance(n, ast.Name) and n.id.isupper() for n in names):
            continue  # CONSTANT = ... or A, B = ...
        story.append(f"line {node.lineno}")
        if isinstance(node, (ast.If, ast.For, ast.While, ast.Try)) or (
                isinstance(node, ast.With) and not (len(node.body) == 1 and isinstance(node.body[0], ast.Expr))):
            blocks.append(f"line {node.lineno}: {type(node).__name__}")
    return story, blocks


def test_pages_are_stories_of_view_functions():
    for page in STORY_PAGES:
        story, blocks = _story_lines(page)
        assert blocks == [] and len(story) <= MAX_STORY, (page.name, story, blocks)
        views = [n.name for n in ast.parse(page.read_text()).body if isinstance(n, ast.FunctionDef)
                 and n.name.endswith("_ui")]
        assert len(views) >= 2, (page.name, views)


def test_story_guard_catches_inline_pages(tmp_path):
    page = tmp_path / "page.py"
    page.write_text("import streamlit as st\nX = 1\nif st.button('go'):\n    st.write(1)\n"
                    + "st.write(2)\n" * 9)
    story, blocks = _story_lines(page)
    assert blocks == ["line 3: If"] and len(story) == 10


def _calls(path):
    """(dotted name, keyword names -> AST value) of every call in a file."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            parts, f = [], node.func
            while isinstance(f, ast.Attribute):
                parts.append(f.attr)
                f = f.value
            if isinstance(f, ast.Name):
                parts.append(f.id)
            yield ".".join(reversed(parts)), {k.arg: k.value for k in node.keywords}


def test_package_never_unpickles():
    """Weights come from safetensors only: no torch.load, no pickle/dill/joblib, no np.load(allow_pickle=True),
    and every model `from_pretrained` insists on safetensors (tokenizers read only JSON/text files)."""
    banned_modules = {"pickle", "cPickle", "_pickle", "dill", "joblib", "cloudpickle", "shelve", "marshal"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        offenders += [f"{path.name}: import {m}" for m in _imports(path) if m.split(".")[0] in banned_modules]
        for name, kw in _calls(path):
            if name == "torch.load" or name.endswith(("torch.serialization.load", "pickle.load", "pickle.loads")):
                offenders.append(f"{path.name}: {name}()")
            if name.endswith("np.load") or name.endswith("numpy.load"):
                value = kw.get("allow_pickle")
                if not (isinstance(value, ast.Constant) and value.value is False) and "allow_pickle" in kw:
                    offenders.append(f"{path.name}: {name}(allow_pickle=...)")
            if name.endswith(".from_pretrained") and "Tokenizer" not in name:
                value = kw.get("use_safetensors")
                if not (isinstance(value, ast.Constant) and value.value is True):
                    offenders.append(f"{path.name}: {name}() without use_safetensors=True")
    source = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    offenders += re.findall(r"\btorch\.load\(|from torch import[^\n]*\bload\b|weights_only\s*=\s*False", source)
    assert offenders == []


def _code_lines(path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip() and not line.strip().startswith("#"))


def test_package_modules_stay_small():
    """Each module one idea: none of the package's modules is much over 300 lines of code."""
    big = {str(p.relative_to(ROOT)): _code_lines(p) for p in PACKAGE.rglob("*.py") if _code_lines(p) > 320}
    assert big == {}


def test_earlier_flat_module_names_still_import():
    """Scripts and notebooks written for the flat package keep working: the old name is the module at its new place."""
    import importlib

    import bert_playground

    for old, new in bert_playground.MOVED.items():
        moved = importlib.import_module(f"bert_playground.{new}")
        assert importlib.import_module(f"bert_playground.{old}") is moved
        assert getattr(bert_playground, old) is moved


EMOJI = set("⏱⏳⏹▶⚠⛔✂✅❌➡⬅⬇⭐") | {chr(0xFE0F)}


def test_nothing_on_screen_needs_an_emoji_font():
    """A machine without emoji fonts (Debian's default) draws every label: no emoji in the app's text, and no
    Material Symbols icon either (Streamlit fetches their font from Google's server: not offline)."""
    found = {}
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "playground_ui").rglob("*.py")]:
        text = path.read_text()
        bad = sorted({c for c in text if 0x1F000 <= ord(c) <= 0x1FAFF or c in EMOJI}) + ([":material/"] if ":material/" in text else [])
        if bad:
            found[path.name] = bad
    assert found == {}
