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
