"""An intra-dataset protocol's videos: its roles (train, dev, test) selected from a dataset's video table.

A protocol file says which videos play each role by their metadata
(:class:`dgfas.protocols.Selection`); this module applies that to a
dataset's video table (:data:`dgfas.data.registry.VIDEO_TABLES`: the index
of a real corpus, the plan of a synthetic stand-in), so one definition runs
on the real corpus, on a copy of it without its protocol lists, and on the
synthetic data.

Where the real corpus ships its own lists (OULU-NPU's ``Protocols/``), they
stay the authority: the file-defined selection must equal them, role by role,
or the run stops with a one-line error naming the protocol, the fold and the
list file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dgfas.data.corpora.index import OFFICIAL_LISTS, CorpusIndex
from dgfas.data.frames import FrameSet
from dgfas.data.registry import VIDEO_TABLES, DataOptions, get_dataset
from dgfas.data.sources import bind_domain
from dgfas.errors import DgfasError
from dgfas.protocols import FOLD_SEPARATOR, INTRA_ROLES, Protocol, get_protocol


def _where(protocol: Protocol) -> str:
    fold = "" if protocol.fold is None else f" fold {protocol.fold}"
    return f"protocol {protocol.name}{fold} ({protocol.path})"


def _examples(values: set[str] | list[str], count: int = 3) -> str:
    shown = sorted(values)[:count]
    return ", ".join(shown) + (", ..." if len(values) > count else "")


def select_roles(protocol: Protocol, table: pd.DataFrame, dataset: str) -> dict[str, pd.DataFrame]:
    """The rows of ``table`` (one per video) that play each role of ``protocol``, by role.

    Raises:
        DgfasError: a fold protocol without its fold; a selection naming a column the table lacks or a value
            that no video has (a typo would otherwise select nothing); a role without both live and spoof
            videos; a video in two roles.
    """
    if protocol.kind != "intra":
        raise DgfasError(f"{_where(protocol)} is a {protocol.kind} protocol, not an intra one")
    if protocol.folds and protocol.fold is None:
        raise DgfasError(f"{_where(protocol)} has folds 1-{len(protocol.folds)}; name one, e.g. "
                         f"{protocol.name}{FOLD_SEPARATOR}1")
    roles = {}
    for role in INTRA_ROLES:
        keep = np.ones(len(table), dtype=bool)
        for column, values in protocol.selection(role).criteria:
            if column not in table.columns:
                raise DgfasError(f"{_where(protocol)}: {role} selects by {column!r}, which dataset {dataset} does "
                                 f"not record; it records {sorted(table.columns)}")
            absent = [v for v in values if not table[column].isin([v]).any()]
            if absent:
                present = sorted(table[column].unique().tolist(), key=str)
                raise DgfasError(f"{_where(protocol)}: {role} selects {column} {absent}, which no video of "
                                 f"dataset {dataset} has; it has {present}")
            keep &= table[column].isin(values).to_numpy()
        chosen = table[keep]
        labels = set(chosen["label"])
        if labels != {"live", "spoof"}:
            raise DgfasError(f"{_where(protocol)}: {role} selects {len(chosen)} video(s) of dataset {dataset} with "
                             f"labels {sorted(labels)}; a role needs live and spoof videos")
        roles[role] = chosen
    for first, second in ((a, b) for i, a in enumerate(INTRA_ROLES) for b in INTRA_ROLES[i + 1:]):
        shared = set(roles[first]["video_id"]) & set(roles[second]["video_id"])
        if shared:
            raise DgfasError(f"{_where(protocol)}: {len(shared)} video(s) in both {first} and {second}: "
                             f"{_examples(shared)}")
    return roles


def check_official(protocol: Protocol, corpus: str, root: Path, roles: dict[str, pd.DataFrame],
                   on_disk: set[str]) -> bool:
    """Check the file-defined roles against the lists the corpus ships for ``protocol.official``.

    Args:
        roles: :func:`select_roles`'s rows, with the index's ``relative_path``.
        on_disk: every video the index found, as relative paths.

    Returns:
        True when the lists were there and agree; False for a corpus or a copy without lists.

    Equal lists are as disjoint as the roles :func:`select_roles` checked, so no video is in two lists.

    Raises:
        DgfasError: a listed video missing on disk, or a list that names other videos than the selection;
            each names the protocol, its fold and the list file.
    """
    if protocol.official is None or corpus not in OFFICIAL_LISTS:
        return False
    reader = OFFICIAL_LISTS.get(corpus)
    lists = {role: reader(root, protocol.official, protocol.fold, role) for role in INTRA_ROLES}
    if any(found is None for found in lists.values()):
        return False
    for role, listed in lists.items():
        missing = set(listed.videos) - on_disk
        if missing:
            raise DgfasError(f"{_where(protocol)}: {listed.path} lists {len(missing)} video(s) not found under "
                             f"{root}: {_examples(missing)}")
        selected = set(roles[role]["relative_path"])
        unlisted, unselected = selected - set(listed.videos), set(listed.videos) - selected
        if unlisted or unselected:
            raise DgfasError(f"{_where(protocol)}: its {role} selection disagrees with {listed.path}: "
                             f"{len(unselected)} listed video(s) not selected ({_examples(unselected)}), "
                             f"{len(unlisted)} selected video(s) not listed ({_examples(unlisted)})")
    return True


def selected_videos(protocol: Protocol, data_source: str, options: DataOptions) -> tuple[str, dict[str, pd.DataFrame]]:
    """(dataset, rows by role) of an intra protocol's domain under ``data_source``, checked against the
    corpus's own lists where the real corpus ships them."""
    dataset = bind_domain(data_source, protocol.target, intra=True)
    if dataset not in VIDEO_TABLES:
        raise DgfasError(f"{_where(protocol)}: dataset {dataset} (domain {protocol.target} of data source "
                         f"'{data_source}') records no video metadata to select by")
    table = VIDEO_TABLES.get(dataset)(options)
    roles = select_roles(protocol, table, dataset)
    if "relative_path" in table.columns:
        check_official(protocol, dataset, Path(dict(options.roots)[dataset]), roles, set(table["relative_path"]))
    return dataset, roles


def video_frame_numbers(frames: FrameSet, videos: pd.DataFrame) -> np.ndarray:
    """(N,) each frame's number in its video's own timeline.

    A real corpus's frames carry the number of the decoded frame already. A
    synthetic video stores every ``frame_step``-th camera frame
    (:mod:`dgfas.data.synthetic.domains`), which its video table records per
    video, so stored frame ``f`` is camera frame ``f * frame_step``.
    """
    if "frame_step" not in videos.columns:
        return frames.frame
    step = pd.Series(frames.video_id).map(videos.set_index("video_id")["frame_step"])
    return frames.frame * step.to_numpy(dtype=np.int64)


def load_role_frames(protocol: Protocol, data_source: str, options: DataOptions) -> dict[str, FrameSet]:
    """The frames of each role of an intra protocol, by role: every frame of each selected video, or only
    those among its first ``protocol.frames.first(role)`` video frames (:func:`video_frame_numbers`).

    The window counts the video's frames, so a video shorter than it keeps every
    frame, and a real corpus keeps those of its prepared frames that fall in it
    (the first is always prepared, so no video is lost; ``--frames-per-video 0``
    prepares every frame, the window's all).

    Raises:
        DgfasError: as :func:`selected_videos`, or a role whose videos have no frames of one class
            (a real corpus may have dropped videos whose faces were not found).
    """
    dataset, roles = selected_videos(protocol, data_source, options)
    frames = get_dataset(dataset)(None, options=options)
    by_role = {}
    for role, rows in roles.items():
        chosen = frames.select(np.isin(frames.video_id, rows["video_id"].to_numpy(dtype=str)))
        window = protocol.frames.first(role)
        if window:
            chosen = chosen.select(video_frame_numbers(chosen, rows) < window)
        if set(np.unique(chosen.label)) != {0, 1}:
            raise DgfasError(f"{_where(protocol)}: the {role} videos of dataset {dataset} left "
                             f"{len(chosen)} frame(s) without both live and spoof ones")
        by_role[role] = chosen
    return by_role


def index_selection(index: CorpusIndex, protocol_name: str, fold: int | None) -> pd.DataFrame:
    """The index rows an intra protocol selects, with its ``role`` and ``fold`` (empty without folds) added:
    every fold's, one after the other, for a fold protocol asked without ``fold``. Where the corpus copy has
    its own lists, each fold's selection is checked against them first.

    Raises:
        DgfasError: a protocol of another corpus, a fold it does not have, or anything
            :func:`select_roles` and :func:`check_official` refuse.
    """
    protocol = get_protocol(protocol_name, fold)
    corpus = bind_domain("real", protocol.target) if protocol.kind == "intra" else None
    if corpus != index.corpus:
        raise DgfasError(f"{_where(protocol)} is not an intra protocol of {index.corpus}"
                         + (f" (its domain {protocol.target} is {corpus})" if corpus else ""))
    folds = [protocol] if protocol.fold is not None or not protocol.folds else [
        protocol.with_fold(k) for k in range(1, len(protocol.folds) + 1)]
    from dgfas.data.corpora.datasets import index_video_table

    table = index_video_table(index)
    on_disk = set(table["relative_path"])
    pieces = []
    for at_fold in folds:
        roles = select_roles(at_fold, table, index.corpus)
        check_official(at_fold, index.corpus, index.root, roles, on_disk)
        pieces += [rows.drop(columns="video_id").assign(role=role, fold="" if at_fold.fold is None else str(at_fold.fold))
                   for role, rows in roles.items()]
    return pd.concat(pieces, ignore_index=True)
