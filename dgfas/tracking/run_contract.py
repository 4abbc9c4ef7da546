"""The layout of a dgfas run in MLflow: the names the trainer writes a run under and the leaderboard reads it back by.

A run's experiment is its suite; its params and ``dgfas.*`` tags say what ran, and its
final metrics are named ``{role}.{level}.{name}[.{rule}]`` (the MLflow run contract in the
project notes). The final metrics go into a table artifact (:data:`METRICS_TABLE`) and only
a few headline ones, in percent, are MLflow metrics (:data:`HEADLINE_METRICS`); the jobs of
one ``dgfas benchmark`` or ``sweep`` command are child runs of a run of that command
(:data:`INVOCATION_TAG`). Names only: nothing here imports MLflow.
"""

RECORD_ID_COLUMNS = ("method", "protocol", "seed", "data_source", "preset", "selection_rule")
"""Columns of ``load_run_records`` that identify a run; the rest are its final metrics."""

RECORD_CODE_COLUMNS = ("code_hash", "protocol_hash", "protocol_file", "torch_version", "device_name")
"""Columns of ``load_run_records`` saying what computed a run: the hash of the code that trained and scored it (param ``code_hash``,
:mod:`dgfas.code_identity`), the protocol file's content hash and path, torch's version and the
CPU or GPU it ran on; None where the run did not log it (runs logged before these were)."""

FINAL_METRIC_ROLES = ("source_val", "target_test", "selection")
"""Metric name prefixes of final (evaluation) metrics; ``train.*`` curves are not records."""

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

HEADLINE_METRICS = {"HTER": "target_test.video.hter.dev_eer", "AUC": "target_test.video.auc",
                    "EER": "target_test.video.eer"}
"""The MLflow metrics every run shows, in percent: the target test split at video level, under the
run's own selection rule and the ``dev_eer`` threshold rule. Upper case, as the literature writes
them, which also sorts them above the ``eval.*``, ``train.*`` and ``system/*`` curves."""

INTRA_HEADLINE_METRICS = {"APCER": "target_test.video.apcer.dev_eer", "BPCER": "target_test.video.bpcer.dev_eer",
                          "ACER": "target_test.video.acer.dev_eer"}
"""Headline metrics an intra-dataset protocol's run adds: the ISO/IEC 30107-3 rates OULU-NPU and SiW report."""

INVOCATION_TAG = "dgfas.invocation"
"""Tag of the parent run of one ``dgfas benchmark`` or ``dgfas sweep`` command (its value: the command);
the jobs it runs are its child runs (MLflow's ``mlflow.parentRunId``). A parent is no record."""
