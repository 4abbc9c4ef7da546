"""Score submissions: a method trained and scored outside dgfas, on the leaderboard.

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
never a whole line. The logged score files take their subjects from
the dataset, so the leaderboard's intervals resample a submission's test
subjects as they do a dgfas run's. Every problem of every file is collected before
deciding, so one attempt shows all of them, each on one line naming the file
and its lines (line 2 is the first data row); a submission with any problem is
rejected whole and logs nothing. An accepted one gets one MLflow run per
protocol with the trainer's own metrics, which the leaderboard shows as a row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dgfas.code_identity import submission_code_hash
from dgfas.data.frames import FrameSet, frames_fingerprint
from dgfas.data.protocol_frames import load_evaluation_frames, preset_data_options
from dgfas.data.registry import DataOptions
from dgfas.data.sources import DATA_SOURCES
from dgfas.errors import DgfasError
from dgfas.evaluation import final_metrics, score_table, write_score_files
from dgfas.presets import get_preset
from dgfas.protocols import PROTOCOLS, Protocol, get_protocol, without_fold
from dgfas.run import RunSpec, git_commit
from dgfas.scores import read_score_text, video_level
from dgfas.selection import SELECTION_RULES, get_selection_rule

SUBMITTED_ROLES = ("source_val", "target_test")
"""Roles of the frame-level score files every protocol folder must hold."""

LEADERBOARD_SEED = 0
"""The seed slot a submission takes on the leaderboard (its real seed is unknown, tagged
``dgfas.seed=submitted``): one submission counts as one seed, and submitting again under
the same name replaces the older one, as the leaderboard keeps the newest run per seed."""

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
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


@dataclass
class SubmittedRun:
    """One protocol of an accepted submission, as logged to MLflow."""

    protocol: str
    run_id: str
    metrics: dict[str, float]


def check_name(name: str) -> None:
    """Refuse a name that would merge with or mimic a dgfas method's leaderboard row."""
    from dgfas.algorithms import ALGORITHMS

    if not _NAME_PATTERN.match(name):
        raise DgfasError(f"submission name {name!r}: use letters, digits and _.+- (starting with a letter or digit)")
    if name in ALGORITHMS:
        raise DgfasError(f"submission name {name!r} is a registered method; its runs would mix with dgfas's")


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
    known = {f"{role}.{level}.csv" for role in SUBMITTED_ROLES for level in ("frame", "video")}
    other_rules = {f"selection.{rule}.target_test.video.csv" for rule in SELECTION_RULES.names()}
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
        files[role] = folder / f"{role}.frame.csv"
        file_problems, scores = check_score_file(files[role], frames, what)
        problems += file_problems
        if scores is not None:
            tables[f"{role}.frame"] = score_table(frames, scores)
            tables[f"{role}.video"] = video_level(tables[f"{role}.frame"])
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


def _log_protocol(name: str, checked: CheckedProtocol, spec: RunSpec, selection_rule: str) -> SubmittedRun:
    from dgfas.tracking.mlflow_store import TrackedRun

    protocol = checked.protocol
    params = {
        "method": name,
        "variant": name,
        "seed": str(LEADERBOARD_SEED),
        "preset": spec.preset,
        "data_source": spec.data_source,
        "selection_rule": selection_rule,
        "code_hash": submission_code_hash(),
        **protocol.as_params(),
    }
    digests = {role: hashlib.sha256(path.read_bytes()).hexdigest() for role, path in checked.files.items()}
    identity = {**params, "data_fingerprint": checked.data_fingerprint, "scores": digests}
    run_key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    tags = {
        "dgfas.suite": spec.suite,
        "dgfas.method": name,
        "dgfas.protocol": protocol.run_name,
        "dgfas.seed": "submitted",
        "dgfas.preset": spec.preset,
        "dgfas.data_source": spec.data_source,
        "dgfas.selection_rule": selection_rule,
        "dgfas.threshold_rules": "dev_eer,oracle_eer",
        "dgfas.data_fingerprint": checked.data_fingerprint,
        "dgfas.run_key": run_key,
        "dgfas.protocol_file": str(protocol.path),
        "dgfas.submission": "true",
    }
    commit = git_commit()
    if commit is not None:
        tags["dgfas.git_commit"] = commit
    metrics = final_metrics(checked.tables)
    with TrackedRun.start(spec.suite, f"{name} {protocol.run_name} submitted", params, tags) as tracked:
        tracked.log_results(metrics, intra=protocol.kind == "intra")
        for path in [*checked.files.values(), protocol.path]:
            tracked.log_artifact(path)
        with tempfile.TemporaryDirectory() as scratch:
            video_tables = {key: table for key, table in checked.tables.items() if key.endswith(".video")}
            for path in write_score_files(video_tables, Path(scratch)):
                tracked.log_artifact(path)
        tracked.log_dict({"spec": dataclasses.asdict(spec), "protocol": str(protocol.path),
                          "data_fingerprint": checked.data_fingerprint, "score_sha256": digests},
                         "resolved_config.json")
    return SubmittedRun(protocol.run_name, tracked.run_id, metrics)


def submit(
    name: str, folder: Path, *, preset: str, data_source: str, data: DataOptions, selection_rule: str = "source_val"
) -> list[SubmittedRun]:
    """Check a submission and, when it has no problem, log one MLflow run per protocol.

    Args:
        name: the leaderboard row's name; must not be a registered method.
        folder: the submission (see the module docstring).
        preset: the preset the scores are of; the suite is ``<data_source>-<preset>``.
        data_source: the data source the scores are of.
        data: where the data lives and how a missing cache is built.
        selection_rule: the model-selection rule the submitter declares having
            used, shown in the leaderboard header (an oracle rule marks it).

    Returns:
        The logged runs, one per protocol, with their metrics.

    Raises:
        SubmissionRejected: any problem in any file; nothing is logged.
    """
    check_name(name)
    get_selection_rule(selection_rule)
    checked = check_submission(folder, preset=preset, data_source=data_source, data=data)
    return [
        _log_protocol(name, protocol, RunSpec(protocol=protocol.protocol.run_name, method=name, seed=LEADERBOARD_SEED,
                                              preset=preset, data_source=data_source), selection_rule)
        for protocol in checked
    ]
