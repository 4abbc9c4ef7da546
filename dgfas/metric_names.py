"""The names of a run's final metrics, score tables and score files: ``{role}.{level}.{name}[.{threshold rule}]``.

The trainer and a submission write these names to MLflow and to disk; selection
rules, the leaderboard and the MLflow UI read them back, from old stored runs as
well as new ones. So they are built here and spelled nowhere else, and a name
changed here changes everywhere at once (which a stored run would not forgive:
keep them as they are).
"""

from __future__ import annotations

EVALUATED_ROLES = ("source_val", "target_test")
"""The protocol roles a run scores: the sources' validation split (thresholds and model selection come from it)
and the target domain's test split."""

LOGGED_THRESHOLD_RULES = ("dev_eer", "oracle_eer")
"""The threshold rules every threshold-dependent metric is logged under (:mod:`dgfas.selection`)."""

SELECTION = "selection"
"""First part of the metrics and score tables of the checkpoint another selection rule picks
(:func:`selection_prefix`)."""

FINAL_METRIC_ROLES = (*EVALUATED_ROLES, SELECTION)
"""First parts of final (evaluation) metric names; ``train.*`` and ``eval.*`` curves are not final metrics."""

SELECTED_STEP = "selected_step"
"""The metric holding the step of the checkpoint a selection rule picked."""


def table_name(role: str, level: str) -> str:
    """A score table's name, ``target_test.video``: the start of its metrics' names and of its file's."""
    return f"{role}.{level}"


def metric_name(role: str, level: str, name: str, threshold_rule: str | None = None) -> str:
    """A final metric's name: ``target_test.video.auc``, or with a threshold rule ``target_test.video.hter.dev_eer``."""
    base = f"{table_name(role, level)}.{name}"
    return base if threshold_rule is None else f"{base}.{threshold_rule}"


def selection_prefix(selection_rule: str) -> str:
    """``selection.<rule>.``, which names a metric or score table of the checkpoint ``selection_rule`` picks
    when the run's own rule is another (``selection.oracle.target_test.video.auc``)."""
    return f"{SELECTION}.{selection_rule}."


def score_file(table: str) -> str:
    """The file a score table is written to: ``target_test.video.csv``, ``selection.oracle.target_test.video.csv``."""
    return f"{table}.csv"


TARGET_VIDEO = table_name("target_test", "video")
"""The table a run is ranked by: the target test split's video scores."""

SOURCE_EER = metric_name("source_val", "video", "eer")
"""The sources' validation video EER, which the ``source_val`` selection rule minimizes."""

SOURCE_AUC = metric_name("source_val", "video", "auc")
"""The sources' validation video AUC, which breaks ``source_val`` selection ties."""

TARGET_HTER = metric_name("target_test", "video", "hter", "dev_eer")
"""The headline HTER: target test videos at the source-validation EER threshold."""

TARGET_ORACLE_HTER = metric_name("target_test", "video", "hter", "oracle_eer")
"""The target test videos' HTER at their own EER threshold, which oracle rules minimize."""

TARGET_AUC = metric_name("target_test", "video", "auc")
"""The headline AUC of the target test videos."""

EVALUATION_CURVES = (SOURCE_EER, SOURCE_AUC, TARGET_AUC, TARGET_HTER)
"""The metrics a run logs at each evaluation as curves (``eval.<name>``), besides keeping all of them."""
