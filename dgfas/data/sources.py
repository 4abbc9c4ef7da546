"""Data sources: the protocol domain letters, and which dataset stands for each letter.

Binding letters to datasets here, not in protocol files, is what lets one
protocol run on the synthetic stand-ins and on the real corpora alike. The
letters are listed once, in :data:`DOMAINS`; protocols are checked against it
and every data source's binding is read from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from dgfas.errors import DgfasError
from dgfas.registry import Registry


@dataclass(frozen=True)
class Domain:
    """What plays one protocol domain letter.

    Attributes:
        corpus: the corpus the letter stands for, as papers name it.
        real: the corpus adapter ``--data real`` reads (:mod:`dgfas.data.corpora`).
        synthetic: its synthetic stand-in (:mod:`dgfas.data.synthetic`).
        synthetic_intra: the stand-in intra protocols run on, where it is not ``synthetic``: the
            synthetic OULU stand-in draws each video's phone and session and sizes its splits for the
            cross-domain tables, so OULU-NPU's own protocols run on its twin with OULU's user split and
            every condition filmed (:data:`dgfas.data.synthetic.generate.INTRA_STAND_INS`). The real
            corpora serve both.
    """

    corpus: str
    real: str
    synthetic: str
    synthetic_intra: str | None = None


#: Domain letter -> what plays it; the one list of the letters protocols may name.
DOMAINS = {
    "O": Domain("OULU-NPU", real="oulu", synthetic="synth-oulu", synthetic_intra="synth-oulu-intra"),
    "C": Domain("CASIA-FASD", real="casia", synthetic="synth-casia"),
    "I": Domain("Idiap Replay-Attack", real="replay", synthetic="synth-replay"),
    "M": Domain("MSU-MFSD", real="msu", synthetic="synth-msu"),
    "S": Domain("SiW", real="siw", synthetic="synth-siw"),
}

DATA_SOURCES: Registry[dict[str, str]] = Registry("data source")
DATA_SOURCES.add("synthetic", {letter: domain.synthetic for letter, domain in DOMAINS.items()})
DATA_SOURCES.add("real", {letter: domain.real for letter, domain in DOMAINS.items()})

#: data source -> letter -> the dataset intra protocols run on where it is not the cross-domain one
#: (:attr:`Domain.synthetic_intra`).
INTRA_BINDINGS: dict[str, dict[str, str]] = {
    "synthetic": {letter: domain.synthetic_intra for letter, domain in DOMAINS.items() if domain.synthetic_intra}
}


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
