"""One run over several processes: `torchrun --nproc-per-node N -m advlab.cli adapt ...`.

Every rank builds the same model from the same seed and draws the same global batch; each
trains on its 1/N share of it, and before every optimizer step the gradients are averaged
across ranks (one all-reduce over a flat buffer; gloo on CPU, NCCL on GPU). For a loss that is
a mean over examples this is the gradient of the whole batch, so the run does not depend on N
beyond the order of floating-point sums. Gradients are averaged by hand rather than by
DistributedDataParallel because methods such as MCD take several optimizer steps over
different parameter sets per batch, which DDP's one-backward-per-forward contract does not
fit. Only rank 0 writes the run directory and evaluates; when one rank dies, torchrun ends
the others, and the run resumes from its last checkpoint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


_world = World()


def join(device: torch.device) -> World:
    """This process's place in the run, from torchrun's environment (one process: World())."""
    global _world
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    _world = World(int(os.environ.get("RANK", "0")), size)
    return _world


def leave() -> None:
    global _world
    if dist.is_initialized():
        dist.barrier()  # wait for rank 0's last evaluation: a rank that leaves early aborts the group
        dist.destroy_process_group()
    _world = World()


def average_gradients(optimizers: tuple[torch.optim.Optimizer, ...]) -> None:
    """Every rank's gradients replaced by their mean over the ranks."""
    if _world.size == 1:
        return
    grads = [p.grad for opt in optimizers for group in opt.param_groups for p in group["params"] if p.grad is not None]
    if not grads:
        return
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat /= _world.size
    for grad, averaged in zip(grads, _unflatten_dense_tensors(flat, grads)):
        grad.copy_(averaged)


def mean_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """The mean of a tensor over the ranks (itself in one process)."""
    if _world.size == 1:
        return value
    value = value.detach().clone()
    dist.all_reduce(value)
    return value / _world.size
