"""The real corpora, as distributed: one adapter per corpus, registered by explicit import."""

from dgfas.data.corpora import casia, msu, oulu, replay, siw
from dgfas.data.corpora.index import CORPORA, CorpusIndex, VideoEntry, index_corpus, register_corpus, write_index

__all__ = ["CORPORA", "CorpusIndex", "VideoEntry", "casia", "index_corpus", "msu", "oulu", "register_corpus", "replay",
           "siw", "write_index"]
