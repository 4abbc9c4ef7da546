"""What a run is and how it is resolved: its spec, its settings with every default filled in, and its data.

A run is a function of its :class:`RunSpec`; :func:`resolve` fills in the
preset's defaults and the overrides, checks every value, loads the
protocol's frames and gives the :class:`ResolvedRun` whose params are logged
and whose key (a hash of its params, code and data) lets a benchmark skip a
run it finds finished. Resolving is kept apart from training so a benchmark
can check every job's settings (:func:`resolve_settings`) before the first
one trains.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dgfas import distributed
from dgfas.algorithms import get_algorithm
from dgfas.code_identity import code_hash
from dgfas.config import setting, with_overrides
from dgfas.data.frame_cache import MAPS
from dgfas.data.frames import FrameSet, frames_fingerprint
from dgfas.data.protocol_frames import load_domain_frames, load_protocol_frames, preset_data_options
from dgfas.data.registry import DataOptions
from dgfas.devices import pick_device
from dgfas.errors import DgfasError, UnsupportedSetting
from dgfas.models import get_model
from dgfas.models.weights import IMAGENET, weights_file
from dgfas.precision import PRECISIONS, resolve_precision
from dgfas.presets import Preset, get_preset
from dgfas.protocols import Protocol, get_protocol
from dgfas.selection import SELECTION_RULES

#: Trainer settings that change how fast a run goes, never its numbers: logged, not part of its identity.
_SPEED_ONLY = ("trainer.device_cache_share",)


@dataclass(frozen=True)
class TrainerConfig:
    """Attributes (the first three have no default: the preset gives them):
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

    steps: int = setting(at_least=1)
    batch_per_domain: int = setting(at_least=2, why="a balanced batch needs a live and a spoof image, and "
                                    "batch norm more than one value per channel")
    eval_every: int = setting(at_least=1)
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
    unused = {name: None for name in MAPS if name not in maps}
    source_train = {d: dataclasses.replace(fs, **unused) for d, fs in source_train.items()}
    no_maps = dict.fromkeys(MAPS)
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
