"""Named model-selection rules and threshold rules.

Both are choices that change reported numbers, so both are named, logged and
printed in every table header. Anything that looks at target-domain labels
carries "oracle" in its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from dgfas.metric_names import SOURCE_AUC, SOURCE_EER, TARGET_AUC, TARGET_ORACLE_HTER
from dgfas.registry import Registry

#: Final metrics of one evaluation, flat, named per the MLflow contract
#: ("source_val.video.eer", "target_test.video.hter.oracle_eer", ...).
EvalMetrics = Mapping[str, float]


@dataclass(frozen=True)
class SelectionRule:
    """Picks one checkpoint among the evaluated ones: the smallest ``key``.

    Attributes:
        uses_target_labels: True for oracle rules; tables must say so.
        key: maps (step, metrics) to a sortable value, smaller = better.
    """

    name: str
    description: str
    uses_target_labels: bool
    key: Callable[[int, EvalMetrics], tuple]


SELECTION_RULES: Registry[SelectionRule] = Registry("selection rule")


def _add(rule: SelectionRule) -> None:
    SELECTION_RULES.add(rule.name, rule)


# Ties prefer the higher AUC, then the later step (more training seen).
_add(
    SelectionRule(
        "source_val",
        "lowest video-level EER on the source domains' validation split",
        False,
        lambda step, m: (m[SOURCE_EER], -m[SOURCE_AUC], -step),
    )
)
_add(SelectionRule("last", "the last checkpoint", False, lambda step, m: (-step,)))
_add(
    SelectionRule(
        "oracle",
        "oracle: lowest video-level HTER on the target test split at its own EER threshold",
        True,
        lambda step, m: (m[TARGET_ORACLE_HTER], -m[TARGET_AUC], -step),
    )
)

get_selection_rule = SELECTION_RULES.get


@dataclass(frozen=True)
class ThresholdRule:
    """Where the accept/reject threshold on target scores comes from."""

    name: str
    description: str
    uses_target_labels: bool


THRESHOLD_RULES: Registry[ThresholdRule] = Registry("threshold rule")
THRESHOLD_RULES.add(
    "dev_eer",
    ThresholdRule("dev_eer", "EER threshold of the source-validation scores (classical PAD rule)", False),
)
THRESHOLD_RULES.add(
    "oracle_eer",
    ThresholdRule("oracle_eer", "oracle: EER threshold of the evaluated scores themselves", True),
)
THRESHOLD_RULES.add("fixed", ThresholdRule("fixed", "a threshold fixed in advance", False))
get_threshold_rule = THRESHOLD_RULES.get
