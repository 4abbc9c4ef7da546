"""Training methods, registered by explicit import."""

from dgfas.algorithms import erm, multitask_meta
from dgfas.algorithms.base import Algorithm, Batch
from dgfas.algorithms.registry import ALGORITHMS, get_algorithm, register_algorithm

__all__ = ["ALGORITHMS", "Algorithm", "Batch", "erm", "get_algorithm", "multitask_meta", "register_algorithm"]
