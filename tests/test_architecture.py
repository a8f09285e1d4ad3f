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


def test_pages_folder_convention_only():
    assert (ROOT / "pages").is_dir()
    assert [str(p) for p in SOURCES if "st.navigation(" in p.read_text() and p.name != "test_architecture.py"] == []


def test_pages_do_no_tensor_math():
    for page in (ROOT / "pages").glob("*.py"):
        text = page.read_text()
        assert "import torch" not in text and "softmax(" not in text and ".logits" not in text, page.name


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
