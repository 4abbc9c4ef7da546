"""Scoring and metrics of a trained model: score tables, the metrics a run reports, and its score files.

A run's evaluations during training, its final scores and score
submissions (:mod:`dgfas.submission`) all build their tables and metrics
here, so a number means the same wherever it was computed. Evaluation is
deterministic, so the metrics of every evaluated step also say what every
other selection rule would have reported, without training again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from dgfas.algorithms import Algorithm
from dgfas.data.batches import to_input
from dgfas.data.clips import VideoClips
from dgfas.data.frames import FrameSet
from dgfas.metric_names import (EVALUATED_ROLES, LOGGED_THRESHOLD_RULES, SELECTED_STEP, metric_name, score_file,
                                selection_prefix, table_name)
from dgfas.metrics import THRESHOLD_DEPENDENT, THRESHOLD_FREE, compute_metrics, eer_threshold
from dgfas.precision import autocast, resolve_precision
from dgfas.run import ResolvedRun
from dgfas.scores import LEVELS, video_level, write_scores
from dgfas.selection import SELECTION_RULES


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
    thresholds = dict(zip(LOGGED_THRESHOLD_RULES, (dev_threshold, eer_threshold(label, score)), strict=True))
    for rule, threshold in thresholds.items():
        values = compute_metrics(label, score, attack, threshold=threshold, threshold_rule=rule).as_dict()
        for name in THRESHOLD_DEPENDENT:
            out[metric_name(role, level, name, rule)] = float(values[name])
    for name in THRESHOLD_FREE:
        out[metric_name(role, level, name)] = float(values[name])
    return out


def evaluate(
    algorithm: Algorithm, run: ResolvedRun, device: torch.device, progress: bool = False
) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """Score source validation and target test; target thresholds come from source validation."""
    precision = resolve_precision(run.trainer_config.precision, device)
    tables: dict[str, pd.DataFrame] = {}
    for role, frames in zip(EVALUATED_ROLES, (run.source_val, run.target_test), strict=True):
        frame_table = score_frames(algorithm, frames, device, precision=precision, progress=progress)
        tables[table_name(role, "frame")] = frame_table
        tables[table_name(role, "video")] = video_level(frame_table)
    return final_metrics(tables), tables


def final_metrics(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Every metric of the score tables ``{role}.{level}`` a run reports, by MLflow name.

    At each level the ``dev_eer`` threshold is the source-validation EER
    threshold, applied to source validation and target test alike.
    """
    metrics: dict[str, float] = {}
    for level in LEVELS:
        val = tables[table_name("source_val", level)]
        dev_threshold = eer_threshold(val["label"].to_numpy(), val["score"].to_numpy())
        for role in EVALUATED_ROLES:
            metrics.update(metrics_by_name(tables[table_name(role, level)], role, level, dev_threshold))
    return metrics


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
        others.update({selection_prefix(name) + k: v for k, v in evaluations[step].items()})
        others[selection_prefix(name) + SELECTED_STEP] = float(step)
    return others


def write_score_files(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """One CSV per table of ``tables``, named after its key (``target_test.video.csv``,
    ``selection.oracle.target_test.video.csv``), written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in tables.items():
        path = out_dir / score_file(name)
        write_scores(table, path)
        paths.append(path)
    return paths
