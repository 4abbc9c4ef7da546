"""Training methods, registered by explicit import."""

from dgfas.algorithms import auxiliary, basn, erm, multitask_meta, pyramid
from dgfas.algorithms.base import Algorithm, Batch
from dgfas.algorithms.registry import ALGORITHMS, get_algorithm, register_algorithm

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "Batch",
    "auxiliary",
    "basn",
    "erm",
    "get_algorithm",
    "multitask_meta",
    "pyramid",
    "register_algorithm",
]
