"""The training core shared by fine-tuning and pre-training: AdamW with decay / no-decay groups, a warm-up
then linear-decay learning rate, one precision rule, the optimisation step and device-side running means.

As in BERT (Devlin et al., 2019, appendix A.2): AdamW, weight decay on matrices only, linear warm-up then
linear decay, gradient clipping at norm 1.
"""
from __future__ import annotations

import torch

PRECISIONS = ("auto", "bf16", "fp32")


def param_groups(params, weight_decay: float) -> list[dict]:
    """Weight decay on matrices (dim >= 2); none on biases and LayerNorm weights. Empty groups left out."""
    params = [p for p in params if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def adamw(params, lr: float, weight_decay: float, device: torch.device, **kw) -> torch.optim.AdamW:
    """AdamW over `param_groups`; the fused kernel wherever torch has one (CPU and CUDA)."""
    fused = device.type in ("cpu", "cuda") or None
    return torch.optim.AdamW(param_groups(params, weight_decay), lr=lr, fused=fused, **kw)


def lr_factor(step: int, warmup_steps: int, progress: float, floor: float = 0.0) -> float:
    """Linear warm-up over `warmup_steps`, then linear decay from 1 to `floor` as `progress` goes from 0 to 1."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    return max(floor, 1.0 - (1.0 - floor) * min(progress, 1.0))


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr


def uses_bf16(device: torch.device, precision: str = "auto") -> bool:
    """The one bf16 rule: on by default on CUDA; on a CPU (even with bf16 instructions) only when asked."""
    return precision == "bf16" or (precision == "auto" and device.type == "cuda")


def autocast(device: torch.device, precision: str = "auto"):
    """bf16 autocast (weights stay float32) where `uses_bf16`; a no-op context otherwise."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=uses_bf16(device, precision))


def step(opt: torch.optim.Optimizer, loss: torch.Tensor, params, clip: float | None = 1.0) -> None:
    """One optimisation step: clear the gradients, backward, clip their norm, update."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(params, clip)
    opt.step()


class RunningMean:
    """Per-step values summed on the device (no sync per step); `read` syncs once, returns the means and resets."""

    def __init__(self, size: int, device: torch.device):
        self.sums = torch.zeros(size + 1, device=device)  # the values, then the count

    def add(self, *values: torch.Tensor) -> None:
        self.sums += torch.stack([*(v.detach().float() for v in values), torch.ones((), device=self.sums.device)])

    def read(self) -> list[float]:
        *sums, n = self.sums.tolist()  # one device sync
        self.sums.zero_()
        return [s / max(n, 1.0) for s in sums]
