"""The one-side triplet loss of Chuang, Wang and Lai (FG 2023).

On L2-normalized embeddings z, with d the Euclidean distance,

    L = mean over mined (a, p, n) of max(0, d(z_a, z_p) − d(z_a, z_n) + margin),

where the anchor a and the positive p are live faces from *different* domains
and the negative n is a spoof face from any domain. Only the live class is
pulled together across domains; spoofs are pushed away from live faces but
never anchors or positives, so they are not drawn into one cluster, and an
attack type never seen in training is not expected to fall into it.

Distances are computed in fp32 in a bf16 run: ``2 − 2 a·b`` cancels
catastrophically for nearby embeddings: a bf16 dot product near 1 is rounded
by up to 2⁻⁹, which puts a floor of about 0.06 under small distances.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dgfas.precision import in_fp32

TRIPLET_MINING = ("hard", "all")


def one_side_triplet_loss(
    embedding: torch.Tensor, label: torch.Tensor, domain: torch.Tensor, margin: float, mining: str = "hard"
) -> torch.Tensor:
    """Mean hinge over mined one-side triplets; 0 (with a graph) when there are none.

    Mining:
        ``hard`` (batch-hard, Hermans et al. 2017): one triplet per live anchor,
        its farthest live positive from another domain and its nearest spoof.
        ``all``: every valid (anchor, positive, negative) in the batch.
        Anchors without a positive (no live face of another domain) or without
        a negative (no spoof) contribute nothing.

    Args:
        embedding: (N, D) embeddings, normalized here.
        label: (N,) 1 = live, 0 = spoof.
        domain: (N,) integer domain ids.
        margin: the hinge margin, in units of distance on the unit sphere (0 to 2).
        mining: one of :data:`TRIPLET_MINING`.
    """
    if mining not in TRIPLET_MINING:
        raise ValueError(f"unknown triplet mining {mining!r}; valid: {list(TRIPLET_MINING)}")
    with in_fp32(embedding.device):
        return _one_side_triplet_loss(embedding.float(), label, domain, margin, mining)


def _one_side_triplet_loss(
    embedding: torch.Tensor, label: torch.Tensor, domain: torch.Tensor, margin: float, mining: str
) -> torch.Tensor:
    z = F.normalize(embedding, dim=1)
    # ||a - b||² = 2 − 2 a·b on the unit sphere; the clamp keeps sqrt's gradient finite at 0.
    distance = (2.0 - 2.0 * z @ z.T).clamp_min(1e-12).sqrt()  # (N, N)
    live = label > 0.5
    positive = live[:, None] & live[None, :] & (domain[:, None] != domain[None, :])
    negative = live[:, None] & ~live[None, :]
    if mining == "hard":
        anchors = positive.any(1) & negative.any(1)
        if not anchors.any():
            return embedding.sum() * 0.0
        farthest_positive = distance.masked_fill(~positive, float("-inf")).amax(1)
        nearest_negative = distance.masked_fill(~negative, float("inf")).amin(1)
        return F.relu(farthest_positive - nearest_negative + margin)[anchors].mean()
    valid = positive[:, :, None] & negative[:, None, :]  # (anchor, positive, negative)
    if not valid.any():
        return embedding.sum() * 0.0
    hinge = F.relu(distance[:, :, None] - distance[:, None, :] + margin)
    return hinge[valid].mean()
