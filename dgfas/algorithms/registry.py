"""The algorithm registry: method name -> :class:`Algorithm` subclass."""

from __future__ import annotations

from dgfas.algorithms.base import Algorithm
from dgfas.registry import Registry

ALGORITHMS: Registry[type[Algorithm]] = Registry("algorithm")
register_algorithm = ALGORITHMS.register
get_algorithm = ALGORITHMS.get
