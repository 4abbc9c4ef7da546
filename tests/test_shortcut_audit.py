"""The shortcut audit: runs end to end, and does catch a planted shortcut."""

from __future__ import annotations

import numpy as np

from dgfas.data.registry import DataOptions
from dgfas.data.synthetic.audit import image_features, leave_one_domain_out_auc, run_shortcut_audit
from dgfas.data.synthetic.domains import DOMAINS


def test_audit_reports_an_auc_per_held_out_domain(tmp_path):
    options = DataOptions(cache_dir=tmp_path, image_size=32, scale="tiny", workers=2, progress=False)
    report = run_shortcut_audit(options)
    assert set(report["auc"]) == set(DOMAINS)
    assert all(0.0 <= auc <= 1.0 for auc in report["auc"].values())
    assert report["mean_auc"] == np.mean(list(report["auc"].values()))
    assert report["max_auc"] == max(report["auc"].values())
    assert report["features"] == image_features(np.zeros((1, 32, 32, 3), np.uint8)).shape[1]


def test_audit_catches_a_planted_border_shortcut():
    rng = np.random.default_rng(0)
    features, labels = {}, {}
    for d in range(4):
        images = rng.integers(0, 256, (60, 32, 32, 3), dtype=np.uint8)
        label = np.arange(60) % 2
        # spoofs get a white frame, as a visible medium border would give
        images[label == 0, :3] = 255
        images[label == 0, -3:] = 255
        features[f"d{d}"], labels[f"d{d}"] = image_features(images), label
    auc = leave_one_domain_out_auc(features, labels)
    assert min(auc.values()) > 0.95


def test_audit_sees_nothing_when_there_is_nothing():
    rng = np.random.default_rng(1)
    features = {f"d{d}": image_features(rng.integers(0, 256, (80, 16, 16, 3), dtype=np.uint8)) for d in range(4)}
    labels = {name: np.arange(80) % 2 for name in features}
    auc = leave_one_domain_out_auc(features, labels)
    assert max(auc.values()) < 0.75
