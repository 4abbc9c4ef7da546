"""The algorithm registry: method name -> :class:`Algorithm` subclass."""

from __future__ import annotations

from dgfas.algorithms.base import Algorithm
from dgfas.plugins import load_plugins
from dgfas.registry import Registry


class AlgorithmRegistry(Registry[type[Algorithm]]):
    """The algorithm registry, which imports method plugins (:mod:`dgfas.plugins`) before every lookup.

    Hooking the lookups, rather than each command, means the CLI, the
    benchmark, sweeps and launcher worker processes all see plugin methods
    without each having to remember to load them. Registering never loads
    plugins, so a plugin's own registration cannot recurse into loading.
    """

    def get(self, name: str) -> type[Algorithm]:
        load_plugins()
        return super().get(name)

    def names(self) -> list[str]:
        load_plugins()
        return super().names()

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return super().__contains__(name)

    def __len__(self) -> int:
        load_plugins()
        return super().__len__()


ALGORITHMS = AlgorithmRegistry("algorithm")
register_algorithm = ALGORITHMS.register
get_algorithm = ALGORITHMS.get
