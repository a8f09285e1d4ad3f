"""Data-parallel training across processes with torch.distributed, as launched by `torchrun`.

`torchrun --nproc_per_node N -m bert_playground pretrain ...` starts N copies of the command with RANK,
WORLD_SIZE and LOCAL_RANK in their environment; `setup()` reads them and joins the process group (NCCL on
CUDA, gloo on CPU). Without those variables (a plain `python -m bert_playground pretrain`) it is a world of one:
no process group, no wrapper, nothing changes. Each rank trains on its own shard of the documents with its own
pair and masking seed; `DistributedDataParallel` averages the gradients, so one step sees
`global_batch_size = batch_size x world_size` pairs. Only rank 0 evaluates, logs and saves.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from ..core.device import choose_device
from ..core.errors import PlaygroundError

RANK_SEED_STRIDE = 1_000_000_007  # rank r draws pairs and masks from seed + r * stride (rank 0: the plain seed)


@dataclass(frozen=True)
class World:
    rank: int  # this process's rank, 0..size-1 (0 in a plain run)
    size: int  # number of processes (1 in a plain run)
    local_rank: int  # rank within this node: the GPU it uses
    device: torch.device  # where this rank computes
    cpu_group: object = field(default=None, compare=False)  # gloo group for small CPU-side agreements (None: default)
    joined: bool = False  # in a process group (under torchrun, even with one process: DDP then runs as it would)

    @property
    def main(self) -> bool:
        """Rank 0: the one that evaluates, logs and saves."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Several processes, or one launched by torchrun: collectives and DDP are in use."""
        return self.size > 1 or self.joined


def launched() -> bool:
    """True under torchrun (or any launcher that sets RANK and WORLD_SIZE), even with one process."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def setup(preference: str | None = None) -> World:
    """Join the process group torchrun describes (NCCL on CUDA, gloo on CPU); a world of one otherwise."""
    device = choose_device(preference)
    if not launched():
        return World(0, 1, 0, device)
    rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if local >= torch.cuda.device_count():
            raise PlaygroundError(f"LOCAL_RANK {local} but this node has {torch.cuda.device_count()} GPU(s): "
                                  "--nproc_per_node must not exceed the GPUs per node.")
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    elif device.type != "cpu":
        raise PlaygroundError(f"Distributed training runs on CUDA (NCCL) or CPU (gloo), not {device.type}.")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=size,
                                device_id=device if device.type == "cuda" else None)
    cpu_group = dist.new_group(backend="gloo") if device.type == "cuda" else None  # flags without a GPU sync
    return World(rank, size, local, device, cpu_group, joined=True)


def teardown(world: World) -> None:
    """Wait for every rank (rank 0 may still be saving), then leave the process group."""
    if world.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def rank_seed(seed: int, rank: int) -> int:
    """Each rank's own seed for pairs and masking; rank 0 keeps the plain seed (a plain run is unchanged)."""
    return int(seed) + RANK_SEED_STRIDE * int(rank)


def shard(items: list, world: World) -> list:
    """This rank's share of `items`, round-robin (rank r gets items r, r + size, ...): disjoint, all covered."""
    return items[world.rank::world.size]


def wrap(module: torch.nn.Module, world: World) -> torch.nn.Module:
    """`DistributedDataParallel` around `module` in a distributed run (gradients averaged over ranks); as is otherwise."""
    if not world.distributed:
        return module
    ids = [world.device.index] if world.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)


def sum_(tensor: torch.Tensor, world: World) -> torch.Tensor:
    """The sum over ranks of a tensor (in place); itself in a plain run."""
    if world.distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def min_int(value: int, world: World) -> int:
    """The smallest `value` over ranks (every rank must agree on the number of steps of an epoch)."""
    if not world.distributed:
        return value
    t = torch.tensor([value])
    dist.all_reduce(t, op=dist.ReduceOp.MIN, group=world.cpu_group)
    return int(t.item())


def agree(flags: list[bool], world: World) -> list[bool]:
    """Each flag true on every rank when it is true on any rank (a time budget or a periodic save happens on all
    ranks at the same step); a CPU all-reduce, no GPU sync."""
    if not world.distributed:
        return list(flags)
    t = torch.tensor([int(f) for f in flags])
    dist.all_reduce(t, op=dist.ReduceOp.MAX, group=world.cpu_group)
    return [bool(v) for v in t.tolist()]
