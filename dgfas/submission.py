"""Score submissions: a method trained and scored outside dgfas, on the leaderboard.

A submission is a folder of score files, one sub-folder per protocol, as a
dgfas run writes them; :mod:`dgfas.submitted_scores` says what it must hold
and checks it. A submission with any problem is rejected whole and logs
nothing. An accepted one gets one MLflow run per protocol with the trainer's
own metrics, which the leaderboard shows as a row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dgfas.code_identity import submission_code_hash
from dgfas.data.registry import DataOptions
from dgfas.errors import DgfasError
from dgfas.evaluation import final_metrics, write_score_files
from dgfas.metric_names import EVALUATED_ROLES, table_name
from dgfas.run import RunSpec, git_commit
from dgfas.selection import get_selection_rule
from dgfas.submitted_scores import CheckedProtocol, check_submission

LEADERBOARD_SEED = 0
"""The seed slot a submission takes on the leaderboard (its real seed is unknown, tagged
``dgfas.seed=submitted``): one submission counts as one seed, and submitting again under
the same name replaces the older one, as the leaderboard keeps the newest run per seed."""

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


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


def _log_protocol(name: str, checked: CheckedProtocol, spec: RunSpec, selection_rule: str) -> SubmittedRun:
    from dgfas.tracking.record import RunRecord
    from dgfas.tracking.tracked_run import TrackedRun

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
    record = RunRecord(
        suite=spec.suite, method=name, protocol=protocol.run_name, seed="submitted", preset=spec.preset,
        data_source=spec.data_source, selection_rule=selection_rule, data_fingerprint=checked.data_fingerprint,
        run_key=run_key, protocol_file=str(protocol.path), params=params, git_commit=git_commit(), submission=True,
    )
    metrics = final_metrics(checked.tables)
    with TrackedRun.start(record.suite, f"{name} {protocol.run_name} submitted", record.params,
                          record.tags()) as tracked:
        tracked.log_results(metrics, intra=protocol.kind == "intra")
        for path in [*checked.files.values(), protocol.path]:
            tracked.log_artifact(path)
        video_tables = [table_name(role, "video") for role in EVALUATED_ROLES]
        with tempfile.TemporaryDirectory() as scratch:
            for path in write_score_files({key: checked.tables[key] for key in video_tables}, Path(scratch)):
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
