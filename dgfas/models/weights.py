"""Loading a torchvision state dict (e.g. ImageNet weights) into a backbone.

The backbones keep torchvision's module names at width 1.0, so a file saved
from torchvision loads as is, minus the ImageNet classifier; every way the
file can be wrong ends in a one-line error naming it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from dgfas.errors import DgfasError


def load_torchvision_weights(model: nn.Module, path: str, architecture: str, classifier_prefix: str) -> None:
    """Load the state dict at ``path`` into ``model``, dropping keys under ``classifier_prefix``.

    Args:
        model: the backbone, at the width the file was saved from.
        path: a ``torch.save``-d state dict.
        architecture: torchvision's name for it (``resnet18``), for messages.
        classifier_prefix: the ImageNet classifier's key prefix (``fc.``), which the backbone lacks.
    """
    file = Path(path)
    if not file.is_file():
        raise DgfasError(f"{file}: weights file not found")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a bad file, with messages of many lines
        raise DgfasError(f"{file}: cannot read weights as a torch state dict ({type(err).__name__})") from None
    if not isinstance(state, dict):
        raise DgfasError(f"{file}: not a {architecture} state dict (found a {type(state).__name__})")
    state = {k: v for k, v in state.items() if not k.startswith(classifier_prefix)}
    mismatch = f"{file}: not a {architecture} state dict of this width"
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatch: a checkpoint of another width
        raise DgfasError(f"{mismatch} ({str(err).splitlines()[-1].strip()})") from None
    if missing or unexpected:
        raise DgfasError(f"{mismatch} (missing {missing[:3]}, unexpected {unexpected[:3]})")
