"""Score files of the run-records fixture (``fixtures/run_records.csv``), built from its records.

Each run gets the files a dgfas run logs for the leaderboard, as
``<root>/<run_id>/<name>``: ``target_test.video.csv`` (its own checkpoint) and
``selection.oracle.target_test.video.csv`` (the oracle selection's). The scores
are constructed so that the metrics the leaderboard checks them against come
out exactly as the record holds them (HTER at the record's ``dev_eer`` threshold
0.5, HTER at the file's own EER threshold, AUC), over 100 live and 100 spoof
videos of 10 subjects, spread over the subjects by a generator seeded by the
run id. The files are built, not committed: 16,000 rows of numbers whose only
content is the records' metrics would hide a change in review.

Construction (threshold 0.5, step 0.001): ``a`` lives below 0.5 and ``b >= a``
spoofs above it give HTER (a + b) / 200 at 0.5. ``b - a`` of those spoofs sit
just above 0.5, below every accepted live, so at the lowest accepted live FAR =
FRR = a / 100: that is the EER threshold, HTER a / 100. The AUC is set by how
the remaining spoofs interleave with the accepted lives and the rejected lives
with the rejected spoofs, which any count of live-over-spoof pairs can be.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd

_PER_CLASS = 100
_SUBJECTS = 10
_STEP = 0.001


def _spread(total: int, slots: int, cap: int) -> list[int]:
    """``slots`` counts, each at most ``cap``, summing to ``total`` (filled greedily)."""
    counts = []
    for _ in range(slots):
        counts.append(min(cap, total))
        total -= counts[-1]
    assert total == 0, "AUC out of reach of the construction"
    return counts


def constructed_scores(hter_at_half: float, hter_at_eer: float, auc: float, seed: int) -> pd.DataFrame:
    """A video-level score table with exactly these metrics (see the module docstring)."""
    n = _PER_CLASS
    a = round(n * hter_at_eer)
    b = round(2 * n * hter_at_half) - a
    assert 0 <= a <= b <= n, (hter_at_half, hter_at_eer)
    lives_above, spoofs_below = n - a, n - b
    extra = round(auc * n * n) - lives_above * spoofs_below  # live-over-spoof pairs beyond the sure ones
    # spoofs above 0.5: b - a below every accepted live, the other a with fewer lives over them
    over_spoofs_above = max((b - a) * lives_above, extra - a * spoofs_below)
    spoof_counts = [lives_above] * (b - a) + _spread(over_spoofs_above - (b - a) * lives_above, a, lives_above - 1)
    live_counts = _spread(extra - over_spoofs_above, a, spoofs_below)  # spoofs below each rejected live
    live = [0.5 + (j + 1) * _STEP for j in range(lives_above)]
    live += [0.5 - (spoofs_below - d + 0.5) * _STEP for d in live_counts]
    spoof = [0.5 - (j + 1) * _STEP for j in range(spoofs_below)]
    spoof += [0.5 + (lives_above - c + 0.5) * _STEP for c in spoof_counts]
    rng = np.random.default_rng(seed)
    subject = np.concatenate([rng.permutation(np.arange(n) % _SUBJECTS) for _ in range(2)])
    return pd.DataFrame({
        "video_id": [f"synth/{kind}{i}" for kind in ("live", "spoof") for i in range(n)],
        "frame": -1,
        "label": [1] * n + [0] * n,
        "score": np.round(live + spoof, 4),
        "subject": subject,
    })


def write_fixture_scores(records: pd.DataFrame, root: Path) -> Path:
    """Write every record's score files under ``root`` and return it."""
    for run in records.to_dict("records"):
        folder = root / run["run_id"]
        folder.mkdir(parents=True, exist_ok=True)
        seed = zlib.crc32(run["run_id"].encode())
        own = constructed_scores(run["target_test.video.hter.dev_eer"], run["target_test.video.hter.oracle_eer"],
                                 run["target_test.video.auc"], seed)
        own.to_csv(folder / "target_test.video.csv", index=False)
        oracle_hter = run["selection.oracle.target_test.video.hter.oracle_eer"]
        oracle = constructed_scores(oracle_hter, oracle_hter, run["selection.oracle.target_test.video.auc"], seed + 1)
        oracle.to_csv(folder / "selection.oracle.target_test.video.csv", index=False)
    return root
