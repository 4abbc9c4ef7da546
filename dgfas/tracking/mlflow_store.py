"""``TrackedRun`` under its former module, for ``dgfas/submission.py``.

The run store is :mod:`~dgfas.tracking.run_contract`, :mod:`~dgfas.tracking.store`,
:mod:`~dgfas.tracking.tracked_run`, :mod:`~dgfas.tracking.stored_runs`,
:mod:`~dgfas.tracking.figures` and :mod:`~dgfas.tracking.saved_views`. ``submission.py``
still imports ``TrackedRun`` from here; it is hashed into every submission's code
identity (:mod:`dgfas.code_identity`), so its import moves, and this module goes,
when that file next changes for a reason that makes submissions stale anyway.
"""

from dgfas.tracking.tracked_run import TrackedRun

__all__ = ["TrackedRun"]
