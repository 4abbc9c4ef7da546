"""A run's record in MLflow: the ``dgfas.*`` tags a run is written with, and the leaderboard row it is read back as.

A trained run (:mod:`dgfas.benchmark`), a submission (:mod:`dgfas.submission`) and the
parent run of a command build their tags here, and
:func:`dgfas.tracking.stored_runs.load_run_records` reads runs back here, so a tag's
name is written once, as a field name: :class:`RunRecord`'s field ``run_key`` is tag
``dgfas.run_key``, :class:`Machine`'s ``device_name`` tag ``dgfas.device_name``, and
:class:`StoredRecord`'s fields read them under the same names. A run's params are its
identity (``ResolvedRun.params()`` or a submission's), which its key hashes; the record
carries them as they are. Runs stored before a tag or param existed read back with None
where it is missing. Plain values only: nothing here imports MLflow or torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dgfas.errors import DgfasError
from dgfas.metric_names import LOGGED_THRESHOLD_RULES
from dgfas.tracking.row_setup import SETUP_COLUMNS

TAG_PREFIX = "dgfas."

RECORD_ID_COLUMNS = ("method", "protocol", "seed", "data_source", "preset", "selection_rule")
"""Columns of ``load_run_records`` that identify a run; the rest are its final metrics."""

RECORD_CODE_COLUMNS = ("code_hash", "protocol_hash", "protocol_file", "torch_version", "device_name")
"""Columns of ``load_run_records`` saying what computed a run: the hash of the code that trained and scored it (param ``code_hash``,
:mod:`dgfas.code_identity`), the protocol file's content hash and path, torch's version and the
CPU or GPU it ran on; None where the run did not log it (runs logged before these were)."""

RECORD_COLUMNS = (*RECORD_ID_COLUMNS, "run_id", "run_key", "start_time", "hparam_draw", "holdout_source",
                  *SETUP_COLUMNS, *RECORD_CODE_COLUMNS)
"""The columns of ``load_run_records`` before its final metrics, in order: the fields of :class:`StoredRecord`
(``torch_threads``, added later, sorts among the metrics, where tables never show it)."""


def tag(name: str) -> str:
    """The MLflow tag of record field ``name``: ``dgfas.<name>``."""
    return TAG_PREFIX + name


RUN_KEY_TAG = tag("run_key")
"""The tag a job's finished run is found by (:func:`dgfas.tracking.stored_runs.find_finished_run`)."""


def _tags_of(record: Any, leave_out: tuple[str, ...] = ()) -> dict[str, str]:
    """``dgfas.<field>`` for each field of dataclass ``record`` that holds a value (not None, not False)."""
    tags = {}
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if field.name in leave_out or value is None or value is False:
            continue
        tags[tag(field.name)] = "true" if value is True else str(value)
    return tags


@dataclass(frozen=True)
class Machine:
    """Where a run's numbers were computed: the host, torch's version and, for a job, its device and threads.

    Tags, not params: they are not part of a run's identity (its key), but a
    leaderboard names torch's version and the processor, since another CPU or GPU
    rounds differently. Another number of threads does too: at ``quick``, runs
    of the same key on one CPU thread and on two ended up to 19 HTER points apart
    (erm on OULU-P1), since the summation order changes and training amplifies
    it, so the record keeps the count.

    Attributes:
        host: the host name.
        torch_version: ``torch.__version__``.
        device: the job's torch device (``cuda:0``); None for a command's parent run, which computes nothing.
        device_name: the device's processor, in words.
        torch_threads: torch's CPU threads.
    """

    host: str
    torch_version: str
    device: str | None = None
    device_name: str | None = None
    torch_threads: int | None = None


def source_tags(git_commit: str | None, machine: Machine | None) -> dict[str, str]:
    """The tags naming the code (``git_commit``, None outside a git checkout) and the machine that computed a run.

    A submission's scores were computed elsewhere, so it records the commit
    that checked them and no machine. A trained run and a command's parent run
    record the machine as well, and MLflow's own source tags, which its UI shows.
    """
    if machine is None:
        return {} if git_commit is None else {tag("git_commit"): git_commit}
    tags = {tag("host"): machine.host, tag("torch_version"): machine.torch_version,
            "mlflow.source.name": "dgfas", "mlflow.source.type": "LOCAL"}
    if git_commit is not None:
        tags[tag("git_commit")] = git_commit
        tags["mlflow.source.git.commit"] = git_commit.removesuffix("+dirty")
    return {**tags, **_tags_of(machine, leave_out=("host", "torch_version"))}


@dataclass(frozen=True)
class RunRecord:
    """What a run records of itself in MLflow: its params and, as tags, what ran, under which key, and where.

    Each field but ``params``, ``git_commit`` and ``machine`` is tag ``dgfas.<field>``,
    written when it holds a value (``submission`` as ``true``).

    Attributes:
        suite: the experiment the run belongs to (``<data_source>-<preset>``).
        method: the method, or a submission's name.
        protocol: the protocol's run name (``OULU-P3@2`` for a fold).
        seed: the seed, or ``submitted`` for a submission, whose real seed is unknown.
        preset: the preset the run's frames and schedule come from.
        data_source: the data source binding the protocol's domains to datasets.
        selection_rule: the model-selection rule that picked the checkpoint.
        data_fingerprint: the fingerprint of the frames the run was scored on.
        run_key: the run's identity (:attr:`dgfas.run.ResolvedRun.run_key`).
        protocol_file: the protocol file's path.
        params: the run's params, its identity, written as they are.
        git_commit: the checkout's commit (``+dirty`` with uncommitted changes); None outside a git checkout.
        machine: where the numbers were computed; None for a submission.
        world_size: the processes a trained run ran in; None for a submission.
        hparam_draw: the sweep draw whose hyper-parameters the run used; None outside a sweep.
        holdout_source: the source domain a leave-one-source-domain-out run left out.
        submission: the run holds scores made outside dgfas.
    """

    suite: str
    method: str
    protocol: str
    seed: str
    preset: str
    data_source: str
    selection_rule: str
    data_fingerprint: str
    run_key: str
    protocol_file: str
    params: Mapping[str, str]
    git_commit: str | None
    machine: Machine | None = None
    world_size: int | None = None
    hparam_draw: int | None = None
    holdout_source: str | None = None
    submission: bool = False

    def tags(self) -> dict[str, str]:
        """The run's tags; its threshold rules are those every run logs its metrics under."""
        tags = _tags_of(self, leave_out=("params", "git_commit", "machine"))
        tags[tag("threshold_rules")] = ",".join(LOGGED_THRESHOLD_RULES)
        return {**tags, **source_tags(self.git_commit, self.machine)}


@dataclass(frozen=True)
class StoredRecord:
    """A finished run as the leaderboard reads it back: one row of ``load_run_records`` before its metrics.

    ``RECORD_ID_COLUMNS`` come from params, falling back to ``dgfas.*`` tags; a run
    with overridden hyper-parameters is its own row, named by its ``variant``
    param (``ResolvedRun.variant``). The rest is None where the run did not record it.

    Attributes:
        method: the variant, or the method for a run without overrides.
        seed: as recorded; a submission's seed param is its leaderboard slot.
        run_id: MLflow's id of the run.
        start_time: when the run started, in ms since the epoch (the newest of repeated runs counts).
        hparam_draw: the sweep draw, None for a run outside a sweep.
        holdout_source: the source domain a leave-one-source-domain-out run left out, None for a normal run.
        setup: the backbone params ``SETUP_COLUMNS``, stated per row in leaderboard headers.
    """

    method: str
    protocol: str
    seed: str
    data_source: str
    preset: str
    selection_rule: str
    run_id: str
    run_key: str
    start_time: int
    hparam_draw: int | None
    holdout_source: str | None
    setup: Mapping[str, str | None]
    code_hash: str | None
    protocol_hash: str | None
    protocol_file: str | None
    torch_version: str | None
    device_name: str | None
    torch_threads: str | None

    @classmethod
    def read(cls, run_id: str, start_time: int, params: Mapping[str, str], tags: Mapping[str, str]) -> StoredRecord:
        """The record of MLflow run ``run_id`` from its params and tags.

        Raises:
            DgfasError: the run has neither the param nor the tag of one of ``RECORD_ID_COLUMNS``.
        """
        identity = {}
        for column in RECORD_ID_COLUMNS:
            value = params.get(column, tags.get(tag(column)))
            if value is None:
                raise DgfasError(f"MLflow run {run_id} has neither param '{column}' nor tag '{tag(column)}'")
            identity[column] = value
        draw = tags.get(tag("hparam_draw"))
        return cls(
            **{**identity, "method": params.get("variant", identity["method"])},
            run_id=run_id,
            run_key=tags.get(RUN_KEY_TAG, ""),
            start_time=start_time,
            hparam_draw=None if draw is None else int(draw),
            holdout_source=params.get("holdout_source"),
            setup={column: params.get(column) for column in SETUP_COLUMNS},
            code_hash=params.get("code_hash"),
            protocol_hash=params.get("protocol_hash"),
            **{name: tags.get(tag(name)) for name in ("protocol_file", "torch_version", "device_name", "torch_threads")},
        )

    def columns(self) -> dict[str, Any]:
        """The record as a ``load_run_records`` row: its fields, ``setup`` spread into ``SETUP_COLUMNS``."""
        row: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            row.update(value if field.name == "setup" else {field.name: value})
        return row
