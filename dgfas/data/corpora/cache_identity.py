"""What names a real corpus's cache folder: the preparation settings, the preprocessing code and the cache format.

A changed setting, format or labeller must never mix with crops made
before, so each goes into the folder's name. The preprocessing code is found,
not listed: :func:`preprocessing_files` follows the module-level imports of
the preparation entry point (:data:`PREPARATION_ENTRY`) through the
preparation packages, so a module split off or added there keys the cache
with no list to edit, and the face asset and FaceMesh model the labels are
made from are hashed with it. The run-time data layer the preparation also
imports (:mod:`dgfas.data.frames`, :mod:`dgfas.data.frame_cache`) is left out:
what it contributes to a cache, the arrays' layout and encoding, is versioned
by :data:`dgfas.data.corpora.cache.FORMAT_VERSION`, and keying on its code
would prepare every real corpus again (hours each) whenever the trainer's
frame handling is edited.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import dgfas
from dgfas.code_identity import PACKAGE_DIR, dependencies, hash_files
from dgfas.data.corpora.cache import FORMAT_VERSION
from dgfas.data.corpora.faces import MARGIN
from dgfas.errors import DgfasError

#: The module that prepares a corpus (:func:`dgfas.data.corpora.prepare.prepare_corpus`), package-relative.
PREPARATION_ENTRY = "data/corpora/prepare.py"

#: The packages whose modules shape a prepared frame: the corpora's, and the synthetic face the labels place.
PREPARATION_PACKAGES = ("data/corpora/", "data/synthetic/")


@dataclass(frozen=True)
class PrepareConfig:
    """What changes the prepared frames (and so names the cache folder).

    Attributes:
        frames_per_video: frames kept per video, spread uniformly over it
            (a shorter video keeps all it has); 0 keeps every frame.
        size: side of the square face crops, in pixels.
        margin: context around the face box on each side, as a fraction of
            the box's longer side.
    """

    frames_per_video: int = 10
    size: int = 256
    margin: float = MARGIN

    def __post_init__(self) -> None:
        if self.frames_per_video < 0:
            raise DgfasError(f"frames per video must be 0 (all) or more, got {self.frames_per_video}")
        if self.size < 16:
            raise DgfasError(f"crop size must be at least 16 pixels, got {self.size}")
        if not 0 <= self.margin <= 1:
            raise DgfasError(f"face margin must be in [0, 1], got {self.margin}")


def preprocessing_modules(root: Path = PACKAGE_DIR) -> set[str]:
    """Package-relative files of the preprocessing code: :data:`PREPARATION_ENTRY` and the modules of
    :data:`PREPARATION_PACKAGES` it imports at module level, followed transitively.

    Args:
        root: the package folder whose files are read (tests pass a copy).
    """
    found: set[str] = set()
    pending = [PREPARATION_ENTRY]
    while pending:
        relative = pending.pop()
        if relative not in found:
            found.add(relative)
            pending += sorted(d for d in dependencies(relative, root) if d.startswith(PREPARATION_PACKAGES))
    return found


def preprocessing_files() -> dict[str, Path]:
    """Name -> file of everything that shapes a prepared frame: the preprocessing code
    (:func:`preprocessing_modules`), the face asset, and the FaceMesh model when it is installed.

    Files of the package are named by their package-relative path; the model,
    installed outside it, by its file name, so a checkout anywhere names them alike.
    """
    from dgfas.data.corpora.facemesh import default_model_path
    from dgfas.data.synthetic.mesh import ASSET_PATH

    files = {relative: PACKAGE_DIR / relative for relative in preprocessing_modules()}
    asset = Path(ASSET_PATH).resolve()
    files[asset.relative_to(PACKAGE_DIR).as_posix()] = asset
    model = default_model_path()
    if model.is_file():
        files[model.name] = model
    return files


@functools.lru_cache(maxsize=1)
def preprocessing_hash() -> str:
    """The hash of :func:`preprocessing_files` (:func:`dgfas.code_identity.hash_files`).

    An edit to any of them names a new cache folder, so stale crops or labels
    are never served.
    """
    return hash_files(preprocessing_files())


def cache_identity(corpus: str, config: PrepareConfig, derived_from: str | None = None) -> dict:
    """What names a cache folder: corpus, settings, code, format, and the cache it was resized from (if any)."""
    identity = {"corpus": corpus, **dataclasses.asdict(config), "code": preprocessing_hash(),
                "dgfas": dgfas.__version__, "format": FORMAT_VERSION}
    if derived_from is not None:
        identity["derived_from"] = derived_from
    return identity


def cache_folder(cache_dir: Path, corpus: str, config: PrepareConfig, derived_from: str | None = None) -> Path:
    """``<cache_dir>/real/<corpus>-<hash of cache_identity>``."""
    identity = cache_identity(corpus, config, derived_from)
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return Path(cache_dir) / "real" / f"{corpus}-{key}"


def config_of(folder: Path) -> dict:
    """A cache folder's ``config.json`` (empty when missing or unreadable: such a folder is nobody's source)."""
    try:
        return json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return {}
