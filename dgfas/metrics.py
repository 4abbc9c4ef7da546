"""Presentation-attack-detection metrics on score arrays.

Conventions, shared by every function here:

* ``label`` is 1 for live (bona fide) and 0 for spoof; a higher ``score``
  means "more likely live".
* A sample is accepted as live iff ``score >= threshold``, so a score exactly
  on the threshold is accepted.
* FAR = spoofs accepted / spoofs; FRR = BPCER = lives rejected / lives;
  HTER = (FAR + FRR) / 2.
* APCER is computed per attack type and the reported value is the worst
  (maximum) one, as ISO/IEC 30107-3 prescribes; ACER = (APCER + BPCER) / 2.

Every threshold comes with the name of the rule that chose it (see
:data:`dgfas.selection.THRESHOLD_RULES`), because the same scores give very different HTERs under
an honest rule (``dev_eer``) and under the oracle rule most DG-FAS papers use
(``oracle_eer``, which looks at the test labels).

Everything is vectorised over sorted scores with ``np.searchsorted``: the
trainer calls ``compute_metrics`` at every evaluation on ~100k frame scores.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

from dgfas.errors import DgfasError
from dgfas.selection import get_threshold_rule

# Names whose value depends on the threshold (logged as "<name>.<rule>" in
# MLflow) and names that do not (logged as "<name>").
THRESHOLD_DEPENDENT = ("hter", "far", "frr", "apcer", "bpcer", "acer", "threshold")
THRESHOLD_FREE = ("eer", "auc", "tpr_at_far_1pct", "n_live", "n_spoof")

# Label of the single attack type used when no attack_type is given.
ALL_SPOOFS = "spoof"


@dataclass(frozen=True)
class PadMetrics:
    """Metrics of one score set at one threshold; rates are fractions in [0, 1].

    ``eer``, ``auc`` and ``tpr_at_far_1pct`` do not depend on ``threshold``;
    the other rates are measured at ``threshold``, chosen by ``threshold_rule``.
    """

    hter: float
    far: float
    frr: float
    apcer: float
    bpcer: float
    acer: float
    eer: float
    auc: float
    tpr_at_far_1pct: float
    threshold: float
    threshold_rule: str
    n_live: int
    n_spoof: int

    def as_dict(self) -> dict[str, float | int | str]:
        """Plain JSON-serialisable values keyed by name."""
        return dataclasses.asdict(self)


def _validated(label: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (label as bool "is live", score as float64), refusing unusable input."""
    label = np.asarray(label)
    score = np.asarray(score, dtype=np.float64)
    if label.ndim != 1 or label.shape != score.shape:
        raise ValueError(f"label and score must be 1-D of equal length; got {label.shape} and {score.shape}")
    if not np.isin(label, (0, 1)).all():
        raise DgfasError(f"labels must be 0 (spoof) or 1 (live); got {sorted(set(np.unique(label).tolist()))}")
    if not np.isfinite(score).all():
        raise DgfasError(f"{int((~np.isfinite(score)).sum())} of {score.size} scores are NaN or infinite")
    is_live = label == 1
    n_live = int(is_live.sum())
    if n_live == 0 or n_live == label.size:
        raise DgfasError(
            f"metrics need both live and spoof scores; got {n_live} live and {label.size - n_live} spoof"
        )
    return is_live, score


def _error_counts(
    live_sorted: np.ndarray, spoof_sorted: np.ndarray, thresholds: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Counts (false accepts, false rejects) at each threshold.

    With ``score >= t`` accepted, the lives rejected are those strictly below
    ``t`` and the spoofs accepted are all but those strictly below ``t``:
    both are a left ``searchsorted`` into the sorted scores.
    """
    false_rejects = np.searchsorted(live_sorted, thresholds, side="left")
    false_accepts = spoof_sorted.size - np.searchsorted(spoof_sorted, thresholds, side="left")
    return np.asarray(false_accepts, dtype=np.int64), np.asarray(false_rejects, dtype=np.int64)


def _eer_from_sorted(live_sorted: np.ndarray, spoof_sorted: np.ndarray) -> tuple[float, float]:
    """(EER threshold, EER) of already sorted live and spoof scores.

    Candidates are the distinct score values. The chosen one minimises
    |FAR - FRR|; ties are broken by the smallest FAR + FRR, then by the
    lowest threshold. (Two candidates always differ in (FAR, FRR), so a tie
    after the second key means mirrored pairs such as (0.6, 0.4) and
    (0.4, 0.6), which have the same EER anyway.) The comparisons are done in
    integers, FAR - FRR = (fa * n_live - fr * n_spoof) / (n_live * n_spoof),
    so float rounding cannot decide a tie.
    """
    n_live, n_spoof = live_sorted.size, spoof_sorted.size
    candidates = np.unique(np.concatenate([live_sorted, spoof_sorted]))  # ascending
    false_accepts, false_rejects = _error_counts(live_sorted, spoof_sorted, candidates)
    scaled_far = false_accepts * n_live  # FAR * n_live * n_spoof
    scaled_frr = false_rejects * n_spoof  # FRR * n_live * n_spoof
    gap = np.abs(scaled_far - scaled_frr)
    best = np.flatnonzero(gap == gap.min())
    total = scaled_far[best] + scaled_frr[best]
    best = best[total == total.min()]
    index = best[0]  # candidates ascend, so this is the lowest tied threshold
    eer = (false_accepts[index] / n_spoof + false_rejects[index] / n_live) / 2
    return float(candidates[index]), float(eer)


def _split_sorted(is_live: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.sort(score[is_live]), np.sort(score[~is_live])


def eer_threshold(label: np.ndarray, score: np.ndarray) -> float:
    """The equal-error-rate threshold of these scores.

    See ``_eer_from_sorted`` for the candidates and the tie-break: minimise
    |FAR - FRR|, then FAR + FRR, then take the lowest threshold.

    Args:
        label: 1 live, 0 spoof, shape (N,).
        score: higher = more live, shape (N,).

    Returns:
        A value occurring in ``score``.
    """
    is_live, score = _validated(label, score)
    return _eer_from_sorted(*_split_sorted(is_live, score))[0]


def apcer_by_attack(
    label: np.ndarray, score: np.ndarray, attack_type: np.ndarray | None = None, *, threshold: float
) -> dict[str, float]:
    """APCER of each attack type: that type's spoofs accepted / that type's spoofs.

    Args:
        label: 1 live, 0 spoof, shape (N,).
        score: higher = more live, shape (N,).
        attack_type: attack type of each row, shape (N,); only spoof rows are
            read. Without it all spoofs form one type, named ``ALL_SPOOFS``.
        threshold: accept as live iff ``score >= threshold``.

    Returns:
        Attack type -> APCER, in sorted order of the types.
    """
    is_live, score = _validated(label, score)
    return _apcer_by_attack(is_live, score, attack_type, threshold)


def _apcer_by_attack(
    is_live: np.ndarray, score: np.ndarray, attack_type: np.ndarray | None, threshold: float
) -> dict[str, float]:
    accepted = score[~is_live] >= threshold
    if attack_type is None:
        return {ALL_SPOOFS: float(accepted.mean())}
    attack_type = np.asarray(attack_type)
    if attack_type.shape != score.shape:
        raise ValueError(f"attack_type must have shape {score.shape}; got {attack_type.shape}")
    types, type_index = np.unique(attack_type[~is_live].astype(str), return_inverse=True)
    accepted_per_type = np.bincount(type_index, weights=accepted, minlength=types.size)
    spoofs_per_type = np.bincount(type_index, minlength=types.size)
    return {str(name): float(a / n) for name, a, n in zip(types, accepted_per_type, spoofs_per_type)}


def tpr_at_far(label: np.ndarray, score: np.ndarray, max_far: float = 0.01) -> float:
    """Best live acceptance rate (1 - FRR) over thresholds whose FAR <= ``max_far``.

    The thresholds tried are every score value plus +inf (accept nothing,
    FAR = 0), so the answer always exists; with few spoofs it can be 0.
    """
    is_live, score = _validated(label, score)
    live_sorted, spoof_sorted = _split_sorted(is_live, score)
    return _tpr_at_far_from_sorted(live_sorted, spoof_sorted, max_far)


def _tpr_at_far_from_sorted(live_sorted: np.ndarray, spoof_sorted: np.ndarray, max_far: float) -> float:
    candidates = np.append(np.unique(np.concatenate([live_sorted, spoof_sorted])), np.inf)
    false_accepts, false_rejects = _error_counts(live_sorted, spoof_sorted, candidates)
    allowed = false_accepts <= max_far * spoof_sorted.size
    true_accepts = live_sorted.size - false_rejects[allowed]
    return float(true_accepts.max() / live_sorted.size)


def compute_metrics(
    label: np.ndarray,
    score: np.ndarray,
    attack_type: np.ndarray | None = None,
    *,
    threshold: float,
    threshold_rule: str,
) -> PadMetrics:
    """All PAD metrics of one score set at one named threshold.

    Args:
        label: 1 live, 0 spoof, shape (N,).
        score: higher = more live, shape (N,).
        attack_type: attack type of each row, shape (N,), for the per-type
            APCER; without it APCER equals FAR.
        threshold: accept as live iff ``score >= threshold``.
        threshold_rule: how ``threshold`` was chosen, a name in
            :data:`dgfas.selection.THRESHOLD_RULES`.

    Returns:
        The metrics, with the threshold and its rule recorded.
    """
    get_threshold_rule(threshold_rule)
    if np.isnan(threshold):
        raise DgfasError("threshold is NaN")
    is_live, score = _validated(label, score)
    live_sorted, spoof_sorted = _split_sorted(is_live, score)
    false_accepts, false_rejects = _error_counts(live_sorted, spoof_sorted, float(threshold))
    far = float(false_accepts) / spoof_sorted.size
    frr = float(false_rejects) / live_sorted.size
    apcer = max(_apcer_by_attack(is_live, score, attack_type, threshold).values())
    return PadMetrics(
        hter=(far + frr) / 2,
        far=far,
        frr=frr,
        apcer=apcer,
        bpcer=frr,
        acer=(apcer + frr) / 2,
        eer=_eer_from_sorted(live_sorted, spoof_sorted)[1],
        auc=float(roc_auc_score(is_live, score)),
        tpr_at_far_1pct=_tpr_at_far_from_sorted(live_sorted, spoof_sorted, 0.01),
        threshold=float(threshold),
        threshold_rule=threshold_rule,
        n_live=int(live_sorted.size),
        n_spoof=int(spoof_sorted.size),
    )
