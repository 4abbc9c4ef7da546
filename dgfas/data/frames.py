"""The in-memory form every dataset is turned into: face crops plus labels.

Real corpora (decoded, detected, cropped) and the synthetic domains both end
up as a :class:`FrameSet`, so the trainer never knows where frames came from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

#: Face-parsing classes, index = class id in ``FrameSet.parsing``.
PARSING_CLASSES = ("background", "skin", "brows", "eyes", "nose", "lips", "hair")

#: Attack types; ``replay`` means any display (photo or video on a screen).
ATTACK_TYPES = ("none", "print", "replay")

SPLITS = ("train", "dev", "test")


@dataclass
class FrameSet:
    """Frames of one domain with per-frame labels and optional pixel maps.

    Attributes:
        domain: dataset name, e.g. ``synth-oulu``.
        images: (N, H, W, 3) uint8 RGB face crops.
        label: (N,) int64, 1 = live (bona fide), 0 = spoof.
        attack_type: (N,) str, one of :data:`ATTACK_TYPES`.
        video_id: (N,) str, unique across domains (prefixed by the domain).
        frame: (N,) int64 frame index within its video.
        subject: (N,) int64 subject id.
        split: (N,) str, one of :data:`SPLITS`.
        depth: (N, H, W) float16 in [0, 1], 1 = nearest; zeros for spoofs.
        parsing: (N, H, W) uint8 class ids of :data:`PARSING_CLASSES`.
        reflection: (N, H, W, 3) float16 glare layer; zeros for lives.
        pulse: (N,) float32 rPPG ground truth: the live face's pulse
            waveform (zero mean, unit peak) at the frame's time; zeros for
            every spoof, video replays included, as Liu et al. (CVPR 2018)
            supervise spoofs with a flat rPPG signal and as depth is zero
            for them.
    """

    domain: str
    images: np.ndarray
    label: np.ndarray
    attack_type: np.ndarray
    video_id: np.ndarray
    frame: np.ndarray
    subject: np.ndarray
    split: np.ndarray
    depth: np.ndarray | None = None
    parsing: np.ndarray | None = None
    reflection: np.ndarray | None = None
    pulse: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.label)

    def select(self, mask: np.ndarray) -> "FrameSet":
        """Rows where ``mask`` (bool (N,) or integer indices) holds."""
        picked = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            picked[field.name] = value[mask] if isinstance(value, np.ndarray) else value
        return FrameSet(**picked)

    def split_rows(self, split: str) -> "FrameSet":
        return self.select(self.split == split)
