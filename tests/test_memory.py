"""The allocator policy the app sets at start-up (bert_playground.core.memory): freed large blocks go back to the OS."""
import os
import platform
import subprocess
import sys

import pytest

from bert_playground.core import memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Allocate and free one 8 MB block (glibc's dynamic threshold then keeps blocks up to 8 MB on its heap), then
# 150 blocks of 1 MB, touched, each followed by a small live block, then freed; print the resident memory they leave behind, in MB.
PROBE = r"""
import ctypes, ctypes.util, os, sys
sys.path.insert(0, {root!r})
if {tune}:
    from bert_playground.core import memory
    assert memory.tune_allocator()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
p = libc.malloc(8 << 20); ctypes.memset(p, 1, 8 << 20); libc.free(p)
before = rss()
blocks, pins = [], []
for _ in range(150):  # each block followed by a small live block: freed, it cannot merge into the heap top
    blocks.append(libc.malloc(1 << 20))
    ctypes.memset(blocks[-1], 1, 1 << 20)
    pins.append(libc.malloc(4096))
    ctypes.memset(pins[-1], 1, 4096)
for b in blocks:
    libc.free(b)
print(rss() - before)
"""


def _left_behind(tune: bool) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.pop("BERT_PLAYGROUND_MALLOC", None)
    code = PROBE.format(root=str(memory.__file__).rsplit("/bert_playground/", 1)[0], tune=tune)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return float(out.stdout.strip())


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt")
def test_tuned_allocator_returns_freed_blocks_to_the_os():
    assert _left_behind(tune=False) > 100  # glibc's own policy keeps the 150 MB for reuse
    assert _left_behind(tune=True) < 10  # the app's policy hands them back at once


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt")
def test_the_app_sets_the_policy_at_start_up_and_the_user_can_opt_out():
    """app.py calls `memory.tune_allocator()` at start-up (an explicit call, not an import's side effect)."""
    import ast

    from apphelp import ROOT

    tree = ast.parse((ROOT / "app.py").read_text())
    calls = [ast.unparse(n.value) for n in tree.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
    assert "memory.tune_allocator()" in calls
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    quiet = "import playground_ui, bert_playground.core.memory as m; print(m._tuned)"
    assert subprocess.run([sys.executable, "-c", quiet], env=env, capture_output=True, text=True,
                          timeout=60).stdout.strip() == "None"  # importing the app's helpers changes nothing
    check = "import bert_playground.core.memory as m; m.tune_allocator(); print(m._tuned)"
    on = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=60)
    off = subprocess.run([sys.executable, "-c", check], env={**env, "BERT_PLAYGROUND_MALLOC": "default"},
                         capture_output=True, text=True, timeout=60)
    assert on.stdout.strip() == "True" and off.stdout.strip() == "False"
    assert memory.tune_allocator() in (True, False) and memory.trim()


THP_PROBE = r"""
import os, sys
sys.path.insert(0, {root!r})
from bert_playground.core import memory
memory.tune_allocator()
import torch
blocks = [torch.empty((3 << 20) + 100, dtype=torch.uint8) for _ in range(8)]  # >= 2 MB: advised for huge pages
print(os.environ.get("THP_MEM_ALLOC_ENABLE"), all(b.data_ptr() % 4096 == 0 for b in blocks))  # page-aligned then
"""


@pytest.mark.parametrize("env, expected", [({}, "1 True"), ({"BERT_PLAYGROUND_MALLOC": "default"}, "None False"),
                                           ({"THP_MEM_ALLOC_ENABLE": "0"}, "0 False")])
def test_large_tensors_get_huge_page_aligned_blocks(env, expected):
    """The policy turns on PyTorch's huge-page allocation before torch loads (its blocks are then page-aligned, and
    those of 2 MB or more advised for huge pages; otherwise 64-byte aligned after glibc's 16-byte header); the user's
    explicit setting, or BERT_PLAYGROUND_MALLOC=default, wins."""
    from apphelp import ROOT

    clean = {k: v for k, v in os.environ.items() if k not in ("THP_MEM_ALLOC_ENABLE", "BERT_PLAYGROUND_MALLOC")}
    out = subprocess.run([sys.executable, "-c", THP_PROBE.format(root=str(ROOT))], env={**clean, **env},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == expected.split()
