"""The report of a corpus's preparation: one row per video, what fell back and why, and the summary a user reads.

Every fallback (a face box borrowed from the nearest frame, a video cropped
at its centre, a face file not used, a frame without a face mesh) is named
by video, in ``report.csv`` and in :meth:`PrepareResult.summary`, so a corpus
prepared with many fallbacks is seen to be so. A prepared video's row is
also kept in the cache's journal, so cached videos report like new ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dgfas.atomic import atomic_write_text
from dgfas.data.corpora.cache import FACE_SOURCES
from dgfas.data.corpora.index import CorpusIndex

#: Columns of ``report.csv``, one row per indexed video. ``status``: ``ok`` (in the arrays), ``unreadable``
#: or ``no_face`` (left out); ``error``: why a video was left out, or a note on how an ``ok`` one fell back.
REPORT_COLUMNS = ("relative_path", "status", "frames", *FACE_SOURCES, "no_mesh", "error")


@dataclass(frozen=True)
class PrepareResult:
    """What a preparation run left behind.

    Attributes:
        folder: the cache folder.
        report: one row per indexed video.
        prepared_now: videos decoded and prepared by this run.
        seconds: how long it took.
        derived_from: the cache of larger crops the frames were resized from, if they were.
        decoded_now: videos this run decoded, whether or not they went into the cache.
        frames_now: frames this run put into the cache.
        left_corpus: cached videos no longer in the corpus, for which the whole cache was made again.
    """

    folder: Path
    report: pd.DataFrame
    prepared_now: int
    seconds: float
    derived_from: Path | None = None
    decoded_now: int = 0
    frames_now: int = 0
    left_corpus: tuple[str, ...] = ()

    def summary(self) -> str:
        """The counts a user checks first (videos by status, frames by how their face was found), every video
        that fell back, by its path under the corpus root, and what this run did."""
        report = self.report
        ok = report[report["status"] == "ok"]
        lines = [
            (f"{len(ok)}/{len(report)} videos prepared ({self.prepared_now} now, {len(ok) - self.prepared_now} "
             f"cached), {int(ok['frames'].sum())} frames in {self.folder}"),
            "face boxes: " + ", ".join(f"{int(ok[c].sum())} {c.replace('_', ' ')}"
                                       for c in FACE_SOURCES),
            f"frames without a face mesh (depth and parsing left empty): {int(ok['no_mesh'].sum())}",
        ]
        fell_back = [f"  {row['relative_path']}: {'; '.join(fallbacks)}"
                     for row in report.to_dict("records") if (fallbacks := fallbacks_of(row))]
        if fell_back:
            lines += [f"{len(fell_back)} video(s) fell back (also in report.csv):", *fell_back]
        if self.left_corpus:
            lines.append(f"made again from the videos: {len(self.left_corpus)} video(s) in the cache left the corpus: "
                         + ", ".join(self.left_corpus))
        if self.derived_from is not None:
            lines.append(f"nothing decoded: frames resized from {self.derived_from}")
        elif self.decoded_now == 0:
            lines.append(f"all {len(report)} videos already cached, nothing decoded")
        else:
            lines.append(f"{self.decoded_now} video(s) decoded in {self.seconds:.1f}s, "
                         f"{self.frames_now / max(self.seconds, 1e-9):.1f} frames/s")
        return "\n".join(lines)


def fallbacks_of(row: dict) -> list[str]:
    """What was done to one video (a ``report.csv`` row) in place of the normal path, if anything."""
    if row["status"] == "unreadable":
        return [f"left out: {row['error']}"]
    if row["status"] == "no_face":
        return [f"left out (--no-face skip): {row['error']}"]
    frames, done = int(row["frames"]), []
    if no_face_found(row):
        done.append(f"cropped at the centre (--no-face centre): no face found in any of its {frames} frames")
    if row["nearest_frame"]:
        done.append(f"no face in {row['nearest_frame']} of its {frames} frames: the nearest frame's box used")
    if row["no_mesh"]:
        done.append(f"no face mesh in {row['no_mesh']} of its {frames} frames: depth and parsing left empty")
    if row["error"]:
        done.append(row["error"])
    return done


def report_row(relative_path: str, status: str, *, error: str = "", **counts: int) -> dict:
    """A ``report.csv`` row: ``counts`` of the columns between status and error, 0 where not given."""
    row = {"relative_path": relative_path, "status": status, "error": error}
    for column in REPORT_COLUMNS[2:-1]:
        row[column] = counts.get(column, 0)
    return row


def row_of_video(relative_path: str, meta: dict[str, list], note: str) -> dict:
    """A prepared video's report row (kept in the cache's journal, so cached videos report like new ones)."""
    sources = meta["face_source"]
    return report_row(
        relative_path, "ok", error=note, frames=len(sources), no_mesh=sum(not found for found in meta["mesh_found"]),
        **{source: sources.count(source) for source in FACE_SOURCES},
    )


def no_face_found(row: dict) -> bool:
    """Whether a prepared video's report row says no frame of it had a face (so it was cropped at the centre)."""
    return row["status"] == "ok" and 0 < row["frames"] == row["centre"]


def left_out_for_no_face(folder: Path, indexed: set[str]) -> dict[str, dict]:
    """The report rows of the indexed videos the folder's last ``report.csv`` left out for want of a face.

    The folder's name fixes the code and settings that found no face, so
    they would find none again; a missing or unreadable report only costs
    decoding those videos again.
    """
    try:
        report = pd.read_csv(folder / "report.csv", keep_default_na=False)
    except (OSError, ValueError):
        return {}
    if list(report.columns) != list(REPORT_COLUMNS):
        return {}
    left_out = report[(report["status"] == "no_face") & report["relative_path"].isin(indexed)]
    return {row["relative_path"]: row for row in left_out.to_dict("records")}


def write_report(index: CorpusIndex, rows: dict[str, dict], folder: Path) -> pd.DataFrame:
    """The report in index order, also written to ``report.csv``."""
    report = pd.DataFrame([rows[v.relative_path] for v in index.videos], columns=list(REPORT_COLUMNS))
    atomic_write_text(folder / "report.csv", report.to_csv(index=False, lineterminator="\n"))
    return report
