"""Train one method on one protocol, select a checkpoint, score and log it.

The trainer is the only place that knows about protocols, data and MLflow at
once: it takes balanced live/spoof batches per source domain from
:mod:`dgfas.data.batches`, calls the algorithm's ``update`` (under autocast
at the run's precision), evaluates on source validation and target test at
fixed intervals, keeps the checkpoint a named selection rule prefers, and
writes frame- and video-level score files.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import platform
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from dgfas import checkpoints, distributed, interrupts
from dgfas.algorithms import Algorithm, get_algorithm
from dgfas.algorithms.base import MAP_NAMES
from dgfas.code_identity import code_hash
from dgfas.config import setting, with_overrides
from dgfas.data.batches import TrainingBatches, to_input
from dgfas.data.clips import VideoClips
from dgfas.data.frames import FrameSet, concat_frames, frames_fingerprint, sample_frames
from dgfas.data.registry import DataOptions, get_dataset
from dgfas.data.sources import bind_domain
from dgfas.errors import DgfasError, UnsupportedSetting
from dgfas.metrics import THRESHOLD_DEPENDENT, THRESHOLD_FREE, compute_metrics, eer_threshold
from dgfas.models import get_model
from dgfas.models.weights import IMAGENET, weights_file
from dgfas.precision import PRECISIONS, autocast, resolve_precision
from dgfas.presets import Preset, get_preset
from dgfas.protocols import Protocol, get_protocol
from dgfas.scores import video_level, write_scores
from dgfas.selection import SELECTION_RULES, get_selection_rule

#: Version of the training-state file :meth:`TrainingState.save` writes; a file of
#: another version is refused rather than misread. Format 4 holds tensors and plain
#: values only and keeps its sha256 beside it (:mod:`dgfas.checkpoints`).
CHECKPOINT_FORMAT = 4

#: Trainer settings that change how fast a run goes, never its numbers: logged, not part of its identity.
_SPEED_ONLY = ("trainer.device_cache_share",)


@dataclass(frozen=True)
class TrainerConfig:
    """Attributes:
    steps: training steps (one ``update`` call each).
    batch_per_domain: images per source domain per step, half live, half spoof.
    eval_every: steps between evaluations; each is a selection candidate.
    selection_rule: name in :data:`dgfas.selection.SELECTION_RULES`.
    augment: random horizontal flips of images and their maps.
    device: ``auto`` (CUDA when present), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``,
        one this machine has; :func:`resolve` stores the device it resolved to.
    precision: ``auto``, ``fp32`` or ``bf16`` (see :mod:`dgfas.precision`);
        :func:`resolve` stores the resolved ``fp32`` or ``bf16``, so the
        precision that ran is logged and keys the run.
    device_cache_share: largest share of an accelerator's memory the
        source-training frames (uint8 images and the method's maps) may take
        to be uploaded once and batched on the device; beyond it batches are
        prefetched from the host (:mod:`dgfas.data.batches`). It changes speed,
        not results, so it is left out of the run key.
    """

    steps: int = setting(300, at_least=1)
    batch_per_domain: int = setting(16, at_least=2, why="a balanced batch needs a live and a spoof image, and "
                                    "batch norm more than one value per channel")
    eval_every: int = setting(50, at_least=1)
    selection_rule: str = setting("source_val", choices=SELECTION_RULES)
    augment: bool = True
    device: str = "auto"  # what exists depends on the machine, so pick_device checks it
    precision: str = setting("auto", choices=PRECISIONS)
    device_cache_share: float = setting(0.5, at_least=0, at_most=1)


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
        parts += [f"trainer.{k}={getattr(self.trainer_config, k)}" for k in sorted(self.spec.trainer_overrides)
                  if k not in ("device", "device_cache_share")]
        return f"{self.spec.method}[{', '.join(parts)}]" if parts else self.spec.method

    @property
    def code_hash(self) -> str:
        """Hash of the source this run's training and scoring go through (:mod:`dgfas.code_identity`)."""
        return code_hash(self.spec.method, getattr(self.algorithm_config, "model", None))

    def params(self) -> dict[str, str]:
        params = {
            "method": self.spec.method,
            "variant": self.variant,
            "seed": str(self.spec.seed),
            "preset": self.spec.preset,
            "data_source": self.spec.data_source,
            "selection_rule": self.trainer_config.selection_rule,
            "code_hash": self.code_hash,
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
        """The run's identity: its resolved params (the code hash and protocol hash among them) and its data.

        Two runs with one key would compute the same numbers on one machine, so
        a benchmark skips a key it finds finished, and a changed method file,
        protocol file or data cache trains anew.
        """
        params = {k: v for k, v in self.params().items() if k not in _SPEED_ONLY}
        identity = {**params, "data_fingerprint": self.data_fingerprint}
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def git_commit() -> str | None:
    """The checkout's commit, with ``+dirty`` when it has uncommitted changes; None outside a git checkout.

    Only a checkout of dgfas itself counts: an installed wheel's folder may lie inside some other repository
    (a venv in a project), whose commit says nothing about this code.
    """
    repo = Path(__file__).resolve().parent.parent
    if not (repo / ".git").exists():  # a file in a worktree, a folder in a clone
        return None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def device_name(device: torch.device) -> str:
    """The model name of the processor a run computes on: the GPU's, or the CPU's.

    Logged with each run because float rounding differs between CPU kernels
    and GPUs, and at small presets that moves a leaderboard cell by points.
    """
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        cpuinfo = ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def resolve_model_config(preset: Preset, model: str, overrides: dict[str, Any], data_source: str) -> Any:
    """A model's config: its defaults, then the preset's width and initialization for it, then ``overrides``.

    The preset's initialization is ``imagenet`` where it asks for ImageNet
    weights on real data (``paper``) and the backbone has them; synthetic
    data keeps the config's ``none``.
    """
    entry = get_model(model)
    fields = {f.name for f in dataclasses.fields(entry.config)}
    preset_settings: dict[str, Any] = {"width": preset.width_of(model)} if "width" in fields else {}
    if (preset.imagenet_on_real_data and data_source != "synthetic" and entry.imagenet is not None
            and "weights" in fields):
        preset_settings["weights"] = IMAGENET
    return with_overrides(entry.config(), {**preset_settings, **overrides}, "model")


def preset_data_options(preset: Preset, data: DataOptions) -> DataOptions:
    """``data`` at the preset's image size and dataset scale: the frames every run of the preset sees."""
    return dataclasses.replace(data, image_size=preset.image_size, scale=preset.data_scale)


def load_domain_frames(
    data_source: str, letter: str, splits: tuple[str, ...], per_video: int, options: DataOptions
) -> FrameSet:
    """Domain ``letter``'s frames of ``splits``, ``per_video`` frames kept per video."""
    loader = get_dataset(bind_domain(data_source, letter))
    return sample_frames(concat_frames([loader(split, options=options) for split in splits]), per_video)


def load_protocol_frames(
    protocol: Protocol, data_source: str, options: DataOptions, train_sources: list[str]
) -> tuple[dict[str, FrameSet], FrameSet, FrameSet]:
    """(source training frames by domain, source validation, target test) of a run of ``protocol``.

    An intra protocol's roles train, dev and test play the three parts, on
    its one domain (:mod:`dgfas.data.intra`); a cross-domain protocol takes
    its splits of its domains.
    """
    if protocol.kind == "intra":
        from dgfas.data.intra import load_role_frames

        roles = load_role_frames(protocol, data_source, options)
        return ({protocol.target: sample_frames(roles["train"], protocol.frames.train)},
                sample_frames(roles["dev"], protocol.frames.eval), sample_frames(roles["test"], protocol.frames.eval))
    source_train = {
        d: load_domain_frames(data_source, d, protocol.source_train, protocol.frames.train, options)
        for d in train_sources
    }
    return (source_train, *load_evaluation_frames(protocol, data_source, options))


def load_evaluation_frames(protocol: Protocol, data_source: str, options: DataOptions) -> tuple[FrameSet, FrameSet]:
    """(source validation, target test): the frames a run of ``protocol`` is scored on.

    Score submissions (:mod:`dgfas.submission`) are checked against these
    very frames, so a submitted score file covers what a dgfas run scores.
    """
    if protocol.kind == "intra":
        return load_protocol_frames(protocol, data_source, options, [protocol.target])[1:]
    source_val = concat_frames([
        load_domain_frames(data_source, d, protocol.source_val, protocol.frames.eval, options) for d in protocol.sources
    ])
    target_test = load_domain_frames(data_source, protocol.target, protocol.target_test, protocol.frames.eval, options)
    return source_val, target_test


@dataclass(frozen=True)
class Settings:
    """A job's settings with every default filled in and every value checked: all of a run but its data."""

    protocol: Protocol
    algorithm_config: Any
    model_config: Any
    trainer_config: TrainerConfig
    train_sources: tuple[str, ...]


def resolve_settings(spec: RunSpec) -> Settings:
    """Fill in defaults (preset, then overrides) and check every value, loading no data.

    Cheap, so a benchmark resolves every job's settings before the first job
    trains: a bad value in the last job fails at once, not hours in. Model
    weights that cannot load (a missing file, ImageNet weights at another
    width) are refused here too.
    """
    protocol = get_protocol(spec.protocol)
    preset = get_preset(spec.preset)
    algorithm_config = with_overrides(get_algorithm(spec.method).Config(), spec.algorithm_overrides, "algorithm")
    train_sources = list(protocol.sources)
    if spec.holdout_source is not None:
        if spec.holdout_source not in train_sources or len(train_sources) < 2:
            raise DgfasError(f"holdout source {spec.holdout_source!r} must be one of the two or more sources of "
                             f"{protocol.name}: {train_sources}")
        train_sources.remove(spec.holdout_source)
    model_config = resolve_model_config(preset, algorithm_config.model, spec.model_overrides, spec.data_source)
    if hasattr(model_config, "weights"):
        weights_file(model_config.weights, architecture=algorithm_config.model,
                     width=getattr(model_config, "width", 1.0), imagenet=get_model(algorithm_config.model).imagenet)
    trainer_config = with_overrides(
        TrainerConfig(steps=preset.steps, batch_per_domain=preset.batch_per_domain, eval_every=preset.eval_every),
        spec.trainer_overrides,
        "trainer",
    )
    device = pick_device(trainer_config.device)
    trainer_config = dataclasses.replace(
        trainer_config, device=str(device), precision=resolve_precision(trainer_config.precision, device)
    )
    return Settings(protocol, algorithm_config, model_config, trainer_config, tuple(train_sources))


def resolve(spec: RunSpec, data: DataOptions) -> ResolvedRun:
    """Resolve the job's settings (:func:`resolve_settings`) and load the protocol's data.

    ``data`` says where data lives (cache, corpus roots) and how to build it;
    its image size and scale are replaced by the preset's.
    """
    settings = resolve_settings(spec)
    protocol, train_sources = settings.protocol, list(settings.train_sources)
    algorithm_cls = get_algorithm(spec.method)
    algorithm_cls.check_sources(settings.algorithm_config, train_sources)

    options = preset_data_options(get_preset(spec.preset), data)
    source_train, source_val, target_test = load_protocol_frames(protocol, spec.data_source, options, train_sources)
    if spec.holdout_source is not None:
        source_val = load_domain_frames(spec.data_source, spec.holdout_source, protocol.source_val,
                                        protocol.frames.eval, options)
    # a run holds only the maps its method trains on; evaluation needs none
    maps = algorithm_cls.maps_for(settings.algorithm_config)
    unused = {name: None for name in MAP_NAMES if name not in maps}
    source_train = {d: dataclasses.replace(fs, **unused) for d, fs in source_train.items()}
    no_maps = dict.fromkeys(MAP_NAMES)
    source_val, target_test = dataclasses.replace(source_val, **no_maps), dataclasses.replace(target_test, **no_maps)
    lacking = {name: domain for domain, frames in source_train.items() for name in maps
               if getattr(frames, name) is None}
    if lacking:
        raise UnsupportedSetting(
            f"{spec.method} trains on {sorted(lacking)} ground truth, which data source '{spec.data_source}' "
            f"does not give for domain(s) {sorted(set(lacking.values()))}"
        )
    fingerprint = frames_fingerprint([*source_train.values(), source_val, target_test])
    launch = distributed.from_environment()
    return ResolvedRun(
        spec, protocol, settings.algorithm_config, settings.model_config, settings.trainer_config, source_train,
        source_val, target_test, fingerprint, world_size=launch.world_size if launch else 1,
    )


def available_devices() -> list[str]:
    """The values ``trainer.device`` may take on this machine: ``auto``, ``cpu`` and each accelerator present."""
    names = ["auto", "cpu"]
    if torch.cuda.is_available():
        names += ["cuda", *(f"cuda:{index}" for index in range(torch.cuda.device_count()))]
    if torch.backends.mps.is_available():
        names.append("mps")
    return names


def pick_device(name: str) -> torch.device:
    """The device ``trainer.device`` names; ``auto`` is CUDA when present.

    A device this machine lacks (``cuda`` without a GPU, ``cuda:3`` on a
    two-GPU node) is a one-line error here, before any data is built, rather
    than a traceback from the first tensor moved to it.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    available = available_devices()
    if name not in available:
        raise DgfasError(f"trainer.device must be one of {available} on this machine, got {name!r}")
    return torch.device(name)


#: Pixels a CPU scores at once: 512 crops of 64², whose activations take a few hundred MB.
#: At 256² that is 32 crops; 512 of them would hold several GB of activations in RAM.
_CPU_SCORING_PIXELS = 512 * 64 * 64


def scoring_chunk(frames: FrameSet, device: torch.device) -> int:
    """Images scored at once: 512 on an accelerator, as many as :data:`_CPU_SCORING_PIXELS` allows on the CPU."""
    if device.type != "cpu" or not len(frames):
        return 512
    height, width = frames.images.shape[1:3]
    return max(8, _CPU_SCORING_PIXELS // (height * width))


def score_frames(
    algorithm: Algorithm, frames: FrameSet, device: torch.device, chunk: int | None = None, precision: str = "fp32",
    progress: bool = False,
) -> pd.DataFrame:
    """Frame-level score table in the score-file format.

    The split streams through the model ``chunk`` images at a time (by default
    :func:`scoring_chunk`), under
    autocast at the run's resolved ``precision``, while a thread reads the next
    chunk's frames from the arrays (memory maps of the cache), so no copy of
    the split is held and the model rarely waits. Scores come back as fp32.

    A clip method scores clips that cover each video, and every frame takes
    the score of the clip it belongs to.
    """
    chunk = chunk or scoring_chunk(frames, device)
    owner = None
    if algorithm.clip_length > 1 and len(frames):
        clips, owner = VideoClips(frames, algorithm.clip_length).covering_clips()
        per_chunk = max(1, chunk // algorithm.clip_length)
        parts: list[Any] = [clips[i : i + per_chunk] for i in range(0, len(clips), per_chunk)]
    else:
        parts = [slice(i, i + chunk) for i in range(0, len(frames), chunk)]

    def read(part: Any) -> torch.Tensor:
        # (n, H, W, 3) uint8, contiguous rows for a slice; pinned so an accelerator copies it asynchronously
        rows = part if isinstance(part, slice) else part.reshape(-1)
        images = torch.from_numpy(np.ascontiguousarray(frames.images[rows]))
        return images.pin_memory() if device.type == "cuda" else images

    scores = []
    total = len(frames) if owner is None else sum(part.size for part in parts)
    with ThreadPoolExecutor(1, "dgfas-scoring") as reader, tqdm(
        total=total, desc=f"scoring {frames.domain}", unit="image", disable=not progress, leave=False, dynamic_ncols=True
    ) as bar:
        pending = reader.submit(read, parts[0]) if parts else None
        for k, part in enumerate(parts):
            images = pending.result()
            if k + 1 < len(parts):
                pending = reader.submit(read, parts[k + 1])
            x = to_input(images, device, algorithm.memory_format)
            if owner is not None:
                x = x.view(*part.shape, *x.shape[1:])  # (clips, T, 3, H, W)
            with autocast(precision, device):
                scores.append(algorithm.predict(x).cpu().numpy())  # predict returns fp32
            bar.update(len(images))
    joined = np.concatenate(scores) if scores else np.empty(0, dtype=np.float32)
    return score_table(frames, joined if owner is None else joined[owner])


def score_table(frames: FrameSet, scores: np.ndarray) -> pd.DataFrame:
    """The frame-level table of ``scores`` (N,) of ``frames``, in the score-file format.

    Labels, attack types, domains and subjects come from ``frames``; the
    trainer and score submissions both build their tables here, so their
    files and metrics agree column for column.
    """
    return pd.DataFrame(
        {
            "video_id": frames.video_id,
            "frame": frames.frame,
            "label": frames.label.astype(int),
            "score": scores,
            "attack_type": frames.attack_type,
            "domain": np.array([v.split("/", 1)[0] for v in frames.video_id.astype(str)]),
            "subject": frames.subject,
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
    maps = algorithm.predict_maps(to_input(frames.images[rows], device, algorithm.memory_format))
    if not maps:
        return {}
    return {
        "image": frames.images[rows],
        "label": frames.label[rows],
        "video_id": frames.video_id[rows].astype(str),
        # predict_maps gives fp32 maps
        **{f"map.{name}": value.cpu().numpy().astype(np.float16) for name, value in maps.items()},
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


def evaluate(
    algorithm: Algorithm, run: ResolvedRun, device: torch.device, progress: bool = False
) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """Score source validation and target test; target thresholds come from source validation."""
    precision = resolve_precision(run.trainer_config.precision, device)
    tables: dict[str, pd.DataFrame] = {}
    for role, frames in (("source_val", run.source_val), ("target_test", run.target_test)):
        tables[f"{role}.frame"] = score_frames(algorithm, frames, device, precision=precision, progress=progress)
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


@dataclass
class TrainingState:
    """Everything a run needs to go on from a step exactly as if never stopped.

    ``target_scores`` keeps each evaluation's target-test video scores (one
    float per video, in the order of the ``target_test.video`` table, which
    is the same at every evaluation): the score files of the checkpoints other
    selection rules pick are written from them without scoring again.
    """

    algorithm: Algorithm
    batches: TrainingBatches
    step: int = 0
    best_key: tuple | None = None
    best_step: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    evaluations: dict[int, dict[str, float]] = dataclasses.field(default_factory=dict)
    target_scores: dict[int, np.ndarray] = dataclasses.field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Write the state to ``path``, with its sha256 beside it (:mod:`dgfas.checkpoints`).

        Numpy arrays (sampler orders, target scores) become tensors and numpy
        numbers Python ones, since loading must not build anything else.
        """
        batches = self.batches.state()
        best_key = None if self.best_key is None else tuple(_plain_number(v) for v in self.best_key)
        snapshot = {
            "format": CHECKPOINT_FORMAT,
            "step": self.step,
            "algorithm": self.algorithm.state_dict(),
            "optimizers": [o.state_dict() for o in self.algorithm.optimizers()],
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": batches["numpy_rng"],  # a dict of ints and strings
            "sampler_orders": {domain: [torch.tensor(order) for order in orders]
                               for domain, orders in batches["sampler_orders"].items()},
            "best": (best_key, self.best_step, self.best_state),
            "evaluations": {step: {k: float(v) for k, v in metrics.items()}
                            for step, metrics in self.evaluations.items()},
            "target_scores": {step: torch.tensor(scores) for step, scores in self.target_scores.items()},
        }
        checkpoints.save(path, snapshot)

    def restore(self, path: Path) -> None:
        """Go on from the state saved in ``path``; a file that is not one :meth:`save` wrote is a one-line error."""
        saved = checkpoints.load(path)
        version = saved.get("format") if isinstance(saved, dict) else None
        if version != CHECKPOINT_FORMAT:
            raise checkpoints.refusal(
                path, f"written by another dgfas version: format {version}, this one reads {CHECKPOINT_FORMAT}")
        try:
            self.algorithm.load_state_dict(saved["algorithm"])
            for optimizer, optimizer_state in zip(self.algorithm.optimizers(), saved["optimizers"], strict=True):
                optimizer.load_state_dict(optimizer_state)
            torch.set_rng_state(saved["torch_rng"])
            self.batches.load_state({
                "numpy_rng": saved["numpy_rng"],
                "sampler_orders": {domain: [order.numpy() for order in orders]
                                   for domain, orders in saved["sampler_orders"].items()},
            })
            self.best_key, self.best_step, self.best_state = saved["best"]
            self.evaluations = saved["evaluations"]
            self.target_scores = {step: scores.numpy() for step, scores in saved["target_scores"].items()}
            self.step = saved["step"]
        except Exception as err:  # load_state_dict raises many types
            raise checkpoints.refusal(path, str(err).splitlines()[0] if str(err) else type(err).__name__) from None


def _plain_number(value: Any) -> Any:
    """``value`` as a Python number if it is a numpy one (a selection key may hold metrics of either)."""
    return value.item() if isinstance(value, np.generic) else value


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
                state.target_scores[step] = evaluated["target_test.video"]["score"].to_numpy()
                log_metrics({f"eval.{k}": metrics[k] for k in (
                    "source_val.video.eer", "source_val.video.auc", "target_test.video.auc",
                    "target_test.video.hter.dev_eer")}, step)
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
    metrics["selected_step"] = float(state.best_step)
    metrics.update(metrics_under_other_rules(state.evaluations, cfg.selection_rule))
    target_videos = tables["target_test.video"]
    for name, step in steps_under_other_rules(state.evaluations, cfg.selection_rule).items():
        tables[f"selection.{name}.target_test.video"] = target_videos.assign(score=state.target_scores[step])
    examples = map_examples(algorithm, run.target_test, device)
    return RunResult(run.run_key, metrics, state.best_step, tables, time.perf_counter() - started, examples)


def steps_under_other_rules(evaluations: dict[int, dict[str, float]], rule: str) -> dict[str, int]:
    """The evaluated step every selection rule other than ``rule`` would pick, by rule name."""
    steps = {}
    for name in SELECTION_RULES.names():
        if name == rule:
            continue
        key = SELECTION_RULES.get(name).key
        steps[name] = min(evaluations, key=lambda s: key(s, evaluations[s]))
    return steps


def metrics_under_other_rules(evaluations: dict[int, dict[str, float]], rule: str) -> dict[str, float]:
    """What the run would report under every other selection rule: ``selection.<rule>.<metric>``.

    Evaluation is deterministic, so the metrics computed at a step are those
    of that step's checkpoint, and one run answers for every rule without
    training again. This is what lets a leaderboard print the numbers DG-FAS
    papers report (checkpoint chosen on the target test split, ``oracle``)
    beside the honest ones.
    """
    others = {}
    for name, step in steps_under_other_rules(evaluations, rule).items():
        others.update({f"selection.{name}.{k}": v for k, v in evaluations[step].items()})
        others[f"selection.{name}.selected_step"] = float(step)
    return others


def write_score_files(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """One CSV per table of ``tables``, named after its key (``target_test.video.csv``,
    ``selection.oracle.target_test.video.csv``), written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in tables.items():
        path = out_dir / f"{name}.csv"
        write_scores(table, path)
        paths.append(path)
    return paths
