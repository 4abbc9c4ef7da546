"""A real corpus's cache of smaller crops, resized from a prepared cache of larger ones instead of decoding again.

Preparing a corpus decodes every video and finds every face, which takes
hours; resizing a finished cache's frames takes minutes and gives crops of
the same faces. :func:`larger_cache` finds a source prepared from the videos
with the same settings but for a larger crop side, and :func:`derive_cache`
fills the target with its frames resized, video by video, through the same
journal-appended writer, so a derivation resumes as a preparation does.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from dgfas.atomic import atomic_write_text
from dgfas.data.corpora.cache import (
    FRAME_ARRAYS,
    FRAME_META,
    consolidated_folder,
    frame_arrays,
    is_complete,
    read_journal,
    read_manifest,
    row_ranges,
)
from dgfas.data.corpora.cache_identity import PrepareConfig, cache_identity, config_of
from dgfas.data.corpora.cache_writer import FrameWriter
from dgfas.data.corpora.index import CorpusIndex

#: How each array is resized: averaging over the area a new pixel covers (PIL's box filter) for intensities
#: and maps, the nearest source pixel for class ids, which have no average.
RESAMPLING = {"images": Image.Resampling.BOX, "depth": Image.Resampling.BOX, "parsing": Image.Resampling.NEAREST,
              "reflection": Image.Resampling.BOX}


def resize_frames(arrays: dict[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
    """``FRAME_ARRAYS`` of some frames, resized to ``size`` x ``size``."""
    return {name: np.stack([np.asarray(Image.fromarray(np.asarray(frame)).resize((size, size), RESAMPLING[name]))
                            for frame in arrays[name]])
            for name in FRAME_ARRAYS}


def larger_cache(cache_dir: Path, index: CorpusIndex, config: PrepareConfig) -> Path | None:
    """The finished cache of this index with the smallest crops larger than ``config.size`` and otherwise
    the same identity (frames per video, margin, code, format), prepared from the videos, not derived itself."""
    wanted = cache_identity(index.corpus, config)
    candidates = []
    for folder in (Path(cache_dir) / "real").glob(f"{index.corpus}-*"):
        identity = config_of(folder).get("identity", {})
        same = {k: v for k, v in identity.items() if k != "size"} == {k: v for k, v in wanted.items() if k != "size"}
        if same and identity["size"] > config.size and is_complete(folder, index):
            candidates.append((identity["size"], folder.name))
    return Path(cache_dir) / "real" / min(candidates)[1] if candidates else None


def derive_cache(source: Path, target: Path, index: CorpusIndex, size: int) -> dict:
    """Fill ``target`` with ``source``'s frames resized to ``size``, video by video; returns its manifest.

    Resumes like preparation does; a target begun from a source that has
    changed since is started over.
    """
    source_manifest = read_manifest(source)
    config = config_of(target)
    if config.get("source_fingerprint") != source_manifest["fingerprint"]:
        shutil.rmtree(consolidated_folder(target), ignore_errors=True)
        config["source_fingerprint"] = source_manifest["fingerprint"]
        atomic_write_text(target / "config.json", json.dumps(config, indent=1, sort_keys=True))
    arrays = frame_arrays(source)
    with FrameWriter(target, size) as writer:
        done = {entry["video"] for entry in writer.entries}
        for entry, rows in row_ranges(read_journal(source)):
            if entry["video"] not in done:
                resized = resize_frames({name: array[rows] for name, array in arrays.items()}, size)
                writer.append(entry["video"], resized, {key: entry[key] for key in FRAME_META}, entry["report"])
        return writer.finish(index, derived_from=source.name, source_fingerprint=source_manifest["fingerprint"])

