"""The real corpora, as distributed: one adapter per corpus, registered by explicit import.

Importing this package also registers each corpus as a dataset of the
trainer and adds the ``real`` data source (see :mod:`.datasets`).
"""

from dgfas.data.corpora import casia, datasets, msu, oulu, replay, siw
from dgfas.data.corpora.index import CORPORA, CorpusIndex, VideoEntry, index_corpus, register_corpus, write_index

__all__ = ["CORPORA", "CorpusIndex", "VideoEntry", "casia", "datasets", "index_corpus", "msu", "oulu",
           "register_corpus", "replay", "siw", "write_index"]
