"""A run's code identity: a hash of the source files that train and score it.

A run's key (:attr:`dgfas.run.ResolvedRun.run_key`) includes this hash, so
editing a method's loss trains that method anew while the other methods' runs
are still found finished, and a leaderboard counts only the runs whose hash is
that of the code as it is now (:func:`dgfas.tracking.counted_runs.is_current`).

Which files a run of method M building backbone B depends on:

* :data:`SHARED_FILES`, the modules every run goes through whatever its
  method: reading frames and caches, batching, resolving the run, devices,
  the training loop and its saved state, evaluation, metrics, score files,
  selection and threshold rules, precision, presets, protocols,
  configuration, distributed training, checkpoint files, stop signals
  and the algorithm contract;
* M's module and every ``dgfas`` module it imports at module level, followed
  transitively (``multitask_meta`` brings ``inner_step``, ``meta_layers`` and ``triplet``); an
  import of a name a package re-exports (``from dgfas.models import
  get_model``) counts as an import of the module that defines the name, so a
  method does not depend on every model a package registers;
* B's module (the model registry entry's builder) and its imports likewise
  (``resnet`` brings the weights loader); heads come in through the method's
  imports.

Left out, so that changing them never invalidates a run: other methods, the
command line, tracking, leaderboards, benchmark and sweep drivers (none of them
changes a number), and the data generators (synthetic rendering, corpus
preparation), since what they produce is already keyed by the run's data
fingerprint; keying runs on them as well would make real-data runs stale
whenever the synthetic generator changes. Imports made inside functions are not
followed: in dgfas they load optional heavy dependencies and the data
preparation path. ``tests/test_code_identity.py`` runs every method and fails
if a dgfas file that executed while it trained is missing from its list.

A method from a plugin (:mod:`dgfas.plugins`) contributes its module's source
file, named by its module path, and the dgfas modules it imports.

Files are hashed with their paths relative to the package, so a checkout
anywhere gives the same hash; hashes are computed once per process.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import sys
from pathlib import Path

from dgfas.errors import DgfasError

PACKAGE = "dgfas"

PACKAGE_DIR = Path(__file__).resolve().parent

#: Package-relative files every run depends on, whatever its method.
SHARED_FILES = (
    "algorithms/base.py",
    "algorithms/registry.py",
    "atomic.py",
    "checkpoints.py",
    "config.py",
    "data/batches.py",
    "data/clips.py",
    "data/corpora/cache.py",
    "data/corpora/cache_identity.py",
    "data/corpora/datasets.py",
    "data/frame_cache.py",
    "data/frames.py",
    "data/intra.py",
    "data/npy_files.py",
    "data/protocol_frames.py",
    "data/registry.py",
    "data/sources.py",
    "devices.py",
    "distributed.py",
    "errors.py",
    "evaluation.py",
    "hparams.py",
    "interrupts.py",
    "metric_names.py",
    "metrics.py",
    "models/registry.py",
    "plugins.py",
    "precision.py",
    "presets.py",
    "protocols/__init__.py",
    "protocols/builtin.py",
    "protocols/parse.py",
    "protocols/protocol.py",
    "registry.py",
    "run.py",
    "scores.py",
    "selection.py",
    "trainer.py",
    "training_state.py",
)

#: Files a submission's numbers depend on besides the shared ones: the modules that check and score it.
SUBMISSION_FILES = ("submission.py", "submitted_scores.py")

#: Characters of the hex digest kept: 64 bits, short enough for a table header.
HASH_LENGTH = 16


def module_path(module: str, root: Path = PACKAGE_DIR) -> str | None:
    """The package-relative file of dotted ``module`` (``dgfas.algorithms.erm`` -> ``algorithms/erm.py``), if any."""
    if module != PACKAGE and not module.startswith(PACKAGE + "."):
        return None
    parts = module.split(".")[1:]
    for relative in ("/".join(parts) + ".py", "/".join([*parts, "__init__.py"])):
        if (root / relative).is_file():
            return relative
    return None


def _top_level_imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, imported name or None) of every absolute import at module level (dgfas uses no relative ones)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, str | None]] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            found += [(node.module, alias.name) for alias in node.names]
    return found


def _defining_module(module: str, name: str, root: Path, seen: frozenset[str] = frozenset()) -> str | None:
    """The package-relative file that defines ``name`` imported from ``module``.

    ``name`` may be a submodule (``from dgfas.models import heads``), a name
    defined in ``module`` itself, or one that a package ``__init__`` imports from
    elsewhere to re-export it, which is followed to where it is defined.
    """
    submodule = module_path(f"{module}.{name}", root)
    if submodule is not None:
        return submodule
    relative = module_path(module, root)
    if relative is None or not relative.endswith("__init__.py") or relative in seen:
        return relative
    for source, imported in _top_level_imports(root / relative):
        if imported == name and module_path(source, root) is not None:
            return _defining_module(source, name, root, seen | {relative})
    return relative


def _targets(imports: list[tuple[str, str | None]], root: Path) -> set[str]:
    """The package files that ``imports`` (from :func:`_top_level_imports`) bring in."""
    found = set()
    for module, name in imports:
        target = module_path(module, root) if name is None else _defining_module(module, name, root)
        if target is not None:
            found.add(target)
    return found


def dependencies(relative: str, root: Path = PACKAGE_DIR) -> set[str]:
    """Package-relative files that ``relative`` imports at module level, directly."""
    return _targets(_top_level_imports(root / relative), root)


def _closure_beyond_shared(roots: set[str], root: Path) -> set[str]:
    """The shared files as listed, plus ``roots`` and their imports, transitively, not entered through shared files.

    The shared list is explicit so that what it brings is read in one place; a
    closure through it would pull in data preparation (``data/corpora/cache_identity.py``
    imports face detection for one constant).
    """
    closure = set(SHARED_FILES)
    pending = sorted(roots - closure)
    while pending:
        relative = pending.pop()
        if relative in closure:
            continue
        closure.add(relative)
        pending += sorted(dependencies(relative, root) - closure)
    return closure


def method_files(method: str, model: str | None, root: Path = PACKAGE_DIR) -> dict[str, Path]:
    """Name -> file of every source file a run of ``method`` on backbone ``model`` depends on.

    A dgfas file is named by its package-relative path; a plugin's module by
    its dotted name (``dgfas_toy_plugin.py``), which is the same wherever it is
    installed.

    Args:
        method: a registered method (built-in or plugin).
        model: the backbone the run builds (its algorithm config's ``model``),
            None for a method that builds none from the model registry.
        root: the package folder whose files are read; another folder holds a
            copy of the package (tests), whose modules are found by the same names.
    """
    from dgfas.algorithms import get_algorithm
    from dgfas.models import get_model

    roots: set[str] = set()
    outside: dict[str, Path] = {}
    for obj in [get_algorithm(method), *([get_model(model).build] if model is not None else [])]:
        module = sys.modules[obj.__module__]
        relative = module_path(module.__name__, root)
        if relative is not None:
            roots.add(relative)
            continue
        source = inspect.getsourcefile(module)
        if source is None:
            raise DgfasError(f"method '{method}': the source of its module {module.__name__} cannot be found, "
                             "so its runs cannot be keyed by their code")
        path = Path(source)
        outside[f"{module.__name__}.py"] = path
        roots |= _targets(_top_level_imports(path), root)  # the plugin's dgfas imports, followed as a method's
    files = {name: root / name for name in sorted(_closure_beyond_shared(roots, root))}
    return {**files, **outside}


def hash_files(files: dict[str, Path]) -> str:
    """sha256 over each file's name and content, in name order; the first :data:`HASH_LENGTH` hex digits."""
    digest = hashlib.sha256()
    for name in sorted(files):
        content = files[name].read_bytes()
        digest.update(f"{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()[:HASH_LENGTH]


@functools.lru_cache(maxsize=None)
def code_hash(method: str, model: str | None) -> str:
    """The code hash of a run of ``method`` building backbone ``model``, as the code is in this process's checkout."""
    return hash_files(method_files(method, model))


@functools.lru_cache(maxsize=None)
def submission_code_hash() -> str:
    """The code hash of a score submission: the shared files and the modules that check and score it."""
    files = [*SHARED_FILES, *SUBMISSION_FILES]
    return hash_files({name: PACKAGE_DIR / name for name in files})
