"""One run on two processes with torchrun, on the CPU (gloo backend)."""

import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: (shape, dtype) of the parameters of the averaging test: channels-last and float64 ones among them.
_SHAPES = [((4, 3, 2, 2), torch.float32), ((4,), torch.float32), ((5,), torch.float64), ((3, 2), torch.float32),
           ((2,), torch.float32), ((7,), torch.float64), ((2,), torch.float32), ((2,), torch.float32)]
_ONLY_ON_RANK_1, _ON_NO_RANK = 6, 7


def _gradient(rank: int, index: int) -> torch.Tensor:
    shape, dtype = _SHAPES[index]
    return torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(100 * rank + index))


def _average_on_two_processes(rank: int, rendezvous: str) -> None:
    from dgfas.distributed import average_gradients_before_each_step

    # A file store, not a TCP one: no rank hosts a store server whose thread a slow peer's teardown can outlive.
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=2)
    try:
        # a 4-d parameter and its gradient channels-last, as the trainer lays out convolutions
        layout = lambda t: t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t  # noqa: E731
        parameters = [torch.nn.Parameter(layout(torch.zeros(shape, dtype=dtype))) for shape, dtype in _SHAPES]
        for index, parameter in enumerate(parameters):
            if index != _ON_NO_RANK and (index != _ONLY_ON_RANK_1 or rank == 1):
                parameter.grad = layout(_gradient(rank, index))
        optimizer = torch.optim.SGD(parameters, lr=1.0)
        average_gradients_before_each_step([optimizer])
        reductions = []
        all_reduce = dist.all_reduce
        dist.all_reduce = lambda tensor, *args, **kwargs: reductions.append(tensor.numel()) or all_reduce(tensor, *args, **kwargs)
        optimizer.step()
        dist.all_reduce = all_reduce
        # which parameters have gradients, then one flattened buffer per dtype (float32, float64)
        assert reductions == [len(_SHAPES), 4 * 3 * 2 * 2 + 4 + 3 * 2 + 2 + 2, 5 + 7], reductions
        for index, parameter in enumerate(parameters):
            if index == _ON_NO_RANK:
                assert parameter.grad is None and not parameter.detach().any()  # skipped, as in one process
                continue
            # a gradient missing on rank 0 counts as zero there
            mine = [_gradient(r, index) if index != _ONLY_ON_RANK_1 or r == 1 else torch.zeros(2) for r in (0, 1)]
            mean = (mine[0] + mine[1]) / 2
            torch.testing.assert_close(parameter.grad, mean, rtol=0, atol=1e-6)
            torch.testing.assert_close(parameter.detach(), -mean, rtol=0, atol=1e-6)  # the step saw the mean
        dist.barrier()  # neither rank tears down while the other still reduces
    finally:
        dist.destroy_process_group()


def test_gradients_are_averaged_over_processes_in_one_flattened_all_reduce_per_dtype(tmp_path):
    torch.multiprocessing.spawn(_average_on_two_processes, args=(str(tmp_path / "rendezvous"),), nprocs=2, join=True)


def _torchrun(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), "-m", "dgfas.cli", *args,
               "--preset", "tiny", "--cache", str(tmp_path / "cache"), "--runs-dir", str(tmp_path / "runs"),
               "--no-progress", "--workers", "1"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
@pytest.mark.parametrize(("method", "protocol"), [("erm", "C-I"), ("multitask_meta", "OCI-M")])
def test_torchrun_trains_one_run_on_two_processes_and_logs_it_once(tmp_path, monkeypatch, method, protocol):
    done = _torchrun(tmp_path, "train", "--protocol", protocol, "--method", method)
    assert done.returncode == 0, done.stderr[-3000:]

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    from dgfas.tracking.stored_runs import load_run_records
    from dgfas.tracking.store import mlflow_client

    records = load_run_records("synthetic-tiny")
    assert len(records) == 1  # only process 0 talks to MLflow
    run = mlflow_client().get_run(records["run_id"].iloc[0])
    assert run.data.tags["dgfas.world_size"] == "2"
    assert run.data.params["trainer.world_size"] == "2"  # twice the images per step: another experiment

    again = _torchrun(tmp_path, "train", "--protocol", protocol, "--method", method)
    assert again.returncode == 0 and '"status": "skipped"' in again.stdout  # every process agrees to skip
