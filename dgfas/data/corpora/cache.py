"""The prepared-frame cache of one real corpus: a file per video, then one set of arrays.

Preparing a corpus takes hours, so the unit of work and of writing is the
video: each prepared video is one ``.npz`` written atomically, and a run that
is interrupted resumes with the videos that have no file yet. Once every
video is prepared, the per-video files are joined into plain ``.npy`` arrays
that the trainer memory-maps, so loading a corpus reads only the rows a run
samples.

The cache folder is named by the corpus, the preparation settings and a hash
of the preprocessing code and models, so a changed setting or a changed
labeller never mixes with crops made before.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import dgfas
from dgfas.atomic import atomic_write, atomic_write_text
from dgfas.data.corpora.faces import MARGIN
from dgfas.data.corpora.index import CorpusIndex
from dgfas.data.frames import FrameSet
from dgfas.errors import DgfasError

#: Per-frame arrays of a prepared video, with their dtypes.
FRAME_ARRAYS = {"images": np.uint8, "depth": np.float16, "parsing": np.uint8, "reflection": np.float16}

#: How each kept frame's face box was found.
FACE_SOURCES = ("face_file", "detected", "nearest_frame", "centre")

#: Columns of the consolidated frame table, one row per kept frame.
FRAME_COLUMNS = ("relative_path", "frame", "split", "label", "attack_type", "subject", "face_source", "mesh_found")


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


@functools.lru_cache(maxsize=1)
def preprocessing_hash() -> str:
    """sha256 of everything that shapes a prepared frame: the preprocessing code, the face asset, the mesh model.

    An edit to any of them names a new cache folder, so stale crops or labels
    are never served.
    """
    from dgfas.data.corpora.facemesh import default_model_path

    corpora = Path(__file__).resolve().parent
    synthetic = corpora.parent / "synthetic"
    files = [corpora / name for name in ("cache.py", "prepare.py", "video.py", "faces.py", "facemesh.py", "labels.py")]
    files += [synthetic / "render.py", synthetic / "mesh.py", synthetic / "face_asset.npz"]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    model = default_model_path()
    if model.is_file():
        digest.update(model.read_bytes())
    return digest.hexdigest()[:16]


def cache_folder(cache_dir: Path, corpus: str, config: PrepareConfig) -> Path:
    """``<cache_dir>/real/<corpus>-<hash of settings and code>``."""
    identity = {"corpus": corpus, **dataclasses.asdict(config), "code": preprocessing_hash(),
                "dgfas": dgfas.__version__}
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    return Path(cache_dir) / "real" / f"{corpus}-{key}"


def video_file(folder: Path, relative_path: str) -> Path:
    """Where one prepared video lies: the corpus's own relative path, plus ``.npz``."""
    return folder / "videos" / f"{relative_path}.npz"


def write_video(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """One prepared video, atomically (an interrupted write leaves no file, so the video is redone)."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(file) -> None:
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for key in sorted(arrays):
                with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                    array = arrays[key]  # ascontiguousarray would make a 0-d array 1-d
                    np.lib.format.write_array(member, np.ascontiguousarray(array) if array.ndim else array,
                                              allow_pickle=False)

    atomic_write(path, write)


def read_video(path: Path, keys: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """A prepared video's arrays (only ``keys``, if given); an unreadable file is a one-line error naming it."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in (keys or archive.files)}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DgfasError(f"{path}: unreadable prepared video ({error}); delete it to prepare it again") from None


def index_digest(index: CorpusIndex, prepared: list[str]) -> str:
    """sha256 of the indexed videos, their labels and which of them were prepared.

    The joined arrays belong to exactly this pair: a new video, a changed
    label or a video that now decodes makes them be joined again.
    """
    table = index.table()[["relative_path", "split", "label", "attack_type", "subject"]]
    text = table.to_csv(index=False) + "\n".join(prepared)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def consolidated_folder(folder: Path) -> Path:
    return folder / "frames"


def consolidate(folder: Path, index: CorpusIndex, prepared: list[str]) -> Path:
    """Join the prepared videos (in index order; at least one) into memory-mappable arrays plus a frame table.

    The arrays are filled video by video into ``.npy`` files opened as
    memory maps, so a corpus larger than memory is joined without holding it;
    the folder is built under a temporary name and renamed into place, and
    ``manifest.json`` (written last) says which index it belongs to.
    """
    entries = {v.relative_path: v for v in index.videos}
    target = consolidated_folder(folder)
    building = folder / f".frames-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    counts = {p: len(read_video(video_file(folder, p), ("frame",))["frame"]) for p in prepared}
    total = sum(counts.values())
    first = read_video(video_file(folder, prepared[0]))
    outputs = {}
    for name, dtype in FRAME_ARRAYS.items():
        outputs[name] = np.lib.format.open_memmap(building / f"{name}.npy", mode="w+", dtype=dtype,
                                                     shape=(total, *first[name].shape[1:]))
    rows = []
    start = 0
    for relative_path in prepared:
        arrays = read_video(video_file(folder, relative_path))
        stop = start + counts[relative_path]
        for name in FRAME_ARRAYS:
            outputs[name][start:stop] = arrays[name]
        entry = entries[relative_path]
        for frame, source, mesh_found in zip(arrays["frame"], arrays["face_source"], arrays["mesh_found"]):
            rows.append((relative_path, int(frame), entry.split, entry.label, entry.attack_type, entry.subject,
                         str(source), bool(mesh_found)))
        start = stop
    for array in outputs.values():
        array.flush()
    del outputs
    pd.DataFrame(rows, columns=list(FRAME_COLUMNS)).to_csv(building / "frames.csv", index=False, lineterminator="\n")
    manifest = {"corpus": index.corpus, "index": index_digest(index, prepared), "videos": len(prepared), "frames": total}
    atomic_write_text(building / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(building, target)
    return target


def is_consolidated(folder: Path, index: CorpusIndex, prepared: list[str]) -> bool:
    """Whether ``folder`` holds joined arrays made from exactly these prepared videos of this index."""
    manifest = consolidated_folder(folder) / "manifest.json"
    if not manifest.is_file():
        return False
    return json.loads(manifest.read_text()).get("index") == index_digest(index, prepared)


def load_consolidated(folder: Path, corpus: str) -> FrameSet:
    """Every prepared frame of a corpus; the pixel arrays are memory maps, read only where a run samples."""
    frames_folder = consolidated_folder(folder)
    table = pd.read_csv(frames_folder / "frames.csv", keep_default_na=False)
    arrays = {name: np.load(frames_folder / f"{name}.npy", mmap_mode="r") for name in FRAME_ARRAYS}
    return FrameSet(
        domain=corpus,
        images=arrays["images"],
        label=(table["label"].to_numpy() == "live").astype(np.int64),
        attack_type=table["attack_type"].to_numpy(dtype=str),
        video_id=(corpus + "/" + table["relative_path"]).to_numpy(dtype=str),
        frame=table["frame"].to_numpy(dtype=np.int64),
        subject=table["subject"].to_numpy(dtype=np.int64),
        split=table["split"].to_numpy(dtype=str),
        depth=arrays["depth"],
        parsing=arrays["parsing"],
        reflection=arrays["reflection"],
    )
