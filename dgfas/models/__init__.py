"""Backbones, registered by explicit import."""

from dgfas.models import resnet
from dgfas.models.registry import MODELS, get_model, register_model

__all__ = ["MODELS", "get_model", "register_model", "resnet"]
