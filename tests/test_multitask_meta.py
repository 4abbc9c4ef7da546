"""multitask_meta: engines agree on the real model, ablation switches do what they say."""

import numpy as np
import pytest
import torch
from torch import nn

from dgfas.algorithms import Batch, get_algorithm
from dgfas.algorithms.meta_layers import MetaBatchNorm2d, MetaConv2d
from dgfas.config import with_overrides
from dgfas.data.batches import make_batch
from dgfas.errors import DgfasError
from dgfas.models.resnet import ResNetConfig

DOMAINS = ["a", "b", "c"]


def _algorithm(domains=DOMAINS, **overrides):
    cls = get_algorithm("multitask_meta")
    torch.manual_seed(0)
    return cls(with_overrides(cls.Config(), overrides), ResNetConfig(width=0.125), domains)


def _batches(frames_factory, domains=DOMAINS, dtype=torch.float32) -> dict[str, Batch]:
    batches = {}
    for i, domain in enumerate(domains):
        frames = frames_factory(domain, "train", seed=i)
        batch = make_batch(frames, np.arange(8), ("depth", "parsing"), torch.device("cpu"), flip=None)
        batches[domain] = Batch(batch.image.to(dtype), batch.label.to(dtype), batch.depth.to(dtype), batch.parsing)
    return batches


@pytest.mark.parametrize("engine", ["higher", "learn2learn"])
def test_engines_give_the_same_meta_gradient_on_the_multitask_model(engine, frames_factory):
    batches = _batches(frames_factory, dtype=torch.float64)
    gradients = {}
    for name in ("torch_func", engine):
        algorithm = _algorithm(engine=name).double()
        torch.manual_seed(1)  # the same meta-train / meta-test split
        algorithm.update(batches)
        gradients[name] = {n: p.grad for n, p in algorithm.net.named_parameters()}
    assert gradients["torch_func"].keys() == gradients[engine].keys()
    for name, ours in gradients["torch_func"].items():
        torch.testing.assert_close(gradients[engine][name], ours, atol=1e-6, rtol=0, msg=name)


@pytest.mark.parametrize("first_order", [False, True])
def test_meta_layers_give_the_native_layers_meta_gradient(first_order, frames_factory):
    """The model's conv and batch-norm layers are the meta layers; put back the native
    ones and the float64 meta-gradient (second-order term included) is the same."""
    batches = _batches(frames_factory, dtype=torch.float64)
    gradients = []
    for native in (False, True):
        algorithm = _algorithm(first_order=first_order).double()
        layers = {MetaConv2d: nn.Conv2d, MetaBatchNorm2d: nn.BatchNorm2d}
        assert {type(m) for m in algorithm.net.modules()} & {nn.Conv2d, nn.BatchNorm2d} == set()
        if native:
            for module in algorithm.net.modules():
                if type(module) in layers:
                    module.__class__ = layers[type(module)]
        torch.manual_seed(1)
        algorithm.update(batches)
        gradients.append({n: p.grad for n, p in algorithm.net.named_parameters()})
    for name, ours in gradients[0].items():
        torch.testing.assert_close(gradients[1][name], ours, atol=1e-10, rtol=1e-8, msg=name)


def test_meta_update_logs_both_objectives_and_the_triplet_term(frames_factory):
    losses = _algorithm().update(_batches(frames_factory))
    assert set(losses) == {
        "loss",
        *(f"meta_train.{k}" for k in ("cls", "depth", "parsing")),
        *(f"meta_test.{k}" for k in ("cls", "depth", "parsing", "triplet")),
    }


@pytest.mark.parametrize(
    ("switch", "absent_loss", "absent_head"),
    [("depth", "depth", "depth_head"), ("parsing", "parsing", "parsing_head"), ("triplet", "triplet", None)],
)
def test_each_ablation_switch_removes_its_loss_and_head(switch, absent_loss, absent_head, frames_factory):
    algorithm = _algorithm(**{switch: False})
    losses = algorithm.update(_batches(frames_factory))
    assert not any(key.endswith(f".{absent_loss}") for key in losses)
    if absent_head is not None:
        assert getattr(algorithm.net, absent_head) is None
        assert not any(name.startswith(f"net.{absent_head}.") for name in algorithm.state_dict())


def test_without_meta_learning_all_losses_are_joint(frames_factory):
    losses = _algorithm(meta=False).update(_batches(frames_factory))
    assert set(losses) == {"loss", "cls", "depth", "parsing", "triplet"}
    assert losses["loss"] == pytest.approx(losses["cls"] + 10 * losses["depth"] + losses["parsing"] + losses["triplet"], rel=1e-5)


def test_every_source_domain_takes_its_turn_as_meta_test(frames_factory, monkeypatch):
    algorithm = _algorithm()
    seen = []
    original = algorithm._join

    def spy(batches_by_domain, names):
        if len(names) == 1:
            seen.append(names[0])
        return original(batches_by_domain, names)

    monkeypatch.setattr(algorithm, "_join", spy)
    batches = _batches(frames_factory)
    for _ in range(12):
        algorithm.update(batches)
    assert set(seen) == set(DOMAINS)


def test_second_order_and_first_order_updates_differ(frames_factory):
    batches = _batches(frames_factory)
    weights = []
    for first_order in (False, True):
        algorithm = _algorithm(first_order=first_order)
        torch.manual_seed(1)
        algorithm.update(batches)
        weights.append(algorithm.net.classifier.weight.grad.clone())
    assert not torch.allclose(weights[0], weights[1])


def test_one_source_domain_is_refused_unless_meta_and_triplet_are_off(frames_factory):
    with pytest.raises(DgfasError, match="at least 2 source domains"):
        _algorithm(domains=["a"])
    algorithm = _algorithm(domains=["a"], meta=False, triplet=False)
    assert set(algorithm.update(_batches(frames_factory, domains=["a"]))) == {"loss", "cls", "depth", "parsing"}


def test_unknown_engine_and_mining_are_one_line_errors():
    with pytest.raises(DgfasError, match=r"engine must be one of \['higher', 'learn2learn', 'torch_func'\], got 'jax'"):
        _algorithm(engine="jax")
    with pytest.raises(DgfasError, match=r"triplet_mining must be one of \['hard', 'all'\], got 'semi'"):
        _algorithm(triplet_mining="semi")


def test_score_ignores_the_dense_heads(frames_factory):
    algorithm = _algorithm()
    image = _batches(frames_factory)["a"].image
    before = algorithm.predict(image)
    with torch.no_grad():
        for head in (algorithm.net.depth_head, algorithm.net.parsing_head):
            for p in head.parameters():
                p.add_(1.0)
    torch.testing.assert_close(algorithm.predict(image), before)


def test_a_backbone_without_four_stages_is_a_one_line_error():
    from dgfas.models.cdcn import CdcnConfig

    cls = get_algorithm("multitask_meta")
    with pytest.raises(DgfasError, match="four stages at strides 4-32, such as resnet18; CdcnBackbone has 3"):
        cls(with_overrides(cls.Config(), {"model": "cdcn"}), CdcnConfig(width=0.125), list(DOMAINS))
