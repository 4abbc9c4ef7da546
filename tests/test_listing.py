"""``dgfas list`` reads the torch registries' names from source: they must be the names importing registers."""

import pytest

from dgfas.algorithms import ALGORITHMS
from dgfas.algorithms.inner_step import INNER_STEPS
from dgfas.listing import ALGORITHM_SOURCE, INNER_STEP_SOURCE, MODEL_SOURCE, decorated_names
from dgfas.models import MODELS


@pytest.mark.parametrize("source, registry", [(ALGORITHM_SOURCE, ALGORITHMS), (INNER_STEP_SOURCE, INNER_STEPS),
                                              (MODEL_SOURCE, MODELS)], ids=["algorithms", "inner-steps", "models"])
def test_names_read_from_source_are_the_names_importing_registers(source, registry):
    assert source.kind == registry.kind
    assert source.names() == registry.names()


def test_only_the_named_decorator_with_a_literal_name_counts(tmp_path):
    module = tmp_path / "methods.py"
    module.write_text(
        '@register_algorithm("kept")\nclass Kept: ...\n\n\n'
        '@register_model("other kind")\ndef build(): ...\n\n\n'
        '@register_algorithm(NAME)\nclass FromAConstant: ...\n\n\n'
        'class Outer:\n    @register_algorithm("nested")\n    class Inner: ...\n'
    )
    assert decorated_names(module, "register_algorithm") == ["kept", "nested"]
    assert decorated_names(module, "register_model") == ["other kind"]
