"""model.weights = none | imagenet | PATH for every backbone, and the paper preset's ImageNet default on real data.

ImageNet files are state dicts the tests write into a temporary torch hub
folder (TORCH_HOME); anything that tries to download fails the test.
"""

import pytest
import torch
import torchvision

from dgfas.errors import DgfasError
from dgfas.models import MODELS, get_model
from dgfas.models.weights import NO_WEIGHTS, hub_cache_file
from dgfas.presets import get_preset
from dgfas.run import resolve_model_config

#: torch.hub's file names of torchvision's ImageNet weights (the last part of their URLs).
HUB_FILES = {"resnet18": "resnet18-f37072fd.pth", "vgg16": "vgg16-397923af.pth"}


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache; a download attempt is an error."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_download(*args, **kwargs):
        raise AssertionError("a test tried to download weights")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    return checkpoints


def _imagenet_state(model: str) -> dict[str, torch.Tensor]:
    """What torchvision's ImageNet file of ``model`` holds, with its classifier (vgg16: its last bias only,
    as the 500 MB of fully connected weights would only slow the test down)."""
    torch.manual_seed(1)
    if model == "resnet18":
        return torchvision.models.resnet18().state_dict()
    state = torchvision.models.vgg16().state_dict()
    return {k: v for k, v in state.items() if k.startswith("features.") or k == "classifier.6.bias"}


def test_every_backbone_starts_from_scratch_by_default():
    assert {name: get_model(name).config().weights for name in MODELS} == dict.fromkeys(MODELS, NO_WEIGHTS)


def test_the_hub_file_is_the_one_torch_hub_names(hub):
    for name, file in HUB_FILES.items():
        assert hub_cache_file(get_model(name).imagenet) == hub / file


@pytest.mark.parametrize("name", sorted(HUB_FILES))
def test_imagenet_loads_torchvisions_file_from_the_hub_cache(name, hub):
    state = _imagenet_state(name)
    torch.save(state, hub / HUB_FILES[name])
    entry = get_model(name)
    model = entry.build(entry.config(weights="imagenet"))
    loaded = model.state_dict()
    assert loaded.keys() <= state.keys()
    for key, value in loaded.items():
        assert torch.equal(value, state[key]), key


@pytest.mark.parametrize("name", sorted(HUB_FILES))
def test_a_missing_imagenet_file_says_which_file_to_put_where(name, hub):
    entry = get_model(name)
    with pytest.raises(DgfasError) as error:
        entry.build(entry.config(weights="imagenet"))
    message = str(error.value)
    assert f"put {HUB_FILES[name]}" in message and f"in {hub}" in message and entry.imagenet.url in message
    assert "\n" not in message


def test_imagenet_needs_width_one_and_a_torchvision_backbone(hub):
    torch.save(_imagenet_state("resnet18"), hub / HUB_FILES["resnet18"])
    resnet = get_model("resnet18")
    with pytest.raises(DgfasError, match=r"weights are for width 1.0, not model.width=0.5"):
        resnet.build(resnet.config(width=0.5, weights="imagenet"))
    cdcn = get_model("cdcn")
    with pytest.raises(DgfasError, match="cdcn has no torchvision counterpart, so no ImageNet weights"):
        cdcn.build(cdcn.config(width=0.125, weights="imagenet"))


@pytest.mark.parametrize("setting", ["", "imagenet1k", "missing.pth"])
def test_anything_but_none_imagenet_or_an_existing_file_is_an_error(setting, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DgfasError, match=rf"model.weights='{setting}': weights file not found \(valid: none, imagenet"):
        get_model("resnet18").build(get_model("resnet18").config(width=0.125, weights=setting))


def test_a_cdcn_state_dict_of_its_width_loads_from_a_path(tmp_path):
    cdcn = get_model("cdcn")
    torch.manual_seed(3)
    saved = cdcn.build(cdcn.config(width=0.125))
    path = tmp_path / "cdcn.pth"
    torch.save(saved.state_dict(), path)
    loaded = cdcn.build(cdcn.config(width=0.125, weights=str(path)))
    assert all(torch.equal(v, saved.state_dict()[k]) for k, v in loaded.state_dict().items())
    with pytest.raises(DgfasError, match="not a cdcn state dict of this width"):
        cdcn.build(cdcn.config(width=0.25, weights=str(path)))


@pytest.mark.parametrize(
    "preset, data_source, model, overrides, weights",
    [
        ("paper", "real", "resnet18", {}, "imagenet"),
        ("paper", "real", "vgg16", {}, "imagenet"),
        ("paper", "real", "cdcn", {}, "none"),  # no ImageNet weights: stays random
        ("paper", "real", "resnet18", {"weights": "none"}, "none"),  # an explicit setting wins
        ("paper", "synthetic", "resnet18", {}, "none"),
        ("quick", "real", "resnet18", {}, "none"),
        ("tiny", "synthetic", "vgg16", {}, "none"),
    ],
)
def test_real_data_at_the_paper_preset_starts_from_imagenet(preset, data_source, model, overrides, weights):
    config = resolve_model_config(get_preset(preset), model, overrides, data_source)
    assert config.weights == weights
    assert config.width == get_preset(preset).width_of(model)
