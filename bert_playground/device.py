"""The one place where the compute device and the CPU thread count are chosen."""
import os

import torch

_configured = False


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
    global _configured
    n = cpu_threads()
    if not _configured or torch.get_num_threads() != n:
        torch.set_num_threads(n)
        _configured = True
    return n


def choose_device(preference: str | None = None) -> torch.device:
    """CUDA when available, else Apple MPS, else CPU. `preference` ('cpu', 'cuda', 'mps', 'auto') or
    `BERT_PLAYGROUND_DEVICE` can force one; an unavailable choice falls back to the CPU."""
    pref = (preference or os.environ.get("BERT_PLAYGROUND_DEVICE") or "auto").lower()
    configure_cpu_threads()
    if pref in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if pref in ("auto", "mps") and mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe(device: torch.device | str) -> str:
    """A short human label: 'CPU (1 thread)', 'GPU: NVIDIA H100 80GB HBM3', 'Apple MPS'."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'s' if n != 1 else ''})"
