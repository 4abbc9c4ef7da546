"""Every registered algorithm gets a forward, update and predict test for free."""

import dataclasses

import numpy as np
import pytest
import torch

from dgfas.algorithms import ALGORITHMS, Algorithm, get_algorithm
from dgfas.algorithms.base import Batch
from dgfas.config import with_overrides
from dgfas.data.batches import make_batch, to_input
from dgfas.data.clips import VideoClips
from dgfas.data.frame_cache import MAPS
from dgfas.data.frames import FrameSet
from dgfas.errors import DgfasError
from dgfas.models import MODELS, get_model
from dgfas.models.registry import MapHeadBackbone, StagedBackbone


def _build(name: str, domains: list[str]):
    cls = get_algorithm(name)
    config = cls.Config()
    entry = get_model(config.model)
    fields = {f.name for f in dataclasses.fields(entry.config)}
    model_config = with_overrides(entry.config(), {"width": 0.125} if "width" in fields else {})
    return cls, cls(config, model_config, domains)


@pytest.mark.parametrize("name", ALGORITHMS.names())
def test_update_changes_weights_and_predict_gives_probabilities(name, frames_factory):
    torch.manual_seed(0)
    domains = ["a", "b"]
    cls, algorithm = _build(name, domains)
    batches = {}
    for i, domain in enumerate(domains):
        frames = frames_factory(domain, "train", seed=i)
        # a clip method gets clips of every video (3 frames each, padded to its clip length)
        rows = np.arange(8) if algorithm.clip_length == 1 else VideoClips(frames, algorithm.clip_length).covering_clips()[0]
        batches[domain] = make_batch(frames, rows, cls.maps, torch.device("cpu"), flip=None)
    # parameters, not the state dict: BatchNorm statistics change on any training-mode forward
    before = {k: v.detach().clone() for k, v in algorithm.named_parameters()}
    losses = algorithm.update(batches)
    assert losses and all(np.isfinite(v) for v in losses.values())
    changed = [k for k, v in algorithm.named_parameters() if not torch.equal(v, before[k])]
    assert changed, "update() changed no weight"
    algorithm.train()
    scores = algorithm.predict(batches["a"].image)
    assert algorithm.training, "predict() must restore the training mode"
    assert scores.shape == batches["a"].label.shape and torch.all((scores >= 0) & (scores <= 1))


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_gives_pooled_features(name):
    entry = get_model(name)
    fields = {f.name for f in dataclasses.fields(entry.config)}
    model = entry.build(with_overrides(entry.config(), {"width": 0.25} if "width" in fields else {}))
    features = model(torch.randn(2, 3, 32, 32))
    assert features.shape == (2, model.out_features)


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_offers_stages_to_dense_heads_and_only_cdcn_its_own_map_head(name):
    entry = get_model(name)
    fields = {f.name for f in dataclasses.fields(entry.config)}
    model = entry.build(with_overrides(entry.config(), {"width": 0.25} if "width" in fields else {}))
    assert isinstance(model, StagedBackbone)
    assert len(model.stages(torch.randn(2, 3, 32, 32))) == len(model.stage_channels)
    assert isinstance(model, MapHeadBackbone) == (name == "cdcn")
    assert not isinstance(torch.nn.Linear(2, 2), StagedBackbone)


def test_resnet18_at_full_width_is_torchvision_resnet18():
    import torchvision

    from dgfas.models.resnet import ResNetConfig

    ours = get_model("resnet18").build(ResNetConfig())
    theirs = torchvision.models.resnet18().state_dict()
    theirs = {k: v for k, v in theirs.items() if not k.startswith("fc.")}
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {k: tuple(v.shape) for k, v in theirs.items()}


def test_weights_file_loads_and_bad_file_is_a_one_line_error(tmp_path):
    import torchvision

    from dgfas.errors import DgfasError
    from dgfas.models.resnet import ResNetConfig

    reference = torchvision.models.resnet18()
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    model = get_model("resnet18").build(ResNetConfig(weights=str(path)))
    assert torch.equal(model.conv1.weight, reference.conv1.weight)
    with pytest.raises(DgfasError, match="weights file not found"):
        get_model("resnet18").build(ResNetConfig(weights=str(tmp_path / "missing.pth")))
    with pytest.raises(DgfasError, match="not a resnet18 state dict of this width"):
        get_model("resnet18").build(ResNetConfig(width=0.5, weights=str(path)))


def test_joined_batches_concatenate_the_fields_every_domain_carries():
    from dgfas.algorithms import Batch

    a = Batch(image=torch.zeros(2, 3, 4, 4), label=torch.ones(2), depth=torch.zeros(2, 1, 4, 4))
    b = Batch(image=torch.ones(3, 3, 4, 4), label=torch.zeros(3))
    joined = Batch.join([a, b])
    assert joined.image.shape == (5, 3, 4, 4) and joined.label.tolist() == [1, 1, 0, 0, 0]
    assert joined.depth is None and joined.pulse is None
    assert Batch.join([a, a]).depth.shape == (4, 1, 4, 4)


@pytest.mark.parametrize("name", ALGORITHMS.names())
def test_predict_maps_shows_the_dense_supervision_of_map_methods(name, frames_factory):
    torch.manual_seed(0)
    cls, algorithm = _build(name, ["a", "b"])
    frames = frames_factory("a", "test")
    algorithm.train()
    maps = algorithm.predict_maps(to_input(frames.images[:3], torch.device("cpu")))  # single frames, even for a clip method
    assert algorithm.training, "predict_maps() must restore the training mode"
    # a method trained on dense ground truth shows what it predicts; a label-only one has nothing to show
    assert bool(maps) == bool(set(cls.maps) & {"depth", "parsing", "reflection"})
    for value in maps.values():
        assert value.dim() == 4 and value.shape[0] == 3 and torch.isfinite(value).all()


@pytest.mark.parametrize("name", ALGORITHMS.names())
def test_a_method_trains_on_maps_it_declares_and_owns_the_optimizers_it_registers(name):
    cls, algorithm = _build(name, ["a", "b"])
    assert set(cls.maps_for(cls.Config())) <= set(cls.maps) <= set(MAPS)
    assert algorithm.optimizers() and all(isinstance(o, torch.optim.Optimizer) for o in algorithm.optimizers())


@pytest.mark.parametrize(
    "name, overrides, maps",
    [
        ("pyramid", {}, ("depth",)),
        ("pyramid", {"target": "mask"}, ("parsing",)),
        ("basn", {"auxiliary": "none"}, ()),
        ("basn", {"auxiliary": "reflection"}, ("reflection",)),
        ("multitask_meta", {"depth": False}, ("parsing",)),
        ("multitask_meta", {"parsing": False, "meta": False}, ("depth",)),
    ],
)
def test_a_variant_trains_on_the_maps_its_config_needs_and_no_others(name, overrides, maps, frames_factory):
    torch.manual_seed(0)
    cls = get_algorithm(name)
    config = with_overrides(cls.Config(), overrides)
    assert cls.maps_for(config) == maps
    model = get_model(config.model)
    algorithm = cls(config, with_overrides(model.config(), {"width": 0.125}), ["a", "b"])
    batches = {d: make_batch(frames_factory(d, "train", seed=i), np.arange(8), maps, torch.device("cpu"), flip=None)
               for i, d in enumerate(["a", "b"])}
    assert all(np.isfinite(v) for v in algorithm.update(batches).values())


def test_the_map_names_are_the_optional_batch_fields_and_the_maps_frames_and_caches_hold():
    optional_batch_fields = tuple(f.name for f in dataclasses.fields(Batch) if f.name not in ("image", "label"))
    assert tuple(MAPS) == optional_batch_fields == ("depth", "parsing", "reflection", "pulse")
    assert set(MAPS) <= {f.name for f in dataclasses.fields(FrameSet)}


def test_a_method_without_a_registered_optimizer_cannot_take_a_step():
    algorithm = Algorithm(None, None, ["a"])
    with pytest.raises(DgfasError, match="register it with register_optimizer"):
        algorithm.minimize(torch.zeros((), requires_grad=True))
