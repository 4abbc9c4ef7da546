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


def bind_domain(source: str, letter: str) -> str:
    """The dataset name that plays domain ``letter`` under data source ``source``."""
    binding = DATA_SOURCES.get(source)
    if letter not in binding:
        raise DgfasError(
            f"data source '{source}' has no dataset for domain {letter!r}; it binds {sorted(binding)}"
        )
    return binding[letter]
