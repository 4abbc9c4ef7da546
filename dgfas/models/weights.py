"""A backbone's initialization: ``model.weights`` is ``none``, ``imagenet`` or the path of a state dict.

``none`` keeps the builder's random initialization. ``imagenet`` loads
torchvision's ImageNet weights of the backbone (its ``*_Weights`` entry,
e.g. ``ResNet18_Weights.IMAGENET1K_V1``) from torch's hub cache, where
torchvision itself keeps them; nothing is downloaded at run time (a run must
not depend on the network, and the machines that train may have none), so a
missing file is a one-line error naming the file and the folder to put it in.
Any other value is the path of a ``torch.save``-d state dict.

The backbones keep torchvision's module names at width 1.0, so a file saved
from torchvision loads as is, minus the ImageNet classifier; every way the
file can be wrong ends in a one-line error naming it.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn
from torchvision.models import WeightsEnum

from dgfas.errors import DgfasError

#: ``model.weights``: keep the random initialization.
NO_WEIGHTS = "none"
#: ``model.weights``: torchvision's ImageNet weights, read from torch's hub cache.
IMAGENET = "imagenet"


def hub_cache_file(weights: WeightsEnum) -> Path:
    """Where torch's hub cache holds ``weights``: ``<torch.hub.get_dir()>/checkpoints/<file name of its URL>``.

    The same path ``torch.hub.load_state_dict_from_url`` (which torchvision's
    ``weights.get_state_dict`` calls) reads, and downloads to when it is missing.
    """
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)


def initialize(
    model: nn.Module,
    setting: str,
    *,
    architecture: str,
    width: float,
    imagenet: WeightsEnum | None,
    classifier_prefix: str,
) -> None:
    """Load the weights ``setting`` names into ``model`` (nothing for ``none``).

    Args:
        model: the freshly built backbone.
        setting: ``model.weights``: ``none``, ``imagenet`` or the path of a state dict.
        architecture: the registry's name of the backbone (``resnet18``), for messages.
        width: the backbone's width multiplier; ImageNet weights exist at 1.0 only.
        imagenet: torchvision's ImageNet weights of this backbone, None where torchvision has none.
        classifier_prefix: the ImageNet classifier's key prefix (``fc.``), which the backbone lacks.
    """
    file = weights_file(setting, architecture=architecture, width=width, imagenet=imagenet)
    if file is not None:
        load_state_dict_file(model, file, architecture, classifier_prefix)


def weights_file(setting: str, *, architecture: str, width: float, imagenet: WeightsEnum | None) -> Path | None:
    """The file ``model.weights`` names (None for ``none``); a setting that cannot load is a one-line error.

    Called when a job's settings are resolved, before any data is built or
    run logged, and again by :func:`initialize`; the arguments are its.
    """
    if setting == NO_WEIGHTS:
        return None
    if setting == IMAGENET:
        if imagenet is None:
            raise DgfasError(f"model.weights=imagenet: {architecture} has no torchvision counterpart, so no "
                             "ImageNet weights; use none or the path of a state dict")
        if width != 1.0:
            raise DgfasError(f"model.weights=imagenet: torchvision's {architecture} weights are for width 1.0, "
                             f"not model.width={width}")
        file = hub_cache_file(imagenet)
        if not file.is_file():
            raise DgfasError(f"model.weights=imagenet: put {file.name} (torchvision's {imagenet}, from "
                             f"{imagenet.url}) in {file.parent}; nothing is downloaded at run time")
        return file
    if not Path(setting).is_file():
        raise DgfasError(f"model.weights={setting!r}: weights file not found (valid: {NO_WEIGHTS}, {IMAGENET} or "
                         "the path of a state dict)")
    return Path(setting)


def load_state_dict_file(model: nn.Module, file: Path, architecture: str, classifier_prefix: str) -> None:
    """Load the state dict in ``file`` into ``model``, dropping keys under ``classifier_prefix``.

    Args:
        model: the backbone, at the width the file was saved from.
        file: a ``torch.save``-d state dict.
        architecture: the backbone's name, for messages.
        classifier_prefix: the ImageNet classifier's key prefix, which the backbone lacks ("" drops nothing).
    """
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file, with messages of many lines
        raise DgfasError(f"{file}: cannot read weights as a torch state dict ({type(err).__name__})") from None
    if not isinstance(state, dict):
        raise DgfasError(f"{file}: not a {architecture} state dict (found a {type(state).__name__})")
    if classifier_prefix:
        state = {k: v for k, v in state.items() if not k.startswith(classifier_prefix)}
    mismatch = f"{file}: not a {architecture} state dict of this width"
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatch: a checkpoint of another width
        raise DgfasError(f"{mismatch} ({str(err).splitlines()[-1].strip()})") from None
    if missing or unexpected:
        raise DgfasError(f"{mismatch} (missing {missing[:3]}, unexpected {unexpected[:3]})")
