"""One run on several processes (one per GPU), launched by ``torchrun``: data-parallel training.

Each process trains the same model on its own batches, and before every
optimizer step the gradients are averaged over the processes with an
all-reduce, which is what ``torch.nn.parallel.DistributedDataParallel`` does.
The all-reduce is hooked on the algorithm's optimizers rather than done by
wrapping its networks, because algorithms own several networks and
optimizers, and meta-learning ones run functional inner steps
(``torch.func.functional_call``, ``torch.autograd.grad``) that a DDP wrapper
does not see (it reduces only what ``backward()`` accumulates through its own
forward); every algorithm thereby runs distributed without a line of its own.

The gradients are all-reduced after the backward pass as flattened buffers,
one per dtype and device, so a step costs one collective of gradients (after
a small one that agrees which parameters have any) whatever the number of
parameters. DDP's smaller buckets pay off only by overlapping the backward
pass, which a hook on the optimizer cannot do.

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


def _average_in_place(tensors: list[torch.Tensor]) -> None:
    """Replace every tensor by its mean over the processes: one all-reduce per dtype and device, of all of them flattened."""
    by_kind: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    for tensor in tensors:
        by_kind.setdefault((tensor.device, tensor.dtype), []).append(tensor)
    world_size = dist.get_world_size()
    # Every process holds the same tensors in the same order, so the groups come in the same order everywhere.
    for group in by_kind.values():
        flat = torch.cat([t.reshape(-1) for t in group])  # logical order, whatever each tensor's memory format
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat.div_(world_size)
        for tensor, mean in zip(group, flat.split([t.numel() for t in group])):
            tensor.copy_(mean.view_as(tensor))


def average_gradients(parameters: list[torch.Tensor]) -> None:
    """Replace the parameters' gradients by their mean over the processes, as DDP does.

    A gradient that is None on some processes counts as zero there, and the
    parameter gets the mean on every process, so no process updates a weight
    the others leave alone. A parameter without a gradient on every process
    keeps None, so the optimizer skips it as it would in one process. Which
    parameters have gradients is agreed first (one small all-reduce), since
    the flattened buffers must be laid out alike everywhere.
    """
    parameters = [p for p in parameters if p.requires_grad]
    if not parameters:
        return
    holders = torch.tensor([p.grad is not None for p in parameters], dtype=torch.int32, device=parameters[0].device)
    dist.all_reduce(holders, op=dist.ReduceOp.SUM)  # (P,) number of processes holding each gradient
    with_grad = [p for p, count in zip(parameters, holders.tolist()) if count > 0]
    for parameter in with_grad:
        if parameter.grad is None:
            parameter.grad = torch.zeros_like(parameter)
    _average_in_place([p.grad for p in with_grad])


def average_gradients_before_each_step(optimizers: list[torch.optim.Optimizer]) -> None:
    """Hook every optimizer so that ``step()`` sees the gradients averaged over all processes."""

    def average(optimizer: torch.optim.Optimizer, args, kwargs) -> None:
        average_gradients([p for group in optimizer.param_groups for p in group["params"]])

    for optimizer in optimizers:
        optimizer.register_step_pre_hook(average)


def average_buffers(module: torch.nn.Module) -> None:
    """Average floating-point buffers (BatchNorm running statistics), which each process updated on its own batches."""
    _average_in_place([buffer for buffer in module.buffers() if buffer.is_floating_point()])


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
