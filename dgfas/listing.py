"""What ``dgfas list`` prints: every registry's names, without importing torch.

Importing the algorithm and model packages loads torch and torchvision, about
3 s and 900 MB on two CPU cores, only to print eleven names. Those names are
written once already, as the first argument of the decorator that registers
each one (``@register_algorithm("erm")``), so for these registries the names
are read from the modules' syntax trees instead, which keeps the decorators the
only place a built-in name is written. The other registries are cheap to
import and are imported. ``tests/test_listing.py`` checks that what is read
equals what importing the packages registers.

Method plugins (:mod:`dgfas.plugins`) register only when imported, so with any
installed the algorithm registry is imported after all, plugins included.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from dgfas.code_identity import PACKAGE_DIR
from dgfas.plugins import ENTRY_POINT_GROUP


@dataclass(frozen=True)
class SourceRegistry:
    """A registry whose names are read from the decorators in its package's source files.

    Attributes:
        kind: the registry's kind, as its :class:`~dgfas.registry.Registry` is named.
        files: package-relative glob of the modules that register into it.
        decorator: the registering decorator as written (``register_model``, ``INNER_STEPS.register``).
    """

    kind: str
    files: str
    decorator: str

    def names(self) -> list[str]:
        """The first argument of every ``@decorator("name", ...)`` in the registry's files, sorted."""
        found: list[str] = []
        for path in sorted(PACKAGE_DIR.glob(self.files)):
            found += decorated_names(path, self.decorator)
        return sorted(found)


def decorated_names(path: Path, decorator: str) -> list[str]:
    """The names ``path`` registers with ``@decorator("name", ...)`` on its functions and classes."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for call in node.decorator_list:
            if (isinstance(call, ast.Call) and ast.unparse(call.func) == decorator and call.args
                    and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
                names.append(call.args[0].value)
    return names


#: The registries whose modules import torch, read from source (see the module docstring).
ALGORITHM_SOURCE = SourceRegistry("algorithm", "algorithms/*.py", "register_algorithm")
INNER_STEP_SOURCE = SourceRegistry("inner-step engine", "algorithms/inner_step.py", "INNER_STEPS.register")
MODEL_SOURCE = SourceRegistry("model", "models/*.py", "register_model")


def registries() -> list:
    """Every registry in the order ``dgfas list`` prints them; each has ``kind`` and ``names()``
    (a :class:`~dgfas.registry.Registry` or a :class:`SourceRegistry`)."""
    import dgfas.data.synthetic  # noqa: F401  (registers the synthetic datasets)
    from dgfas.data.corpora import CORPORA
    from dgfas.data.registry import DATASETS
    from dgfas.data.sources import DATA_SOURCES
    from dgfas.launchers import LAUNCHERS
    from dgfas.presets import PRESETS
    from dgfas.protocols import PROTOCOLS
    from dgfas.selection import SELECTION_RULES, THRESHOLD_RULES

    algorithms = ALGORITHM_SOURCE
    if entry_points(group=ENTRY_POINT_GROUP):
        from dgfas.algorithms import ALGORITHMS

        algorithms = ALGORITHMS
    return [PROTOCOLS, algorithms, INNER_STEP_SOURCE, MODEL_SOURCE, DATASETS, CORPORA, DATA_SOURCES, PRESETS,
            SELECTION_RULES, THRESHOLD_RULES, LAUNCHERS]
