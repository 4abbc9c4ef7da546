"""Backbones, registered by explicit import."""

from dgfas.models import cdcn, resnet, vgg
from dgfas.models.registry import MODELS, get_model, register_model

__all__ = ["MODELS", "cdcn", "get_model", "register_model", "resnet", "vgg"]
