"""Synthetic DG-FAS domains (stand-ins for OULU-NPU, CASIA-FASD, Replay-Attack, MSU-MFSD and SiW).

Importing this package registers ``synth-oulu``, ``synth-casia``,
``synth-replay``, ``synth-msu``, ``synth-siw`` and the intra stand-in
``synth-oulu-intra`` in :data:`dgfas.data.registry.DATASETS`.
"""

from dgfas.data.synthetic import generate  # noqa: F401  (registers the datasets)
