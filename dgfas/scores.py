"""Score files: reading, validating, video-level aggregation, evaluation, writing.

A score file is a CSV with columns ``video_id,frame,label,score`` and
optionally ``attack_type,domain,subject``; ``label`` is 1 for live and 0 for spoof, and
a higher ``score`` means "more likely live". Other columns are ignored. It is
the one hand-off between a trained model and every number we report, so a
malformed file is refused with a one-line ``DgfasError`` naming the file and
the problem rather than turned into a quietly wrong HTER.

Problems inside the table name the data row, counted from 1 after the header,
and the file line (data row + 1 for a file without quoted line breaks).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from dgfas.atomic import atomic_write_text
from dgfas.errors import DgfasError
from dgfas.metrics import compute_metrics, eer_threshold
from dgfas.selection import get_threshold_rule

REQUIRED_COLUMNS = ("video_id", "frame", "label", "score")
OPTIONAL_COLUMNS = ("attack_type", "domain", "subject")
"""``subject`` is the filmed person's id: the leaderboard's bootstrap resamples test subjects
(:mod:`dgfas.tracking.intervals`), so all videos of one person stay together; without it the
resampling unit falls back to the video."""
LEVELS = ("frame", "video")


def _where(index: int) -> str:
    return f"data row {index + 1} (line {index + 2})"


def _numeric(frame: pd.DataFrame, column: str, source: str) -> pd.Series:
    """The column as finite float64, or an error naming the first bad row."""
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").astype(np.float64)
    unparsable = values.isna().to_numpy() & ~raw.str.strip().str.lower().isin(["nan", "-nan", "+nan"]).to_numpy()
    if unparsable.any():
        index = int(np.argmax(unparsable))
        value = raw.iloc[index]
        shown = f"a non-numeric value {value!r}" if value.strip() else "an empty value"
        raise DgfasError(f"{source}: column '{column}' has {shown} in {_where(index)}")
    non_finite = ~np.isfinite(values.to_numpy())
    if non_finite.any():
        index = int(np.argmax(non_finite))
        value = raw.iloc[index]
        raise DgfasError(f"{source}: column '{column}' has a NaN or infinite value {value!r} in {_where(index)}")
    return values


def _read_csv(path: str | os.PathLike, **options) -> pd.DataFrame:
    """``pd.read_csv(path, **options)``; a file that cannot be read as CSV text is a one-line error naming it.

    A value that does not fit a column's dtype stays a ``ValueError`` for the caller to explain.
    """
    source = str(path)
    try:
        return pd.read_csv(path, keep_default_na=False, skipinitialspace=True, **options)
    except FileNotFoundError:
        raise DgfasError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise DgfasError(f"{source}: is a directory, not a score file") from None
    except pd.errors.EmptyDataError:
        raise DgfasError(f"{source}: empty file (expected a CSV header {','.join(REQUIRED_COLUMNS)})") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise DgfasError(f"{source}: not a parsable CSV ({detail})") from None
    except UnicodeDecodeError:
        raise DgfasError(f"{source}: not UTF-8 text") from None
    except OSError as exc:
        raise DgfasError(f"{source}: cannot read ({exc.strerror})") from None


def _header(path: str | os.PathLike) -> dict[str, str]:
    """The file's column names as written -> stripped; every required column is there.

    The error names only what is missing and what the header must be: the
    first line of a file that is no score file is its content, not a header,
    and is not echoed.
    """
    names = {str(name): str(name).strip() for name in _read_csv(path, dtype=str, nrows=0).columns}
    missing = [name for name in REQUIRED_COLUMNS if name not in names.values()]
    if missing:
        raise DgfasError(f"{path}: missing column(s) {missing}; a score file's first line is its header: "
                         f"{','.join(REQUIRED_COLUMNS)} and optionally {','.join(OPTIONAL_COLUMNS)}")
    return names


def read_score_text(path: str | os.PathLike) -> pd.DataFrame:
    """A score file's rows as text, so callers can report each bad value with its row.

    Returns:
        Every column as str (empty where a field is missing), header names
        stripped; the required columns are present and there is a data row.

    Raises:
        DgfasError: the file is missing, unreadable, empty or not CSV, or a
            required column is missing.
    """
    _header(path)
    raw = _read_csv(path, dtype=str)
    raw.columns = [str(name).strip() for name in raw.columns]
    if raw.empty:
        raise DgfasError(f"{path}: no data rows after the header")
    # A short line leaves missing fields; treat them as empty text.
    return raw.fillna("")


def read_scores(path: str | os.PathLike, optional: tuple[str, ...] = OPTIONAL_COLUMNS) -> pd.DataFrame:
    """Read and validate a score file.

    Only the columns returned are read, numbers straight into float64 and
    ids as strings, so reading costs about the table's own size. A file with
    a bad value is read again as text (:func:`read_score_text`), which names
    the first bad row; a valid file is read once.

    Args:
        path: the CSV file.
        optional: which of ``OPTIONAL_COLUMNS`` to return where the file has
            them; a caller that needs fewer reads less.

    Returns:
        One row per line with columns ``video_id`` (str), ``frame`` (int64),
        ``label`` (int64, 0/1), ``score`` (float64) and, of ``optional``, those
        the file has (str), in ``OPTIONAL_COLUMNS`` order.

    Raises:
        DgfasError: the file is missing, unreadable, empty or not CSV; a
            required column is missing; or a value is empty, non-numeric,
            non-finite, not an integer frame or not a 0/1 label.
    """
    names = _header(path)
    wanted = [*REQUIRED_COLUMNS, *(name for name in OPTIONAL_COLUMNS if name in optional and name in names.values())]
    # Every column is parsed: with usecols, pandas lets a line with a field too many (an unquoted comma in
    # an id) through, its values shifted into the wrong columns. Columns not returned are read as
    # categories, a few bytes a row for the repeated names score files hold, and dropped.
    dtypes = {name: np.float64 if stripped in ("frame", "label", "score") else str if stripped in wanted
              else "category" for name, stripped in names.items()}
    try:
        typed = _read_csv(path, dtype=dtypes).rename(columns=names)[wanted]
    except ValueError:  # an empty or non-numeric number: the text read names its row
        return _read_and_explain(path, wanted)
    # A short line leaves missing fields; text ones are empty text, as read_score_text has them.
    typed = typed.fillna({name: "" for name in wanted if name not in ("frame", "label", "score")})
    if typed.empty:
        raise DgfasError(f"{path}: no data rows after the header")
    frame, label, score = (typed[name].to_numpy() for name in ("frame", "label", "score"))
    valid = (np.isfinite(frame).all() and (frame == np.round(frame)).all() and np.isin(label, (0.0, 1.0)).all()
             and np.isfinite(score).all() and not typed["video_id"].str.fullmatch(r"\s*").any())
    if not valid:
        return _read_and_explain(path, wanted)
    return typed.astype({"frame": np.int64, "label": np.int64})


def _read_and_explain(path: str | os.PathLike, wanted: list[str]) -> pd.DataFrame:
    """:func:`read_scores` of a file with a value its typed read refused, by way of its text, which
    names the first bad row; a file whose values all pass the text checks is returned as read."""
    source = str(path)
    raw = read_score_text(path)
    empty_id = (raw["video_id"].str.strip() == "").to_numpy()
    if empty_id.any():
        raise DgfasError(f"{source}: column 'video_id' has an empty value in {_where(int(np.argmax(empty_id)))}")

    frame_index = _numeric(raw, "frame", source)
    not_integer = (frame_index != np.round(frame_index)).to_numpy()
    if not_integer.any():
        index = int(np.argmax(not_integer))
        value = raw["frame"].iloc[index]
        raise DgfasError(f"{source}: column 'frame' has a non-integer value {value!r} in {_where(index)}")

    label = _numeric(raw, "label", source)
    bad_label = ~label.isin([0.0, 1.0]).to_numpy()
    if bad_label.any():
        index = int(np.argmax(bad_label))
        value = raw["label"].iloc[index]
        raise DgfasError(f"{source}: column 'label' must be 0 (spoof) or 1 (live); got {value!r} in {_where(index)}")

    table = pd.DataFrame(
        {
            "video_id": raw["video_id"].astype(str),
            "frame": frame_index.astype(np.int64),
            "label": label.astype(np.int64),
            "score": _numeric(raw, "score", source),
        }
    )
    for name in wanted[len(REQUIRED_COLUMNS):]:
        table[name] = raw[name].astype(str)
    return table


def video_level(frames: pd.DataFrame, *, source: str = "scores") -> pd.DataFrame:
    """One row per video: the mean of its frame scores.

    Args:
        frames: a table as returned by ``read_scores``.
        source: what to call the table in errors (the file name).

    Returns:
        The same columns, one row per video in order of first appearance,
        ``frame`` = -1 (the row is not a frame), ``score`` = mean frame score.

    Raises:
        DgfasError: a video's frames disagree on ``label``, ``attack_type``,
            ``domain`` or ``subject``, which would make its video-level row meaningless.
    """
    constant = [name for name in ("label", *OPTIONAL_COLUMNS) if name in frames.columns]
    grouped = frames.groupby("video_id", sort=False)
    for name in constant:
        distinct = grouped[name].nunique()
        if (distinct > 1).any():
            video = distinct.index[int(np.argmax((distinct > 1).to_numpy()))]
            values = sorted(frames.loc[frames["video_id"] == video, name].unique().tolist())
            raise DgfasError(f"{source}: video {video!r} has frames with different {name} values {values}")
    videos = grouped.agg(**{name: (name, "first") for name in constant}, score=("score", "mean")).reset_index()
    videos["frame"] = np.int64(-1)
    return videos[list(frames.columns)]


def _read_at_level(path: str | os.PathLike, level: str) -> pd.DataFrame:
    frames = read_scores(path)
    n_live = int(frames["label"].sum())
    if n_live == 0 or n_live == len(frames):
        only = "live" if n_live else "spoof"
        raise DgfasError(f"{path}: needs both live (label 1) and spoof (label 0) rows; found only {only}")
    return video_level(frames, source=str(path)) if level == "video" else frames


def evaluate_score_file(
    path: str | os.PathLike,
    *,
    level: str = "video",
    dev_path: str | os.PathLike | None = None,
    threshold: float | None = None,
) -> dict[str, float | int | str]:
    """PAD metrics of a score file under a named threshold rule.

    The rule is ``fixed`` when ``threshold`` is given, ``dev_eer`` (EER
    threshold of ``dev_path``, aggregated to the same level) when a dev file
    is given, and otherwise ``oracle_eer``, the EER threshold of the file
    itself, which looks at its labels.

    Args:
        path: the score file to evaluate.
        level: "video" (mean frame score per video) or "frame".
        dev_path: a dev score file whose EER threshold is applied to ``path``.
        threshold: a fixed threshold; accept as live iff score >= threshold.

    Returns:
        Exactly the keys hter, far, frr, apcer, bpcer, acer, eer, auc,
        tpr_at_far_1pct, threshold, threshold_rule, n_live, n_spoof.

    Raises:
        DgfasError: both ``dev_path`` and ``threshold`` given, an unknown
            level, or a malformed score file.
    """
    if level not in LEVELS:
        raise DgfasError(f"unknown level '{level}'; valid: {list(LEVELS)}")
    if dev_path is not None and threshold is not None:
        raise DgfasError("give either a dev score file or a fixed threshold, not both")
    table = _read_at_level(path, level)
    if threshold is not None:
        rule = "fixed"
        if not np.isfinite(threshold):
            raise DgfasError(f"threshold must be a finite number; got {threshold}")
    elif dev_path is not None:
        rule = "dev_eer"
        dev = _read_at_level(dev_path, level)
        threshold = eer_threshold(dev["label"].to_numpy(), dev["score"].to_numpy())
    else:
        rule = "oracle_eer"
        threshold = eer_threshold(table["label"].to_numpy(), table["score"].to_numpy())
    attack_type = table["attack_type"].to_numpy() if "attack_type" in table.columns else None
    metrics = compute_metrics(
        table["label"].to_numpy(),
        table["score"].to_numpy(),
        attack_type,
        threshold=float(threshold),
        threshold_rule=rule,
    )
    return metrics.as_dict()


def format_report(result: dict[str, float | int | str]) -> str:
    """A human-readable report of ``evaluate_score_file``'s result, rates in percent."""

    def percent(name: str) -> str:
        return f"{100 * result[name]:6.2f}%"

    rule = str(result["threshold_rule"])
    return "\n".join(
        [
            f"threshold   {result['threshold']:.6g}  [{rule}: {get_threshold_rule(rule).description}]",
            f"HTER        {percent('hter')}  (FAR {percent('far').strip()}, FRR {percent('frr').strip()})",
            f"APCER       {percent('apcer')}  (worst attack type)",
            f"BPCER       {percent('bpcer')}",
            f"ACER        {percent('acer')}",
            f"EER         {percent('eer')}",
            f"AUC         {percent('auc')}",
            f"TPR@FAR=1%  {percent('tpr_at_far_1pct')}",
            f"samples     {result['n_live']} live, {result['n_spoof']} spoof",
        ]
    )


def write_scores(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a score table atomically.

    The CSV goes to a temporary file in the destination directory and is then
    moved over ``path`` with ``os.replace``, so a reader (or a crashed run)
    never sees a half-written score file.

    Args:
        frame: columns ``video_id,frame,label,score`` and optionally
            ``attack_type,domain,subject``; other columns are not written.
        path: destination CSV.
    """
    path = Path(path)
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise DgfasError(f"{path}: cannot write scores without column {missing[0]!r}")
    columns = [*REQUIRED_COLUMNS, *(name for name in OPTIONAL_COLUMNS if name in frame.columns)]
    atomic_write_text(path, frame[columns].to_csv(index=False, lineterminator="\n"))
