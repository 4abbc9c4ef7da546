"""Checking a submission's score files against the frames a dgfas run of each protocol is scored on.

A submission is a folder with one sub-folder per protocol, each laid out as
the score folder a dgfas run writes (:func:`dgfas.evaluation.write_score_files`)::

    DIR/C-I/source_val.frame.csv    frame scores of the sources' validation split
    DIR/C-I/target_test.frame.csv   frame scores of the target domain's test split

in the score-file format of :mod:`dgfas.scores` (``video_id,frame,label,score``
and optionally ``attack_type,domain,subject``). The ``*.video.csv`` files a run also
writes may be there and are not read: video scores are recomputed as the mean
of the frame scores, as the trainer computes them. Nor are a run's
``selection.<rule>.target_test.video.csv`` files (the checkpoints other
selection rules pick): a submission is one checkpoint's scores. Files other than CSVs (a
run's ``maps.npz``) are not read either, so a run's own folder, named after its
protocol, is a valid submission.

Each file is checked against the frames a dgfas run of the protocol is scored
on at the given preset and data source: every (video, frame) exactly once and
nothing else, labels (and attack types, domains and subjects, where given) equal
to the dataset's, scores finite. Nothing outside the submission is read: a
submission holding a symbolic link (to a file or a folder) or anything else that is
neither a file nor a folder is refused whole before any file is read, and a problem
line quotes at most the offending field of a file (a long one cut to its start),
never a whole line. The checked tables take their subjects from the dataset,
so the leaderboard's intervals resample a submission's test subjects as they do
a dgfas run's. Every problem of every file is collected before deciding, so one
attempt shows all of them, each on one line naming the file and its lines (line
2 is the first data row); a submission with any problem is rejected whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dgfas.data.frames import FrameSet, frames_fingerprint
from dgfas.data.protocol_frames import load_evaluation_frames, preset_data_options
from dgfas.data.registry import DataOptions
from dgfas.data.sources import DATA_SOURCES
from dgfas.errors import DgfasError
from dgfas.evaluation import score_table
from dgfas.metric_names import EVALUATED_ROLES, TARGET_VIDEO, score_file, selection_prefix, table_name
from dgfas.presets import get_preset
from dgfas.protocols import PROTOCOLS, Protocol, get_protocol, without_fold
from dgfas.scores import LEVELS, read_score_text, video_level
from dgfas.selection import SELECTION_RULES

_SHOWN = 5  # rows or videos quoted per problem line; the rest are counted
_LONGEST_QUOTE = 40  # characters of a submitted field quoted in a problem line


class SubmissionRejected(DgfasError):
    """A submission with problems; ``problems`` holds each, one line naming its file and lines."""

    def __init__(self, folder: Path, problems: list[str]) -> None:
        super().__init__(f"{folder}: submission rejected with {len(problems)} problem(s); nothing was logged")
        self.problems = problems


@dataclass
class CheckedProtocol:
    """One protocol's accepted score files.

    Attributes:
        protocol: the protocol the folder is named after.
        files: the submitted frame-level score files, by role.
        tables: score tables by ``{role}.{level}``, rows in dgfas's own frame order,
            labels, attack types, domains and subjects from the dataset, scores as submitted.
        data_fingerprint: fingerprint of the frames the files were checked against.
    """

    protocol: Protocol
    files: dict[str, Path]
    tables: dict[str, pd.DataFrame]
    data_fingerprint: str


def _more(total: int) -> str:
    return f" and {total - _SHOWN} more" if total > _SHOWN else ""


def _quote(value: str) -> str:
    """A submitted field as a problem line quotes it: whole when short, else its start and its length."""
    if len(value) <= _LONGEST_QUOTE:
        return repr(value)
    return f"{value[:_LONGEST_QUOTE]!r}... ({len(value)} characters)"


def _at_lines(rows: np.ndarray, values: pd.Series | None = None) -> str:
    """``line 3 ('nan'), line 9 ('inf') and 4 more`` for data rows ``rows`` (0-based)."""
    shown = [f"line {row + 2}" + ("" if values is None else f" ({_quote(values.iloc[row])})") for row in rows[:_SHOWN]]
    return ", ".join(shown) + _more(len(rows))


def _frames_at(table: pd.DataFrame) -> str:
    """``line 4 (video 'x', frame 2)`` per row of a table with columns video_id, frame and,
    for rows of the submitted file, row (frames missing from the file have no line)."""
    rows = table.sort_values("row") if "row" in table else table
    shown = [
        (f"line {int(r.row) + 2} " if "row" in table else "") + f"(video {_quote(r.video_id)}, frame {int(r.frame)})"
        for r in rows.head(_SHOWN).itertuples()
    ]
    return ", ".join(shown) + _more(len(table))


def check_score_file(path: Path, frames: FrameSet, what: str) -> tuple[list[str], np.ndarray | None]:
    """Every problem of one submitted frame-level score file, against the frames it must score.

    Args:
        path: the score file.
        frames: the frames a dgfas run scores in its place.
        what: how problems name those frames, e.g. "the target test set".

    Returns:
        The problems, one line each, and, when there are none, the submitted
        scores (N,) in the order of ``frames``.
    """
    try:
        raw = read_score_text(path)
    except DgfasError as error:
        return [str(error)], None
    problems = []
    number = {column: pd.to_numeric(raw[column], errors="coerce").to_numpy(dtype=np.float64)
              for column in ("frame", "label", "score")}
    empty_id = (raw["video_id"].str.strip() == "").to_numpy()
    bad_frame = ~(np.isfinite(number["frame"]) & (number["frame"] == np.round(number["frame"])))
    bad_label = ~np.isin(number["label"], (0.0, 1.0))
    bad_score = ~np.isfinite(number["score"])
    for column, bad, rule in (
        ("video_id", empty_id, "is empty"),
        ("frame", bad_frame, "is not a whole number"),
        ("label", bad_label, "is not 0 (spoof) or 1 (live)"),
        ("score", bad_score, "is empty, not a number, NaN or infinite"),
    ):
        if bad.any():
            values = None if column == "video_id" else raw[column]
            problems.append(f"{path}: column '{column}' {rule} at {_at_lines(np.flatnonzero(bad), values)}")

    keyed = ~empty_id & ~bad_frame
    submitted = pd.DataFrame({
        "video_id": raw["video_id"].to_numpy()[keyed],
        "frame": number["frame"][keyed].astype(np.int64),
        "row": np.flatnonzero(keyed),
    })
    truth = score_table(frames, np.zeros(len(frames)))
    expected = truth[["video_id", "frame"]].astype({"video_id": str}).assign(position=np.arange(len(truth)))
    repeated = submitted.duplicated(["video_id", "frame"], keep=False)
    if repeated.any():
        problems.append(f"{path}: (video, frame) given more than once at {_frames_at(submitted[repeated])}")
    merged = submitted.merge(expected, on=["video_id", "frame"], how="outer", indicator=True)
    extra = merged[merged["_merge"] == "left_only"]
    if len(extra):
        problems.append(f"{path}: {len(extra)} row(s) not in {what}: {_frames_at(extra)}")
    missing = merged[merged["_merge"] == "right_only"]
    absent = missing[~missing["video_id"].isin(set(submitted["video_id"]))]
    if len(absent):
        videos = absent["video_id"].unique()
        listed = ", ".join(repr(v) for v in videos[:_SHOWN]) + _more(len(videos))
        problems.append(f"{path}: {len(videos)} video(s) of {what} missing: {listed}")
    partial = missing.drop(absent.index)
    if len(partial):
        problems.append(f"{path}: {len(partial)} frame(s) of {what} missing: {_frames_at(partial.drop(columns='row'))}")

    both = merged[merged["_merge"] == "both"].astype({"row": np.int64, "position": np.int64})
    for column in ("label", "attack_type", "domain", "subject"):
        if column not in raw.columns:
            continue
        rows, positions = both["row"].to_numpy(), both["position"].to_numpy()
        given, wanted = raw[column].to_numpy()[rows], truth[column].to_numpy()[positions]
        if column == "label":
            differs = ~bad_label[rows] & (number["label"][rows] != wanted)
        else:
            differs = np.char.strip(given.astype(str)) != wanted.astype(str)
        if differs.any():
            wrong = both[differs].assign(given=given[differs], wanted=wanted[differs])
            shown = ", ".join(
                f"line {r.row + 2} (video {_quote(r.video_id)}, frame {r.frame}: {_quote(str(r.given))}, "
                f"the dataset's is {str(r.wanted)!r})"
                for r in wrong.sort_values("row").head(_SHOWN).itertuples()
            )
            problems.append(f"{path}: column '{column}' differs from the dataset's at {shown}{_more(len(wrong))}")

    if problems:
        return problems, None
    scores = np.empty(len(frames))
    scores[both["position"].to_numpy()] = number["score"][both["row"].to_numpy()]
    return [], scores


def _check_protocol(
    folder: Path, protocol: Protocol, data_source: str, options: DataOptions
) -> tuple[list[str], CheckedProtocol | None]:
    # Another CSV is most likely a misnamed score file, which must not go unnoticed.
    known = {score_file(table_name(role, level)) for role in EVALUATED_ROLES for level in LEVELS}
    other_rules = {score_file(selection_prefix(rule) + TARGET_VIDEO) for rule in SELECTION_RULES.names()}
    problems = [
        f"{path}: not a score file name; a protocol folder's score files are {sorted(known)} (.video.csv not read)"
        for path in sorted(folder.glob("*.csv")) if path.name not in known | other_rules
    ]
    source_val, target_test = load_evaluation_frames(protocol, data_source, options)
    files, tables = {}, {}
    for role, frames, what in (
        ("source_val", source_val, f"{protocol.run_name}'s source validation set"),
        ("target_test", target_test, f"{protocol.run_name}'s target test set"),
    ):
        files[role] = folder / score_file(table_name(role, "frame"))
        file_problems, scores = check_score_file(files[role], frames, what)
        problems += file_problems
        if scores is not None:
            tables[table_name(role, "frame")] = score_table(frames, scores)
            tables[table_name(role, "video")] = video_level(tables[table_name(role, "frame")])
    if problems:
        return problems, None
    return [], CheckedProtocol(protocol, files, tables, frames_fingerprint([source_val, target_test]))


def _not_own(folder: Path) -> Iterator[tuple[Path, str]]:
    """Every path under ``folder`` that is not a plain file or folder of its own, with why, in name order."""
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            yield entry, "is a symbolic link"
        elif entry.is_dir():
            yield from _not_own(entry)
        elif not entry.is_file():
            yield entry, "is neither a file nor a folder (a pipe, socket or device)"


def check_confined(folder: Path) -> None:
    """Refuse a submission that holds anything but its own files and folders.

    A symbolic link would have dgfas read, quote in its problems and log to MLflow a file
    from wherever the link points, and a pipe would block the check forever; so every link,
    to a file or a folder, inside the submission or out, and anything else that is neither a
    file nor a folder, is refused before any file is read, anywhere in the submission (read
    or not), so every path it holds resolves inside it. The submission's own path is the
    caller's choice and may be a link.

    Raises:
        DgfasError: one line naming the first such path, relative to the submission, and why.
    """
    refused = list(_not_own(folder))
    if refused:
        path, why = refused[0]
        others = f" (and {len(refused) - 1} more such path(s))" if len(refused) > 1 else ""
        raise DgfasError(f"{folder}: {str(path.relative_to(folder))!r} {why}{others}; a submission may hold only "
                         "its own files and folders, so that nothing outside it is read")


def check_submission(folder: Path, *, preset: str, data_source: str, data: DataOptions) -> list[CheckedProtocol]:
    """Check every protocol folder of a submission against the protocol's data.

    Args:
        folder: the submission, one sub-folder per protocol.
        preset: the preset whose frames (image size, dataset scale) the scores are of.
        data_source: the data source binding the protocols' domains to datasets.
        data: where the data lives and how a missing cache is built.

    Returns:
        The checked protocols, in name order.

    Raises:
        SubmissionRejected: any file has any problem; ``problems`` lists them all.
        DgfasError: the folder is missing or empty, holds a link or anything else that is
            neither a file nor a folder (:func:`check_confined`), or the data cannot be loaded.
    """
    options = preset_data_options(get_preset(preset), data)
    DATA_SOURCES.get(data_source)
    if not folder.is_dir():
        raise DgfasError(f"{folder}: not a folder (expected one sub-folder per protocol, e.g. {folder / 'C-I'})")
    check_confined(folder)
    entries = sorted(folder.iterdir())
    if not entries:
        raise DgfasError(f"{folder}: empty; expected one sub-folder per protocol, e.g. {folder / 'C-I'}")
    problems: list[str] = []
    checked = []
    for entry in entries:
        # a fold protocol's folds are folders of their own: OULU-P3@2
        if not entry.is_dir() or without_fold(entry.name) not in PROTOCOLS:
            problems.append(f"{entry}: not a protocol folder; protocols: {PROTOCOLS.names()} "
                            "(a fold as <protocol>@<k>)")
            continue
        protocol_problems, protocol = _check_protocol(entry, get_protocol(entry.name), data_source, options)
        problems += protocol_problems
        if protocol is not None:
            checked.append(protocol)
    if problems:
        raise SubmissionRejected(folder, problems)
    return checked
