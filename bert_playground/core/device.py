"""The one place where the compute device and the CPU thread count are chosen.

torch is imported on first use, so that the app's home page can say which device it will use (`cpu_label_now`)
before torch has loaded."""
from __future__ import annotations

import os
import sys

_configured = False
GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")  # CUDA, ROCm, WSL drivers


def cpu_threads() -> int:
    """Intra-op threads for CPU inference.

    On small machines one thread is faster and far steadier than two for BERT-sized
    forward passes (2-core box: 18 ms with one thread, 25-650 ms with two), because the
    second thread fights the web server and the tokenizer for the other core.
    `BERT_PLAYGROUND_THREADS` overrides.
    """
    env = os.environ.get("BERT_PLAYGROUND_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    n = os.cpu_count() or 1
    return 1 if n <= 2 else min(n // 2, 8)


def configure_cpu_threads() -> int:
    import torch

    global _configured
    n = cpu_threads()
    if not _configured or torch.get_num_threads() != n:
        torch.set_num_threads(n)
        _configured = True
    return n


def _preference(preference: str | None) -> str:
    return (preference or os.environ.get("BERT_PLAYGROUND_DEVICE") or "auto").lower()


def choose_device(preference: str | None = None):
    """CUDA when available, else Apple MPS, else CPU. `preference` ('cpu', 'cuda', 'mps', 'auto') or
    `BERT_PLAYGROUND_DEVICE` can force one; an unavailable choice falls back to the CPU."""
    import torch

    pref = _preference(preference)
    configure_cpu_threads()
    if pref in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if pref in ("auto", "mps") and mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _cpu_label(n: int) -> str:
    return f"CPU ({n} thread{'s' if n != 1 else ''})"


def cpu_label_now(preference: str | None = None) -> str | None:
    """What `describe(choose_device())` will say, without importing torch, when that is certain: the CPU is forced,
    or a Linux machine has no GPU driver (no /dev/nvidia*, /dev/kfd, /dev/dxg). None otherwise (ask torch)."""
    pref = _preference(preference)
    no_gpu = sys.platform.startswith("linux") and not any(os.path.exists(p) for p in GPU_DEVICE_FILES)
    if pref not in ("auto", "cuda", "mps") or no_gpu:
        return _cpu_label(cpu_threads())
    return None


def describe(device) -> str:
    """A short human label: 'CPU (1 thread)', 'GPU: NVIDIA H100 80GB HBM3', 'Apple MPS'."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return _cpu_label(torch.get_num_threads())
