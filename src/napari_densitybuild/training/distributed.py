"""Data-parallel training on several GPUs (or CPU processes) with torch DistributedDataParallel.

``torchrun --nproc_per_node N -m napari_densitybuild.cli train ...`` starts N processes; each
reads ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` from the environment, joins the process group
(NCCL on CUDA, gloo otherwise), uses GPU ``LOCAL_RANK``, draws its own batches (its seed is the
run's seed plus its rank) and averages gradients with the others every step. Rank 0 alone logs,
evaluates, checkpoints and writes weights. Without those variables nothing changes: one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class World:
    """Where this process sits in a distributed run."""

    rank: int = 0
    local_rank: int = 0
    size: int = 1

    @property
    def enabled(self) -> bool:
        """More than one process."""
        return self.size > 1

    @property
    def main(self) -> bool:
        """Rank 0: the process that logs, evaluates and saves."""
        return self.rank == 0


def world_from_env() -> World:
    """The distributed setting torchrun put in the environment (one process if none)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    return World(int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")), size)


def setup(world: World, device: torch.device) -> torch.device:
    """Join the process group; returns the device this process trains on."""
    if not world.enabled:
        return device
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def wrap(net: torch.nn.Module, world: World, device: torch.device) -> torch.nn.Module:
    """The module to call in training: DDP around ``net`` in a distributed run, else ``net``."""
    if not world.enabled:
        return net
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(net, device_ids=ids)


def agree(flag: bool, world: World, device: torch.device) -> bool:
    """True on every process if it is True on any (so all stop at the same step)."""
    if not world.enabled:
        return flag
    import torch.distributed as dist

    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def barrier(world: World) -> None:
    """Wait for every process."""
    if world.enabled:
        import torch.distributed as dist

        dist.barrier()


def cleanup(world: World) -> None:
    """Leave the process group."""
    if world.enabled:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
