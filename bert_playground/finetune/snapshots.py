"""Epoch snapshots: CPU copies of the model's weights as fine-tuning starts and after each epoch (bounded)."""
from __future__ import annotations

import torch


class Snapshots:
    """The start plus at most `keep` later snapshots (the oldest later ones are dropped first); keep=0: none."""

    def __init__(self, keep: int):
        self.keep = keep
        self.items: list[tuple[float, dict[str, torch.Tensor]]] = []  # (epoch, state dict)

    def add(self, epoch: float, model: torch.nn.Module) -> None:
        if not self.keep:
            return
        if self.items and self.items[-1][0] == epoch:
            return
        state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        self.items.append((epoch, state))
        if len(self.items) > self.keep + 1:
            del self.items[1]

    def frozen(self) -> tuple[tuple[float, dict[str, torch.Tensor]], ...]:
        return tuple(self.items)
