"""``python -m equibasis.datasets {qm9-subset,md} ...``: the data-set generators.

* ``qm9-subset``: rebuild the embedded QM9 subset from the qm9pack CSV files (``data`` extra);
* ``md``: Langevin MD labelled by GFN2-xTB into an npz file (``md`` extra).
"""

import sys

from equibasis.datasets import md, qm9

_COMMANDS = {"qm9-subset": qm9.main, "md": md.main}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a generator; ``--help`` after the command name lists its options."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in _COMMANDS:
        print(f"usage: python -m equibasis.datasets {{{','.join(_COMMANDS)}}} ...", file=sys.stderr)
        return 2
    return _COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
