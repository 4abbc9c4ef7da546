"""The one-side triplet loss on hand-made embeddings whose value is known."""

import math

import pytest
import torch

from dgfas.algorithms.triplet import one_side_triplet_loss

LIVE, SPOOF = 1.0, 0.0


def _loss(points, labels, domains, margin=0.5, mining="hard"):
    return one_side_triplet_loss(
        torch.tensor(points, dtype=torch.float64),
        torch.tensor(labels, dtype=torch.float64),
        torch.tensor(domains),
        margin,
        mining,
    ).item()


def test_value_on_three_points():
    # Live of domain 0 at (1, 0), live of domain 1 at (0, 1), a spoof at (-1, 0).
    # Anchor (1, 0): d(a, p) = √2, d(a, n) = 2 -> max(0, √2 − 2 + 0.5) = 0.
    # Anchor (0, 1): d(a, p) = √2, d(a, n) = √2 -> 0.5. Mean over the two anchors: 0.25.
    points = [[1, 0], [0, 1], [-1, 0]]
    assert _loss(points, [LIVE, LIVE, SPOOF], [0, 1, 0]) == pytest.approx(0.25)
    assert _loss(points, [LIVE, LIVE, SPOOF], [0, 1, 0], mining="all") == pytest.approx(0.25)
    # Embeddings are normalized first: scaling a point changes nothing.
    assert _loss([[3, 0], [0, 0.2], [-7, 0]], [LIVE, LIVE, SPOOF], [0, 1, 0]) == pytest.approx(0.25)


def test_hard_and_all_mining_differ_as_computed_by_hand():
    # Two spoofs for the anchor (0, 1): one at (-1, 0) (distance √2), one at (0, -1) (distance 2).
    # Anchor (1, 0): negatives at 2 and √2 -> hard: √2 − √2 + 0.5 = 0.5; all: mean(0, 0.5).
    # Anchor (0, 1): hard: 0.5; all: mean(0.5, √2 − 2 + 0.5 < 0 -> 0).
    points = [[1, 0], [0, 1], [-1, 0], [0, -1]]
    labels, domains = [LIVE, LIVE, SPOOF, SPOOF], [0, 1, 0, 1]
    assert _loss(points, labels, domains) == pytest.approx(0.5)
    assert _loss(points, labels, domains, mining="all") == pytest.approx(0.25)


def test_spoofs_are_never_pulled_together():
    # Moving spoofs apart from each other, at the same distances to the lives, changes nothing.
    lives = [[1, 0, 0], [0, 1, 0]]
    close = lives + [[0, 0, 1], [0, 0, 1]]
    apart = lives + [[0, 0, 1], [0, 0, -1]]
    labels, domains = [LIVE, LIVE, SPOOF, SPOOF], [0, 1, 0, 1]
    for mining in ("hard", "all"):
        assert _loss(close, labels, domains, mining=mining) == pytest.approx(_loss(apart, labels, domains, mining=mining))


def test_live_faces_of_the_same_domain_are_not_positives():
    # All lives in one domain: no anchor has a positive, the loss is zero and still differentiable.
    embedding = torch.tensor([[1.0, 0], [0, 1], [-1, 0]], requires_grad=True)
    loss = one_side_triplet_loss(embedding, torch.tensor([LIVE, LIVE, SPOOF]), torch.tensor([0, 0, 1]), 0.5)
    loss.backward()
    assert loss.item() == 0.0 and torch.all(embedding.grad == 0)


def test_gradient_pulls_lives_together_and_pushes_the_spoof_away():
    embedding = torch.tensor([[1.0, 0], [0, 1], [0.6, 0.8]], requires_grad=True)
    label, domain = torch.tensor([LIVE, LIVE, SPOOF]), torch.tensor([0, 1, 1])
    loss = one_side_triplet_loss(embedding, label, domain, margin=1.0)
    assert loss.item() == pytest.approx((math.sqrt(2) - math.sqrt(0.8) + 1 + math.sqrt(2) - math.sqrt(0.4) + 1) / 2)
    with torch.no_grad():
        moved = embedding - 0.05 * torch.autograd.grad(loss, embedding)[0]
    assert one_side_triplet_loss(moved, label, domain, margin=1.0).item() < loss.item()


def test_unknown_mining_is_refused():
    with pytest.raises(ValueError, match="unknown triplet mining"):
        one_side_triplet_loss(torch.eye(2), torch.ones(2), torch.arange(2), 0.5, mining="semi")
