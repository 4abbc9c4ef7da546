"""``python -m dgfas.cli`` (and ``torchrun -m dgfas.cli``) runs the ``dgfas`` command.

The guard keeps a mere import of this module (by a documentation tool, say)
from running a command.
"""

import sys

from dgfas.cli import main

if __name__ == "__main__":
    sys.exit(main())
