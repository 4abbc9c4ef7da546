"""Shortcut audit: can global image statistics tell lives from spoofs across domains?

A logistic regression on standardized global statistics (colour histograms,
per-channel mean/std, statistics of the four border strips) is trained on
all domains but one and tested on the one held out. Such features see no
liveness cue (halftone, moiré, flat shading are local textures), only the
nuisance factors; a high cross-domain AUC therefore means the generator leaks a
shortcut (borders, colour pipeline, background) that a CNN would learn
instead of liveness. Target: every held-out AUC <= 0.70 at the quick scale.
"""

from __future__ import annotations

import numpy as np

from dgfas.data.registry import DataOptions
from dgfas.data.synthetic.domains import DOMAINS
from dgfas.data.synthetic.generate import build_synthetic, load_synthetic

#: Histogram bins per colour channel.
HISTOGRAM_BINS = 16


def image_features(images: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, 78) global statistics.

    48 colour-histogram bins, 6 per-channel means/stds, and 24 border-strip
    means/stds (top, bottom, left, right; an eighth of the side wide), where
    a medium's border or bezel would show.
    """
    pixels = images.astype(np.float32) / 255.0
    n, height, width, _ = pixels.shape
    bins = np.minimum((pixels * HISTOGRAM_BINS).astype(np.int64), HISTOGRAM_BINS - 1)
    histograms = []
    for c in range(3):
        counts = np.stack([np.bincount(row, minlength=HISTOGRAM_BINS) for row in bins[..., c].reshape(n, -1)])
        histograms.append(counts / (height * width))
    flat = pixels.reshape(n, -1, 3)
    strip = max(2, height // 8)
    strips = [pixels[:, :strip], pixels[:, -strip:], pixels[:, :, :strip], pixels[:, :, -strip:]]
    border = [s.reshape(n, -1, 3) for s in strips]
    return np.concatenate(
        histograms
        + [flat.mean(axis=1), flat.std(axis=1)]
        + [b.mean(axis=1) for b in border]
        + [b.std(axis=1) for b in border],
        axis=1,
    )


def leave_one_domain_out_auc(features: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> dict[str, float]:
    """Train on all domains but one, score the held-out one; AUC per held-out domain.

    Args:
        features: domain -> (N, F) features.
        labels: domain -> (N,) labels, 1 = live.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    auc = {}
    for target in features:
        sources = [name for name in features if name != target]
        classifier = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced"))
        classifier.fit(np.concatenate([features[n] for n in sources]), np.concatenate([labels[n] for n in sources]))
        auc[target] = float(roc_auc_score(labels[target], classifier.decision_function(features[target])))
    return auc


def run_shortcut_audit(options: DataOptions) -> dict:
    """Leave-one-domain-out AUC of a global-statistics classifier.

    Args:
        options: which synthetic data to audit (built if missing).

    Returns:
        ``{"auc": {domain: auc}, "mean_auc": float, "max_auc": float,
        "frames": {domain: n}, "features": int}``; frame-level AUCs over
        all splits, label 1 = live.
    """
    names = list(DOMAINS)
    build_synthetic(names, options)
    features, labels = {}, {}
    for name in names:
        frames = load_synthetic(name, options=options)
        features[name] = image_features(frames.images)
        labels[name] = frames.label
    auc = leave_one_domain_out_auc(features, labels)
    return {
        "auc": auc,
        "mean_auc": float(np.mean(list(auc.values()))),
        "max_auc": float(max(auc.values())),
        "frames": {name: int(len(labels[name])) for name in names},
        "features": int(features[names[0]].shape[1]),
    }
