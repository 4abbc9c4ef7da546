"""Train one method on one protocol, select a checkpoint, score and log it.

The trainer is the only place that knows about protocols, data and MLflow at
once: it draws balanced live/spoof batches per source domain, calls the
algorithm's ``update``, evaluates on source validation and target test at
fixed intervals, keeps the checkpoint a named selection rule prefers, and
writes frame- and video-level score files.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

import dgfas
from dgfas import distributed
from dgfas.algorithms import Algorithm, Batch, get_algorithm
from dgfas.algorithms.base import IMAGENET_MEAN, IMAGENET_STD
from dgfas.atomic import atomic_write
from dgfas.config import with_overrides
from dgfas.data.clips import VideoClips
from dgfas.data.frames import FrameSet, concat_frames, frames_fingerprint, sample_frames
from dgfas.data.registry import DataOptions, get_dataset
from dgfas.data.sources import bind_domain
from dgfas.errors import DgfasError, UnsupportedSetting
from dgfas.metrics import THRESHOLD_DEPENDENT, THRESHOLD_FREE, compute_metrics, eer_threshold
from dgfas.models import get_model
from dgfas.presets import Preset, get_preset
from dgfas.protocols import Protocol, get_protocol
from dgfas.scores import video_level, write_scores
from dgfas.selection import SELECTION_RULES, get_selection_rule

_MEAN = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
_STD = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)



@dataclass(frozen=True)
class TrainerConfig:
    """Attributes:
    steps: training steps (one ``update`` call each).
    batch_per_domain: images per source domain per step, half live, half spoof.
    eval_every: steps between evaluations; each is a selection candidate.
    selection_rule: name in :data:`dgfas.selection.SELECTION_RULES`.
    augment: random horizontal flips of images and their maps.
    device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
    """

    steps: int = 300
    batch_per_domain: int = 16
    eval_every: int = 50
    selection_rule: str = "source_val"
    augment: bool = True
    device: str = "auto"


@dataclass(frozen=True)
class RunSpec:
    """Everything a run is a function of; its hash is the run's identity.

    ``hparam_draw`` is a label, not an input: the index of the sweep draw
    (:func:`dgfas.hparams.draw_hparams`) that gave ``algorithm_overrides``,
    tagged on the run so a leaderboard can choose among draws. It stays out
    of the run key, so the same hyper-parameters are one run however reached.

    ``holdout_source`` is an input: a source domain left out of training and
    validated on instead (its ``source_val`` splits), the runs
    leave-one-source-domain-out selection compares hyper-parameters by
    (:mod:`dgfas.tracking.draws`). Such a run is never a leaderboard cell.
    """

    protocol: str
    method: str
    seed: int = 0
    preset: str = "quick"
    data_source: str = "synthetic"
    algorithm_overrides: dict[str, Any] = field(default_factory=dict)
    model_overrides: dict[str, Any] = field(default_factory=dict)
    trainer_overrides: dict[str, Any] = field(default_factory=dict)
    hparam_draw: int | None = None
    holdout_source: str | None = None

    @property
    def suite(self) -> str:
        return f"{self.data_source}-{self.preset}"


@dataclass
class ResolvedRun:
    """A :class:`RunSpec` with every default filled in and its data loaded."""

    spec: RunSpec
    protocol: Protocol
    algorithm_config: Any
    model_config: Any
    trainer_config: TrainerConfig
    source_train: dict[str, FrameSet]
    source_val: FrameSet
    target_test: FrameSet
    data_fingerprint: str
    world_size: int = 1

    @property
    def variant(self) -> str:
        """The leaderboard's row name: the method plus every hyper-parameter the run overrode.

        Ablations such as ``multitask_meta[triplet=False]`` thereby get rows of
        their own instead of replacing the method's runs. The device is left
        out, since it does not change what is being measured.
        """
        parts = [f"{k}={getattr(self.algorithm_config, k)}" for k in sorted(self.spec.algorithm_overrides)]
        parts += [f"model.{k}={getattr(self.model_config, k)}" for k in sorted(self.spec.model_overrides)]
        parts += [f"trainer.{k}={getattr(self.trainer_config, k)}" for k in sorted(self.spec.trainer_overrides) if k != "device"]
        return f"{self.spec.method}[{', '.join(parts)}]" if parts else self.spec.method

    def params(self) -> dict[str, str]:
        params = {
            "method": self.spec.method,
            "variant": self.variant,
            "seed": str(self.spec.seed),
            "preset": self.spec.preset,
            "data_source": self.spec.data_source,
            "selection_rule": self.trainer_config.selection_rule,
            **self.protocol.as_params(),
        }
        for prefix, config in (
            ("algorithm", self.algorithm_config),
            ("model", self.model_config),
            ("trainer", self.trainer_config),
        ):
            params.update({f"{prefix}.{k}": str(v) for k, v in dataclasses.asdict(config).items()})
        if self.spec.holdout_source is not None:
            params["holdout_source"] = self.spec.holdout_source
        if self.world_size > 1:
            # each process draws its own batches: world_size times the images per step, another experiment
            params["trainer.world_size"] = str(self.world_size)
        return params

    @property
    def run_key(self) -> str:
        identity = {**self.params(), "data_fingerprint": self.data_fingerprint, "code_version": dgfas.__version__}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def git_commit() -> str:
    """The checkout's commit, with ``+dirty`` when it has uncommitted changes."""
    repo = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def resolve_model_config(preset: Preset, model: str, overrides: dict[str, Any]) -> Any:
    """A model's config: its defaults, then the preset's width for it (if it has one), then ``overrides``."""
    entry = get_model(model)
    fields = {f.name for f in dataclasses.fields(entry.config)}
    preset_settings = {"width": preset.width_of(model)} if "width" in fields else {}
    return with_overrides(entry.config(), {**preset_settings, **overrides})


def preset_data_options(preset: Preset, data: DataOptions) -> DataOptions:
    """``data`` at the preset's image size and dataset scale: the frames every run of the preset sees."""
    return dataclasses.replace(data, image_size=preset.image_size, scale=preset.data_scale)


def load_domain_frames(
    data_source: str, letter: str, splits: tuple[str, ...], per_video: int, options: DataOptions
) -> FrameSet:
    """Domain ``letter``'s frames of ``splits``, ``per_video`` frames kept per video."""
    loader = get_dataset(bind_domain(data_source, letter))
    return sample_frames(concat_frames([loader(split, options=options) for split in splits]), per_video)


def load_evaluation_frames(protocol: Protocol, data_source: str, options: DataOptions) -> tuple[FrameSet, FrameSet]:
    """(source validation, target test): the frames a run of ``protocol`` is scored on.

    Score submissions (:mod:`dgfas.submission`) are checked against these
    very frames, so a submitted score file covers what a dgfas run scores.
    """
    source_val = concat_frames([
        load_domain_frames(data_source, d, protocol.source_val, protocol.frames.eval, options) for d in protocol.sources
    ])
    target_test = load_domain_frames(data_source, protocol.target, protocol.target_test, protocol.frames.eval, options)
    return source_val, target_test


def resolve(spec: RunSpec, data: DataOptions) -> ResolvedRun:
    """Fill in defaults (preset, then overrides) and load the protocol's data.

    ``data`` says where data lives (cache, corpus roots) and how to build it;
    its image size and scale are replaced by the preset's.
    """
    protocol = get_protocol(spec.protocol)
    preset = get_preset(spec.preset)
    algorithm_cls = get_algorithm(spec.method)
    algorithm_config = with_overrides(algorithm_cls.Config(), spec.algorithm_overrides)
    train_sources = list(protocol.sources)
    if spec.holdout_source is not None:
        if spec.holdout_source not in train_sources or len(train_sources) < 2:
            raise DgfasError(f"holdout source {spec.holdout_source!r} must be one of the two or more sources of "
                             f"{protocol.name}: {train_sources}")
        train_sources.remove(spec.holdout_source)
    algorithm_cls.check_sources(algorithm_config, train_sources)
    model_config = resolve_model_config(preset, algorithm_config.model, spec.model_overrides)
    trainer_config = with_overrides(
        TrainerConfig(steps=preset.steps, batch_per_domain=preset.batch_per_domain, eval_every=preset.eval_every),
        spec.trainer_overrides,
    )
    get_selection_rule(trainer_config.selection_rule)

    options = preset_data_options(preset, data)
    source_train = {
        d: load_domain_frames(spec.data_source, d, protocol.source_train, protocol.frames.train, options)
        for d in train_sources
    }
    source_val, target_test = load_evaluation_frames(protocol, spec.data_source, options)
    if spec.holdout_source is not None:
        source_val = load_domain_frames(spec.data_source, spec.holdout_source, protocol.source_val,
                                        protocol.frames.eval, options)
    lacking = {name: domain for domain, frames in source_train.items() for name in algorithm_cls.maps
               if getattr(frames, name) is None}
    if lacking:
        raise UnsupportedSetting(
            f"{spec.method} trains on {sorted(lacking)} ground truth, which data source '{spec.data_source}' "
            f"does not give for domain(s) {sorted(set(lacking.values()))}"
        )
    fingerprint = frames_fingerprint([*source_train.values(), source_val, target_test])
    launch = distributed.from_environment()
    return ResolvedRun(
        spec, protocol, algorithm_config, model_config, trainer_config, source_train, source_val, target_test, fingerprint,
        world_size=launch.world_size if launch else 1,
    )


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def to_input(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) normalized float, channels-last in memory."""
    x = torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float().div_(255.0)
    x = (x - _MEAN.to(device)) / _STD.to(device)
    return x.contiguous(memory_format=torch.channels_last)


class BalancedSampler:
    """Endless balanced draws from one domain: half live, half spoof.

    The items are frames for frame methods and videos for clip methods. Each
    class is walked through a fresh permutation per pass, so every item is
    seen once before any is seen twice.
    """

    def __init__(self, label: np.ndarray, domain: str, rng: np.random.Generator) -> None:
        self.rng = rng
        self.pools = [np.flatnonzero(label == c) for c in (1, 0)]
        self.orders = [np.empty(0, dtype=np.int64) for _ in self.pools]
        if any(len(p) == 0 for p in self.pools):
            missing = "live" if len(self.pools[0]) == 0 else "spoof"
            raise DgfasError(f"domain {domain} has no {missing} training frames")

    def _take(self, cls: int, n: int) -> np.ndarray:
        taken = []
        while n > 0:
            if len(self.orders[cls]) == 0:
                self.orders[cls] = self.rng.permutation(self.pools[cls])
            part, self.orders[cls] = self.orders[cls][:n], self.orders[cls][n:]
            taken.append(part)
            n -= len(part)
        return np.concatenate(taken)

    def draw(self, batch_size: int) -> np.ndarray:
        live = batch_size // 2
        return np.concatenate([self._take(0, live), self._take(1, batch_size - live)])


class DomainBatches:
    """Draws one domain's training batches: single frames, or clips for a clip method.

    A clip method gets ``batch_per_domain // clip_length`` clips (at least
    one live and one spoof), so a step sees about as many images either way.
    """

    def __init__(self, frames: FrameSet, clip_length: int, rng: np.random.Generator) -> None:
        self.rng = rng
        self.clips = VideoClips(frames, clip_length) if clip_length > 1 else None
        label = self.clips.label if self.clips is not None else frames.label
        self.sampler = BalancedSampler(label, frames.domain, rng)

    def draw_rows(self, batch_per_domain: int) -> np.ndarray:
        """(B,) frame rows, or (B, T) rows of B clips."""
        if self.clips is None:
            return self.sampler.draw(batch_per_domain)
        videos = self.sampler.draw(max(2, batch_per_domain // self.clips.length))
        return self.clips.random_clips(videos, self.rng)


def make_batch(
    frames: FrameSet, rows: np.ndarray, maps: tuple[str, ...], device: torch.device, flip: np.ndarray | None
) -> Batch:
    """Tensors for ``rows``; ``flip`` (bool per row) mirrors images and maps alike.

    ``rows`` is (B,) for single frames or (B, T) for clips; every tensor then
    has the same leading dimensions, e.g. images (B, T, 3, H, W), and a clip
    is flipped as a whole.
    """
    lead = rows.shape
    flat = rows.reshape(-1)
    if flip is not None:
        flip = np.broadcast_to(flip.reshape(flip.shape + (1,) * (rows.ndim - 1)), lead).reshape(-1)
    images = frames.images[flat]
    if flip is not None:
        images = np.where(flip[:, None, None, None], images[:, :, ::-1], images)
    image = to_input(images, device)
    batch = Batch(
        image=image.view(*lead, *image.shape[1:]),
        label=torch.from_numpy(frames.label[rows if rows.ndim == 1 else rows[:, 0]].astype(np.float32)).to(device),
    )
    for name in maps:
        values = getattr(frames, name)
        if values is None:
            raise DgfasError(f"domain {frames.domain} has no {name} maps, which this method needs")
        values = values[flat]
        if flip is not None and values.ndim > 1:
            values = np.where(flip.reshape(-1, *([1] * (values.ndim - 1))), values[:, :, ::-1], values)
        tensor = torch.from_numpy(np.ascontiguousarray(values))
        if name == "depth":
            tensor = tensor.float().unsqueeze(1)
        elif name == "parsing":
            tensor = tensor.long()
        elif name == "reflection":
            tensor = tensor.float().permute(0, 3, 1, 2)
        else:
            tensor = tensor.float()
        setattr(batch, name, tensor.reshape(*lead, *tensor.shape[1:]).to(device))
    return batch


def score_frames(algorithm: Algorithm, frames: FrameSet, device: torch.device, chunk: int = 256) -> pd.DataFrame:
    """Frame-level score table in the score-file format.

    A clip method scores clips that cover each video, and every frame takes
    the score of the clip it belongs to.
    """
    if algorithm.clip_length > 1 and len(frames):
        clips, owner = VideoClips(frames, algorithm.clip_length).covering_clips()
        per_chunk = max(1, chunk // algorithm.clip_length)
        clip_scores = []
        for i in range(0, len(clips), per_chunk):
            rows = clips[i : i + per_chunk]
            x = to_input(frames.images[rows.reshape(-1)], device)
            clip_scores.append(algorithm.predict(x.view(*rows.shape, *x.shape[1:])).float().cpu().numpy())
        scores = np.concatenate(clip_scores)[owner]
    else:
        chunks = [
            algorithm.predict(to_input(frames.images[i : i + chunk], device)).float().cpu().numpy()
            for i in range(0, len(frames), chunk)
        ]
        scores = np.concatenate(chunks) if chunks else np.empty(0)
    return score_table(frames, scores)


def score_table(frames: FrameSet, scores: np.ndarray) -> pd.DataFrame:
    """The frame-level table of ``scores`` (N,) of ``frames``, in the score-file format.

    Labels, attack types and domains come from ``frames``; the trainer and
    score submissions both build their tables here, so their files and
    metrics agree column for column.
    """
    return pd.DataFrame(
        {
            "video_id": frames.video_id,
            "frame": frames.frame,
            "label": frames.label.astype(int),
            "score": scores,
            "attack_type": frames.attack_type,
            "domain": np.array([v.split("/", 1)[0] for v in frames.video_id.astype(str)]),
        }
    )


def map_examples(algorithm: Algorithm, frames: FrameSet, device: torch.device, per_class: int = 2) -> dict[str, np.ndarray]:
    """A few target frames, live and spoof, with the dense maps the algorithm predicts for them.

    The first frame of the first ``per_class`` live and spoof videos (by video id),
    so every method run on a protocol shows the same faces in the HTML leaderboard.

    Returns:
        ``image`` (N, H, W, 3) uint8, ``label`` (N,), ``video_id`` (N,) and one
        ``map.<name>`` (N, C, h, w) float16 per predicted map (see
        ``Algorithm.output_maps``); empty when the algorithm predicts no maps.
    """
    first = np.unique(frames.video_id, return_index=True)[1]  # first row of each video, by video id
    rows = np.concatenate([first[frames.label[first] == label][:per_class] for label in (1, 0)])
    maps = algorithm.predict_maps(to_input(frames.images[rows], device))
    if not maps:
        return {}
    return {
        "image": frames.images[rows],
        "label": frames.label[rows],
        "video_id": frames.video_id[rows].astype(str),
        **{f"map.{name}": value.float().cpu().numpy().astype(np.float16) for name, value in maps.items()},
    }


def metrics_by_name(table: pd.DataFrame, role: str, level: str, dev_threshold: float) -> dict[str, float]:
    """Flat metrics of one score table under both threshold rules (MLflow names)."""
    label, score, attack = table["label"].to_numpy(), table["score"].to_numpy(), table["attack_type"].to_numpy()
    out: dict[str, float] = {}
    for rule, threshold in (("dev_eer", dev_threshold), ("oracle_eer", eer_threshold(label, score))):
        values = compute_metrics(label, score, attack, threshold=threshold, threshold_rule=rule).as_dict()
        for name in THRESHOLD_DEPENDENT:
            out[f"{role}.{level}.{name}.{rule}"] = float(values[name])
    for name in THRESHOLD_FREE:
        out[f"{role}.{level}.{name}"] = float(values[name])
    return out


def evaluate(algorithm: Algorithm, run: ResolvedRun, device: torch.device) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """Score source validation and target test; target thresholds come from source validation."""
    tables: dict[str, pd.DataFrame] = {}
    for role, frames in (("source_val", run.source_val), ("target_test", run.target_test)):
        tables[f"{role}.frame"] = score_frames(algorithm, frames, device)
        tables[f"{role}.video"] = video_level(tables[f"{role}.frame"])
    return final_metrics(tables), tables


def final_metrics(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Every metric of the score tables ``{role}.{level}`` a run reports, by MLflow name.

    At each level the ``dev_eer`` threshold is the source-validation EER
    threshold, applied to source validation and target test alike.
    """
    metrics: dict[str, float] = {}
    for level in ("frame", "video"):
        val = tables[f"source_val.{level}"]
        dev_threshold = eer_threshold(val["label"].to_numpy(), val["score"].to_numpy())
        for role in ("source_val", "target_test"):
            metrics.update(metrics_by_name(tables[f"{role}.{level}"], role, level, dev_threshold))
    return metrics


@dataclass
class RunResult:
    run_key: str
    metrics: dict[str, float]
    selected_step: int
    tables: dict[str, pd.DataFrame]
    seconds: float
    map_examples: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class TrainingState:
    """Everything a run needs to go on from a step exactly as if never stopped."""

    algorithm: Algorithm
    rng: np.random.Generator
    samplers: dict[str, DomainBatches]
    step: int = 0
    best_key: tuple | None = None
    best_step: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    evaluations: dict[int, dict[str, float]] = dataclasses.field(default_factory=dict)

    def save(self, path: Path) -> None:
        snapshot = {
            "step": self.step,
            "algorithm": self.algorithm.state_dict(),
            "optimizers": [o.state_dict() for o in self.algorithm.optimizers()],
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": self.rng.bit_generator.state,
            "sampler_orders": {d: s.sampler.orders for d, s in self.samplers.items()},
            "best": (self.best_key, self.best_step, self.best_state),
            "evaluations": self.evaluations,
        }
        atomic_write(path, lambda file: torch.save(snapshot, file))

    def restore(self, path: Path) -> None:
        try:
            # Our own file, holding numpy generator state besides tensors.
            saved = torch.load(path, map_location="cpu", weights_only=False)
            self.algorithm.load_state_dict(saved["algorithm"])
            for optimizer, optimizer_state in zip(self.algorithm.optimizers(), saved["optimizers"], strict=True):
                optimizer.load_state_dict(optimizer_state)
            torch.set_rng_state(saved["torch_rng"])
            self.rng.bit_generator.state = saved["numpy_rng"]
            for domain, orders in saved["sampler_orders"].items():
                self.samplers[domain].sampler.orders = orders
            self.best_key, self.best_step, self.best_state = saved["best"]
            self.evaluations = saved["evaluations"]
            self.step = saved["step"]
        except Exception as err:  # torch.load and load_state_dict raise many types
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise DgfasError(f"{path}: cannot resume from this checkpoint ({reason}); delete it to start the run over") from None


def train(
    run: ResolvedRun,
    log_metrics: Callable[[dict[str, float], int], None] = lambda metrics, step: None,
    progress: bool = True,
    checkpoint: Path | None = None,
    launch: distributed.Distributed | None = None,
) -> RunResult:
    """Train, evaluate every ``eval_every`` steps, and return the selected checkpoint's scores.

    With ``checkpoint``, the whole training state (weights, optimizers, random
    generators, samplers, the best candidate so far) is saved atomically at
    every evaluation, and a run that finds the file resumes after the saved
    step with the same result it would have had uninterrupted.

    With ``launch`` (one of several ``torchrun`` processes, see
    :mod:`dgfas.distributed`), each process draws its own batches (its
    generator is seeded by (seed, rank)), gradients are averaged before every
    optimizer step, each process keeps its own checkpoint file, and only
    process 0 evaluates; the others return a result without metrics.
    """
    started = time.perf_counter()
    cfg = run.trainer_config
    torch.manual_seed(run.spec.seed)
    rng = np.random.default_rng(run.spec.seed if launch is None else [run.spec.seed, launch.rank])
    device = pick_device(cfg.device) if launch is None else distributed.start(launch)
    evaluates = launch is None or launch.is_main
    if launch is not None and checkpoint is not None:
        checkpoint = checkpoint.with_name(f"{checkpoint.stem}.rank{launch.rank}{checkpoint.suffix}")
    algorithm_cls = get_algorithm(run.spec.method)
    domains = list(run.source_train)
    algorithm = algorithm_cls(run.algorithm_config, run.model_config, domains).to(device)
    algorithm = algorithm.to(memory_format=torch.channels_last)
    samplers = {d: DomainBatches(fs, algorithm.clip_length, rng) for d, fs in run.source_train.items()}
    state = TrainingState(algorithm, rng, samplers)
    rule = get_selection_rule(cfg.selection_rule)
    if checkpoint is not None and checkpoint.is_file():
        state.restore(checkpoint)
    if launch is not None:
        distributed.require_same(state.step, "checkpoint step")
        distributed.broadcast_state(algorithm)
        distributed.average_gradients_before_each_step(algorithm.optimizers())

    bar = tqdm(range(state.step + 1, cfg.steps + 1), desc=f"{run.spec.method} {run.protocol.name} seed {run.spec.seed}",
               disable=not progress, leave=False, dynamic_ncols=True, initial=state.step, total=cfg.steps)
    for step in bar:
        batches = {}
        for domain, sampler in state.samplers.items():
            rows = sampler.draw_rows(cfg.batch_per_domain)
            flip = rng.random(len(rows)) < 0.5 if cfg.augment else None
            batches[domain] = make_batch(run.source_train[domain], rows, algorithm_cls.maps, device, flip)
        losses = algorithm.update(batches)
        state.step = step
        if step % 10 == 0 or step == cfg.steps:
            log_metrics({f"train.{k}": v for k, v in losses.items()}, step)
            bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()})
        if step % cfg.eval_every != 0 and step != cfg.steps:
            continue
        if launch is not None:
            distributed.average_buffers(algorithm)
            distributed.check_in_step(algorithm)
        if evaluates:
            metrics, _ = evaluate(algorithm, run, device)
            state.evaluations[step] = metrics
            log_metrics({f"eval.{k}": metrics[k] for k in (
                "source_val.video.eer", "source_val.video.auc", "target_test.video.auc",
                "target_test.video.hter.dev_eer")}, step)
            key = rule.key(step, metrics)
            if state.best_key is None or key < state.best_key:
                state.best_key, state.best_step = key, step
                state.best_state = copy.deepcopy(algorithm.state_dict())
        if checkpoint is not None and step < cfg.steps:
            state.save(checkpoint)
    bar.close()
    if not evaluates:
        return RunResult(run.run_key, {}, 0, {}, time.perf_counter() - started)
    assert state.best_state is not None  # the last step always evaluates
    algorithm.load_state_dict(state.best_state)
    metrics, tables = evaluate(algorithm, run, device)
    metrics["selected_step"] = float(state.best_step)
    metrics.update(metrics_under_other_rules(state.evaluations, cfg.selection_rule))
    examples = map_examples(algorithm, run.target_test, device)
    return RunResult(run.run_key, metrics, state.best_step, tables, time.perf_counter() - started, examples)


def metrics_under_other_rules(evaluations: dict[int, dict[str, float]], rule: str) -> dict[str, float]:
    """What the run would report under every other selection rule: ``selection.<rule>.<metric>``.

    Evaluation is deterministic, so the metrics computed at a step are those
    of that step's checkpoint, and one run answers for every rule without
    training again. This is what lets a leaderboard print the numbers DG-FAS
    papers report (checkpoint chosen on the target test split, ``oracle``)
    beside the honest ones.
    """
    others = {}
    for name in SELECTION_RULES.names():
        if name == rule:
            continue
        key = SELECTION_RULES.get(name).key
        step = min(evaluations, key=lambda s: key(s, evaluations[s]))
        others.update({f"selection.{name}.{k}": v for k, v in evaluations[step].items()})
        others[f"selection.{name}.selected_step"] = float(step)
    return others


def write_score_files(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """One CSV per role and level, e.g. ``target_test.video.csv``, written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in tables.items():
        path = out_dir / f"{name}.csv"
        write_scores(table, path)
        paths.append(path)
    return paths
