"""The package's module-level imports form no cycle, so each module can be read after the ones it uses."""

import graphlib
from pathlib import Path

import pytest

from dgfas.code_identity import PACKAGE_DIR, dependencies


def import_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` (module -> modules it imports) as a path that returns to its start, or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return list(reversed(error.args[1]))  # graphlib lists a cycle against the import direction
    return None


def test_module_level_imports_have_no_cycle():
    # An import of a name a package re-exports counts as one of the module defining it (code_identity's rule).
    modules = [path.relative_to(PACKAGE_DIR).as_posix() for path in Path(PACKAGE_DIR).rglob("*.py")]
    cycle = import_cycle({module: dependencies(module) - {module} for module in modules})
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("graph, cycle", [({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
                                          ({"a": {"b"}, "b": set(), "c": {"b"}}, None)])
def test_a_cycle_is_found_and_a_tree_passes(graph, cycle):
    assert import_cycle(graph) == cycle
