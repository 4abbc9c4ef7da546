"""Data sources: which dataset stands for each protocol domain letter.

Binding letters to datasets here, not in protocol files, is what lets one
protocol run on the synthetic stand-ins and on the real corpora alike.
"""

from __future__ import annotations

from dgfas.errors import DgfasError
from dgfas.registry import Registry

DATA_SOURCES: Registry[dict[str, str]] = Registry("data source")
DATA_SOURCES.add(
    "synthetic",
    {"O": "synth-oulu", "C": "synth-casia", "I": "synth-replay", "M": "synth-msu", "S": "synth-siw"},
)

#: data source -> letter -> the dataset intra protocols run on where it is not the cross-domain one: the
#: synthetic OULU stand-in draws each video's phone and session and sizes its splits for the cross-domain
#: tables, so OULU-NPU's own protocols run on its twin with OULU's user split and every condition filmed
#: (:data:`dgfas.data.synthetic.generate.INTRA_STAND_INS`). The real corpora serve both.
INTRA_BINDINGS: dict[str, dict[str, str]] = {"synthetic": {"O": "synth-oulu-intra"}}


def bind_domain(source: str, letter: str, intra: bool = False) -> str:
    """The dataset that plays domain ``letter`` under data source ``source`` (in an intra protocol if ``intra``)."""
    binding = DATA_SOURCES.get(source)
    if intra and letter in INTRA_BINDINGS.get(source, {}):
        return INTRA_BINDINGS[source][letter]
    if letter not in binding:
        raise DgfasError(
            f"data source '{source}' has no dataset for domain {letter!r}; it binds {sorted(binding)}"
        )
    return binding[letter]
