"""Synthetic DG-FAS domains (stand-ins for OULU-NPU, CASIA-FASD, Replay-Attack, MSU-MFSD).

Importing this package registers ``synth-oulu``, ``synth-casia``,
``synth-replay`` and ``synth-msu`` in :data:`dgfas.data.registry.DATASETS`.
"""

from dgfas.data.synthetic import generate  # noqa: F401  (registers the datasets)
