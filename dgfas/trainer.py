"""The training loop: train one resolved run, evaluate it at intervals, and keep the checkpoint a rule selects.

The loop is the only place that knows about a run's data, its method and
its evaluation at once: it takes balanced live/spoof batches per source
domain from :mod:`dgfas.data.batches`, calls the algorithm's ``update``
(under autocast at the run's precision), evaluates on source validation and
target test at fixed intervals (:mod:`dgfas.evaluation`), keeps the
checkpoint a named selection rule prefers, and saves its state
(:mod:`dgfas.training_state`) so an interrupted run resumes exactly.
What a run is and how it is resolved lives in :mod:`dgfas.run`.
"""

from __future__ import annotations

import contextlib
import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from dgfas import distributed, interrupts
from dgfas.algorithms import get_algorithm
from dgfas.data.batches import TrainingBatches
from dgfas.devices import pick_device
from dgfas.evaluation import evaluate, map_examples, metrics_under_other_rules, steps_under_other_rules
from dgfas.metric_names import EVALUATION_CURVES, SELECTED_STEP, TARGET_VIDEO, selection_prefix
from dgfas.precision import autocast, resolve_precision
from dgfas.run import ResolvedRun
from dgfas.selection import get_selection_rule
from dgfas.training_state import TrainingState


@dataclass
class RunResult:
    """A trained run's outcome.

    ``tables`` holds the selected checkpoint's score tables by ``{role}.{level}``
    and, for every other selection rule, the target-test video scores of the
    checkpoint that rule picks, as ``selection.<rule>.target_test.video``: the
    leaderboard bootstraps its literature-compatible table from them.
    """

    run_key: str
    metrics: dict[str, float]
    selected_step: int
    tables: dict[str, pd.DataFrame]
    seconds: float
    map_examples: dict[str, np.ndarray] = field(default_factory=dict)


#: Called after every training step with (step, seconds producing its batches, seconds in ``update``).
StepTimer = Callable[[int, float, float], None]


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train(
    run: ResolvedRun,
    log_metrics: Callable[[dict[str, float], int], None] = lambda metrics, step: None,
    progress: bool = True,
    checkpoint: Path | None = None,
    launch: distributed.Distributed | None = None,
    step_timer: StepTimer | None = None,
) -> RunResult:
    """Train, evaluate every ``eval_every`` steps, and return the selected checkpoint's scores.

    With ``checkpoint``, the whole training state (weights, optimizers, random
    generators, samplers, the best candidate so far) is saved atomically at
    every evaluation, and a run that finds the file resumes after the saved
    step with the same result it would have had uninterrupted. A stop signal
    the command line defers (:mod:`dgfas.interrupts`) saves it at the end of the
    step it arrives in as well, then raises its ``KeyboardInterrupt``.

    With ``launch`` (one of several ``torchrun`` processes, see
    :mod:`dgfas.distributed`), each process draws its own batches (its
    generator is seeded by (seed, rank)), gradients are averaged before every
    optimizer step, each process keeps its own checkpoint file, and only
    process 0 evaluates; the others return a result without metrics.

    With ``step_timer`` (``benchmarks/train_throughput.py``), the device is
    synchronized around each step's batch assembly and ``update`` and the two
    durations are reported; without it the loop never synchronizes, so
    batch assembly overlaps the device's work.
    """
    started = time.perf_counter()
    cfg = run.trainer_config
    torch.manual_seed(run.spec.seed)
    rng = np.random.default_rng(run.spec.seed if launch is None else [run.spec.seed, launch.rank])
    device = pick_device(cfg.device) if launch is None else distributed.start(launch)
    precision = resolve_precision(cfg.precision, device)  # already resolved by ``resolve``; a hand-built run may not be
    evaluates = launch is None or launch.is_main
    if launch is not None and checkpoint is not None:
        checkpoint = checkpoint.with_name(f"{checkpoint.stem}.rank{launch.rank}{checkpoint.suffix}")
    algorithm_cls = get_algorithm(run.spec.method)
    domains = list(run.source_train)
    algorithm = algorithm_cls(run.algorithm_config, run.model_config, domains).to(device)
    algorithm = algorithm.to(memory_format=algorithm_cls.memory_format)
    batches = TrainingBatches(run.source_train, algorithm_cls.maps_for(run.algorithm_config), algorithm.clip_length,
                              cfg.batch_per_domain, cfg.augment, rng, device, algorithm_cls.memory_format,
                              cfg.device_cache_share)
    state = TrainingState(algorithm, batches)
    rule = get_selection_rule(cfg.selection_rule)
    if checkpoint is not None and checkpoint.is_file():
        state.restore(checkpoint)
    if launch is not None:
        distributed.require_same(state.step, "checkpoint step")
        distributed.broadcast_state(algorithm)
        distributed.average_gradients_before_each_step(algorithm.optimizers())

    bar = tqdm(range(state.step + 1, cfg.steps + 1), desc=f"{run.spec.method} {run.protocol.run_name} seed {run.spec.seed}",
               disable=not progress, leave=False, dynamic_ncols=True, initial=state.step, total=cfg.steps)
    # A stop signal waits for the end of the step where a checkpoint can keep it; not across processes, whose
    # checkpoints would then stop at different steps.
    stops = interrupts.deferred() if checkpoint is not None and launch is None else contextlib.nullcontext()
    with stops, contextlib.closing(batches), contextlib.closing(bar):
        for step in bar:
            if step_timer is not None:
                _synchronize(device)
                assembling = time.perf_counter()
            step_batches = batches.next(prefetch=step < cfg.steps)
            if step_timer is not None:
                _synchronize(device)
                updating = time.perf_counter()
            with autocast(precision, device):
                losses = algorithm.update(step_batches)
            if step_timer is not None:
                _synchronize(device)
                step_timer(step, updating - assembling, time.perf_counter() - updating)
            state.step = step
            if step % 10 == 0 or step == cfg.steps:
                log_metrics({f"train.{k}": v for k, v in losses.items()}, step)
                bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()})
            evaluation = step % cfg.eval_every == 0 or step == cfg.steps
            if evaluation and launch is not None:
                distributed.average_buffers(algorithm)
                distributed.check_in_step(algorithm)
            if evaluation and evaluates:
                metrics, evaluated = evaluate(algorithm, run, device, progress)
                state.evaluations[step] = metrics
                state.target_scores[step] = evaluated[TARGET_VIDEO]["score"].to_numpy()
                log_metrics({f"eval.{k}": metrics[k] for k in EVALUATION_CURVES}, step)
                key = rule.key(step, metrics)
                if state.best_key is None or key < state.best_key:
                    state.best_key, state.best_step = key, step
                    state.best_state = copy.deepcopy(algorithm.state_dict())
            stopping = interrupts.requested()
            if checkpoint is not None and (evaluation and step < cfg.steps or stopping):
                state.save(checkpoint)
            if stopping:
                interrupts.stop()
    if not evaluates:
        return RunResult(run.run_key, {}, 0, {}, time.perf_counter() - started)
    assert state.best_state is not None  # the last step always evaluates
    algorithm.load_state_dict(state.best_state)
    metrics, tables = evaluate(algorithm, run, device, progress)
    metrics[SELECTED_STEP] = float(state.best_step)
    metrics.update(metrics_under_other_rules(state.evaluations, cfg.selection_rule))
    target_videos = tables[TARGET_VIDEO]
    for name, step in steps_under_other_rules(state.evaluations, cfg.selection_rule).items():
        tables[selection_prefix(name) + TARGET_VIDEO] = target_videos.assign(score=state.target_scores[step])
    examples = map_examples(algorithm, run.target_test, device)
    return RunResult(run.run_key, metrics, state.best_step, tables, time.perf_counter() - started, examples)
