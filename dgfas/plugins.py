"""Method plugins: algorithms that live in outside packages.

A package adds methods by declaring entry points in the group
``dgfas.methods``, e.g. in its ``pyproject.toml``::

    [project.entry-points."dgfas.methods"]
    toy = "dgfas_toy_plugin"

Loading an entry point imports its object (here the module), and that import
registers the method with :func:`dgfas.algorithms.register_algorithm`, the
decorator the built-in methods use; nothing else about a plugin method differs
from a built-in one. The algorithm registry calls :func:`load_plugins` before
every lookup (see :mod:`dgfas.algorithms.registry`), so every command, the
benchmark and worker processes all see plugin methods.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from dgfas.errors import DgfasError

ENTRY_POINT_GROUP = "dgfas.methods"

# (distribution, entry point) pairs already imported in this process.
_loaded: set[tuple[str, str]] = set()


def _distribution(entry_point: EntryPoint) -> str:
    dist = entry_point.dist
    return "an unknown distribution" if dist is None else f"distribution {dist.name} {dist.version}"


def load_plugins() -> None:
    """Import every ``dgfas.methods`` entry point not imported yet in this process.

    Idempotent: an entry point is imported once, so calling this before each
    lookup costs one scan of the installed distributions' metadata. A plugin
    that failed is tried again on the next call and fails again, rather than
    leaving its methods silently missing.

    Raises:
        DgfasError: a plugin cannot be imported, or registers a method name
            that is already taken; the message names the entry point and its
            distribution.
    """
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        key = (_distribution(entry_point), entry_point.name)
        if key in _loaded:
            continue
        where = f"method plugin '{entry_point.name}' ({entry_point.value}) from {key[0]}"
        try:
            entry_point.load()
        except DgfasError as error:
            # Registering a taken name: the registry's message says which name.
            raise DgfasError(f"{where}: {error}") from None
        except Exception as error:  # an import can raise anything; report it on one line
            detail = str(error).splitlines()[0] if str(error) else ""
            reason = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
            raise DgfasError(f"{where} cannot be imported ({reason})") from None
        _loaded.add(key)
