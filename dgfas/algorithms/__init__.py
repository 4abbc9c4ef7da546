"""Training methods, registered by explicit import."""

from dgfas.algorithms import erm
from dgfas.algorithms.base import Algorithm, Batch
from dgfas.algorithms.registry import ALGORITHMS, get_algorithm, register_algorithm

__all__ = ["ALGORITHMS", "Algorithm", "Batch", "erm", "get_algorithm", "register_algorithm"]
