"""What a run shows in MLflow's UI besides its numbers: its map gallery and its datasets.

The figures and tables here are built from a finished run's results; the benchmark
logs them through :class:`dgfas.tracking.tracked_run.TrackedRun`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dgfas.data.frames import FrameSet
from dgfas.tracking.html import map_to_rgb

TILE = 96
"""Side in pixels of one tile of a map gallery; tiny presets' 32² frames are enlarged to it."""


def map_gallery(examples: dict[str, np.ndarray]) -> np.ndarray:
    """A run's map examples (``run_contract.MAP_EXAMPLES``) as one (H, W, 3) uint8 image for ``log_image``.

    One row per example frame (live ones first, as ``evaluation.map_examples``
    picks them), its input then each predicted map in name order, drawn as the
    HTML leaderboard draws them (:func:`dgfas.tracking.html.map_to_rgb`); a
    2-pixel white gutter between tiles. The caption (which map is which
    column) goes in the artifact's name, since the image holds no text.
    """
    from PIL import Image

    names = map_names(examples)
    rows = []
    for i in range(len(examples["image"])):
        tiles = [examples["image"][i], *(map_to_rgb(examples[f"map.{name}"][i]) for name in names)]
        resized = [np.asarray(Image.fromarray(tile).resize((TILE, TILE), Image.Resampling.NEAREST)) for tile in tiles]
        rows.append(np.concatenate([np.pad(tile, ((2, 2), (2, 2), (0, 0)), constant_values=255) for tile in resized],
                                   axis=1))
    return np.concatenate(rows, axis=0)


def map_names(examples: dict[str, np.ndarray]) -> list[str]:
    """The predicted maps of a run's map examples, in the order :func:`map_gallery` draws them."""
    return sorted(key.removeprefix("map.") for key in examples if key.startswith("map."))


def video_table(frames: FrameSet) -> pd.DataFrame:
    """One row per video of ``frames``: its domain, id, label, attack type, subject and frame count.

    The rows an MLflow dataset describes (its schema and size); the frames'
    fingerprint is the dataset's digest.
    """
    table = pd.DataFrame({"video_id": frames.video_id.astype(str), "label": frames.label.astype(int),
                          "attack_type": frames.attack_type.astype(str), "subject": frames.subject.astype(int)})
    videos = table.groupby("video_id", sort=True).agg(
        label=("label", "first"), attack_type=("attack_type", "first"), subject=("subject", "first"),
        frames=("label", "size"))
    videos = videos.reset_index()
    videos.insert(0, "domain", videos["video_id"].str.split("/", n=1).str[0])  # ids are prefixed by their domain
    return videos
