"""``python -m dgfas.cli`` (and ``torchrun -m dgfas.cli``) runs the ``dgfas`` command.

The guard matters: a process started with the ``spawn`` method imports the
parent's main module again under another name, and must not run the command.
"""

import sys

from dgfas.cli import main

if __name__ == "__main__":
    sys.exit(main())
