"""Short runs of consecutive frames of one video, for methods that look at time.

A frame method sees single images; a clip method (Liu et al.'s rPPG branch)
needs ``length`` consecutive frames of the same video. Videos shorter than a
clip are padded by repeating their last frame (indices are clamped), so a
short video still yields a clip instead of being dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dgfas.data.frames import FrameSet


class VideoClips:
    """The rows of a :class:`FrameSet`, grouped by video and ordered by frame.

    Attributes:
        length: frames per clip.
        videos: per video, its row indices into the frame set in frame order.
        label: (V,) int64 label of each video (1 = live).
    """

    def __init__(self, frames: FrameSet, length: int) -> None:
        if length < 1:
            raise ValueError(f"clip length must be at least 1, got {length}")
        self.length = length
        table = pd.DataFrame({"video": frames.video_id, "frame": frames.frame, "row": np.arange(len(frames))})
        groups = table.sort_values(["video", "frame"], kind="stable").groupby("video", sort=False)["row"]
        self.videos = [rows.to_numpy() for _, rows in groups]
        self.label = np.array([frames.label[rows[0]] for rows in self.videos], dtype=np.int64)

    def _window(self, video: int, start: int) -> np.ndarray:
        rows = self.videos[video]
        return rows[np.minimum(start + np.arange(self.length), len(rows) - 1)]

    def random_clips(self, videos: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(len(videos), length) rows: one clip per video at a uniformly drawn start."""
        starts = [rng.integers(max(len(self.videos[v]) - self.length, 0) + 1) for v in videos]
        return np.stack([self._window(v, s) for v, s in zip(videos, starts)])

    def covering_clips(self) -> tuple[np.ndarray, np.ndarray]:
        """Clips that cover every frame once, for scoring.

        Each video is cut into consecutive clips; the last one is shifted back
        to end on the video's last frame, so no clip repeats frames unless the
        video is shorter than a clip.

        Returns:
            clips: (C, length) rows to feed the model.
            owner: (N,) index of the clip whose score each frame takes.
        """
        clips, owner = [], np.zeros(sum(len(rows) for rows in self.videos), dtype=np.int64)
        for video, rows in enumerate(self.videos):
            starts = list(range(0, max(len(rows) - self.length, 0) + 1, self.length))
            if starts[-1] + self.length < len(rows):
                starts.append(len(rows) - self.length)
            for position, start in enumerate(starts):
                # frames keep the first clip that holds them
                taken = np.arange(start, min(start + self.length, len(rows)))
                if position:
                    taken = taken[taken >= starts[position - 1] + self.length]
                owner[rows[taken]] = len(clips)
                clips.append(self._window(video, start))
        return np.stack(clips), owner
