"""``python -m equibasis`` runs the ``equibasis`` command line."""

import sys

from equibasis.cli import main

if __name__ == "__main__":
    sys.exit(main())
