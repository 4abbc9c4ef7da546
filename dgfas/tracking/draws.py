"""Choosing among a sweep's hyper-parameter draws, one per method, protocol and seed.

A sweep (``dgfas sweep --draws N``) gives each (method, protocol, seed)
several runs, one per draw, and each is a leaderboard row of its own
(``erm[lr=0.00123, weight_decay=4.5e-05]``). :func:`choose_draws` keeps one
run per (method, protocol, seed) by a named rule and names it after the
method, so that the leaderboard's mean over seeds is a mean over the chosen
draws: DomainBed's hyper-parameter selection, applied per seed.
"""

from __future__ import annotations

import pandas as pd

from dgfas.errors import DgfasError
from dgfas.metric_names import SOURCE_EER, TARGET_ORACLE_HTER
from dgfas.registry import Registry
from dgfas.tracking.record import RECORD_ID_COLUMNS

LOSO_SOURCE_EER = f"loso.{SOURCE_EER}"
"""The record column :func:`with_loso_scores` adds: a draw's mean EER on each source it was trained without."""

DRAW_RULES: Registry[str] = Registry("draw rule")
"""Rule name -> the record column whose lowest value wins."""
DRAW_RULES.add("source_val", SOURCE_EER)
# Leave-one-source-domain-out (DomainBed's leave-one-domain-out cross-validation): the mean, over
# a draw's holdout runs (one per source, trained without it), of the EER on the held-out source.
DRAW_RULES.add("loso", LOSO_SOURCE_EER)
# Reads target-test labels twice over (HTER at the target's own EER threshold): an oracle.
DRAW_RULES.add("oracle", TARGET_ORACLE_HTER)

_DRAW_IDENTITY = [*RECORD_ID_COLUMNS, "variant"]


def choose_draws(records: pd.DataFrame, rule: str) -> pd.DataFrame:
    """Keep, per (method, protocol, seed), the draw the rule prefers, named after the method.

    Only draws compete: runs tagged with a draw, and runs of the method's
    defaults, which are draw 0 whoever ran them (a sweep that finds the
    defaults finished by ``dgfas benchmark`` skips them, untagged). Other
    variants, such as ablations, are left out. Of a draw run several times
    (after code changes) the newest counts. Ties go to the lower draw.

    Args:
        records: Run records shaped as ``load_run_records`` gives them: ``method``
            (the variant name), the other ``RECORD_ID_COLUMNS``, ``start_time``,
            ``hparam_draw`` and the rule's metric column.
        rule: ``source_val``: lowest source-validation video EER. ``loso``: lowest
            mean EER on the held-out source over the draw's holdout runs (the
            records with a ``holdout_source``); a draw without one holdout run per
            source does not compete. ``oracle``: lowest target-test video HTER at
            the oracle (target EER) threshold; it looks at target labels, so a
            table of its choices must say "oracle".

    Returns:
        The chosen runs' records, one per (method, protocol, seed, data source,
        preset, selection rule), with ``method`` the method's name and a
        ``variant`` column holding the chosen draw's row name.
    """
    metric = DRAW_RULES.get(rule)
    if rule == "loso":
        records = with_loso_scores(records)
    needed = [*RECORD_ID_COLUMNS, "start_time", "hparam_draw", metric]
    missing = [column for column in needed if column not in records.columns]
    if missing:
        raise DgfasError(f"run records lack column(s) {missing}, needed to choose draws by '{rule}'")
    if "holdout_source" in records.columns:
        records = records[records["holdout_source"].isna()]
    variant = records["method"].astype(str)
    method = variant.str.split("[", n=1).str[0]
    draw = records["hparam_draw"].astype("Int64").mask(records["hparam_draw"].isna() & (variant == method), 0)
    candidates = records.assign(method=method, variant=variant, hparam_draw=draw)[draw.notna()]
    newest = candidates.sort_values("start_time", kind="stable").drop_duplicates(
        [*RECORD_ID_COLUMNS, "variant"], keep="last"
    )
    best = newest.sort_values([metric, "hparam_draw"], na_position="last", kind="stable").drop_duplicates(
        list(RECORD_ID_COLUMNS), keep="first"
    )
    return best.sort_index()


def with_loso_scores(records: pd.DataFrame) -> pd.DataFrame:
    """Add ``loso.source_val.video.eer`` to each normal run: the mean held-out-source EER of its draw's holdout runs.

    A run's holdout runs share its variant, protocol, seed and the rest of
    ``RECORD_ID_COLUMNS``, and leave out one source each; the score is NaN
    unless every source of the protocol was held out once (the newest run of each).
    """
    from dgfas.protocols import get_protocol

    if "holdout_source" not in records.columns or records["holdout_source"].isna().all():
        raise DgfasError("no leave-one-source-domain-out runs to choose draws by 'loso': run the sweep with --loso")
    holdouts = records[records["holdout_source"].notna()].assign(variant=lambda r: r["method"].astype(str))
    holdouts = holdouts.sort_values("start_time", kind="stable").drop_duplicates(
        [*_DRAW_IDENTITY, "holdout_source"], keep="last")
    grouped = holdouts.groupby(_DRAW_IDENTITY, dropna=False)
    scores = grouped[SOURCE_EER].mean().rename(LOSO_SOURCE_EER).reset_index()
    scores["_held_out"] = grouped["holdout_source"].nunique().to_numpy()
    sources = {name: len(get_protocol(name).sources) for name in scores["protocol"].unique()}
    complete = scores["_held_out"] == scores["protocol"].map(sources)
    scores.loc[~complete, LOSO_SOURCE_EER] = float("nan")
    normal = records[records["holdout_source"].isna()].assign(variant=lambda r: r["method"].astype(str))
    scored = normal.merge(scores.drop(columns="_held_out"), on=_DRAW_IDENTITY, how="left")
    if scored[LOSO_SOURCE_EER].isna().all():
        raise DgfasError("no draw has one holdout run per source of its protocol; run the sweep with --loso to the end")
    return scored.drop(columns="variant").set_axis(normal.index)
