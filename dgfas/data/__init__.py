"""Datasets: the registry, data sources, and the built-in synthetic domains.

Importing this package registers every built-in dataset (explicit imports,
as timm registers its models).
"""

from dgfas.data import corpora, synthetic
from dgfas.data.frames import FrameSet
from dgfas.data.registry import DATASETS, DataOptions, get_dataset, register_dataset

__all__ = ["DATASETS", "DataOptions", "FrameSet", "corpora", "get_dataset", "register_dataset", "synthetic"]
