"""One run on several processes (one per GPU), launched by ``torchrun``: data-parallel training.

Each process trains the same model on its own batches, and before every
optimizer step the gradients are averaged over the processes with an
all-reduce, which is what ``torch.nn.parallel.DistributedDataParallel`` does.
The all-reduce is hooked on the algorithm's optimizers rather than done by
wrapping its networks, because algorithms own several networks and
meta-learning ones run functional inner steps (``torch.func.functional_call``)
that a DDP wrapper does not see; every algorithm thereby runs distributed
without a line of its own.

    torchrun --nproc_per_node 4 -m dgfas.cli train --protocol OCI-M --method erm --preset paper

Process 0 evaluates, selects checkpoints, writes checkpoints and talks to
MLflow; the others only train. Batch statistics of BatchNorm layers are
averaged over the processes before each evaluation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from dgfas.errors import DgfasError


@dataclass(frozen=True)
class Distributed:
    """This process's place in a ``torchrun`` launch."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_environment() -> Distributed | None:
    """The launch ``torchrun`` describes in the environment, or None for a plain single-process run."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return None
    return Distributed(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))


def start(launch: Distributed) -> torch.device:
    """Join the process group (NCCL with GPUs, gloo on CPUs) and return this process's device."""
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend, rank=launch.rank, world_size=launch.world_size)
    if torch.cuda.is_available():
        torch.cuda.set_device(launch.local_rank)
        return torch.device("cuda", launch.local_rank)
    return torch.device("cpu")


def broadcast_state(module: torch.nn.Module) -> None:
    """Make every process start from process 0's parameters and buffers."""
    for tensor in module.state_dict().values():
        dist.broadcast(tensor, src=0)


def average_gradients_before_each_step(optimizers: list[torch.optim.Optimizer]) -> None:
    """Hook every optimizer so that ``step()`` sees the gradients averaged over all processes."""
    world_size = dist.get_world_size()

    def average(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
        for group in optimizer.param_groups:
            for parameter in group["params"]:
                if parameter.grad is not None:
                    dist.all_reduce(parameter.grad, op=dist.ReduceOp.SUM)
                    parameter.grad.div_(world_size)

    for optimizer in optimizers:
        optimizer.register_step_pre_hook(average)


def average_buffers(module: torch.nn.Module) -> None:
    """Average floating-point buffers (BatchNorm running statistics), which each process updated on its own batches."""
    world_size = dist.get_world_size()
    for buffer in module.buffers():
        if buffer.is_floating_point():
            dist.all_reduce(buffer, op=dist.ReduceOp.SUM)
            buffer.div_(world_size)


def check_in_step(module: torch.nn.Module) -> None:
    """Fail loudly if the processes' parameters have drifted apart (a missed all-reduce would do that)."""
    total = torch.stack([p.detach().double().sum() for p in module.parameters()]).sum().reshape(1)
    gathered = [torch.zeros_like(total) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, total)
    values = torch.cat(gathered)
    if not torch.allclose(values, values[0].expand_as(values), rtol=1e-9, atol=1e-6):
        raise DgfasError(f"distributed processes hold different parameters (checksums {values.tolist()})")


def broadcast_flag(flag: bool) -> bool:
    """Process 0's ``flag`` on every process (e.g. whether the job already finished)."""
    value = torch.tensor([int(flag)])
    dist.broadcast(value, src=0)
    return bool(value.item())


def require_same(value: int, what: str) -> None:
    """Fail unless every process holds the same ``value`` (e.g. the step its checkpoint resumes from)."""
    mine = torch.tensor([value])
    gathered = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, mine)
    values = [int(t.item()) for t in gathered]
    if len(set(values)) > 1:
        raise DgfasError(f"distributed processes disagree on the {what} ({values}); delete the run's checkpoint files")


def finish() -> None:
    """Wait for every process (process 0 may still be logging), then leave the process group."""
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
