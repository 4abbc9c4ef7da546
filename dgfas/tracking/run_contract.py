"""The layout of a dgfas run in MLflow: the names the trainer writes a run under and the leaderboard reads it back by.

A run's experiment is its suite; its params and ``dgfas.*`` tags say what ran
(:mod:`dgfas.tracking.record`), and its final metrics are named
``{role}.{level}.{name}[.{rule}]`` (:mod:`dgfas.metric_names`). The final metrics go into a table artifact (:data:`METRICS_TABLE`) and only
a few headline ones, in percent, are MLflow metrics (:data:`HEADLINE_METRICS`); the jobs of
one ``dgfas benchmark`` or ``sweep`` command are child runs of a run of that command
(:data:`INVOCATION_TAG`). Names only: nothing here imports MLflow.
"""

from dgfas.metric_names import TARGET_AUC, TARGET_HTER, metric_name

MAP_EXAMPLES = "maps.npz"
"""Artifact of a run whose method predicts dense maps: a few target-test inputs and their maps."""

METRICS_TABLE = "metrics.json"
"""Artifact holding every final metric of a run (``metric``, ``value``) as an MLflow table (``log_table``).

A run computes some 240 final metrics (roles × levels × threshold rules × selection
rules); as MLflow metrics they buried the few that matter in the UI, so they are kept
here and read back by :func:`dgfas.tracking.stored_runs.load_run_records`. Runs logged before this kept them as
MLflow metrics, which :func:`dgfas.tracking.stored_runs.logged_final_metrics` still reads. ``log_table`` writes the
values with pandas' JSON writer, to 10 decimals: 1e-8 percentage points, far below the
0.01 % a leaderboard prints."""

METRICS_TABLE_TAG = "dgfas.metrics_table"
"""Tag naming a run's :data:`METRICS_TABLE`, so reading an older run costs no artifact listing."""

HEADLINE_METRICS = {"HTER": TARGET_HTER, "AUC": TARGET_AUC, "EER": metric_name("target_test", "video", "eer")}
"""The MLflow metrics every run shows, in percent: the target test split at video level, under the
run's own selection rule and the ``dev_eer`` threshold rule. Upper case, as the literature writes
them, which also sorts them above the ``eval.*``, ``train.*`` and ``system/*`` curves."""

INTRA_METRICS = ("apcer", "bpcer", "acer")
"""The ISO/IEC 30107-3 rates an intra-dataset protocol's tables show, in the papers' column order."""

INTRA_HEADLINE_METRICS = {rate.upper(): metric_name("target_test", "video", rate, "dev_eer") for rate in INTRA_METRICS}
"""Headline metrics an intra-dataset protocol's run adds: the ISO/IEC 30107-3 rates OULU-NPU and SiW report."""

INVOCATION_TAG = "dgfas.invocation"
"""Tag of the parent run of one ``dgfas benchmark`` or ``dgfas sweep`` command (its value: the command);
the jobs it runs are its child runs (MLflow's ``mlflow.parentRunId``). A parent is no record."""
