"""Generate ``special_reference.npz``: mpmath values of j_l(x) and its roots (not run by tests).

Run from the repository root: ``python tests/data/generate_special_reference.py``.
The mpmath version used is stored in the file (array ``mpmath_version``).
"""

from pathlib import Path

import mpmath
import numpy as np

mpmath.mp.dps = 50
LMAX = 30
NUM_ROOTS = 20


def spherical_jn(l: int, x: float) -> float:
    """j_l(x) = sqrt(pi / 2x) J_{l+1/2}(x), with the exact values at x = 0."""
    if x == 0:
        return 1.0 if l == 0 else 0.0
    x = mpmath.mpf(x)
    return float(mpmath.sqrt(mpmath.pi / (2 * x)) * mpmath.besselj(l + mpmath.mpf(1) / 2, x))


def main() -> None:
    x = np.unique(
        np.concatenate(
            [
                [0.0, 1e-300, 1e-30, 1e-8, 1e-4, 0.5, 0.999, 1.0, 1.001],
                np.linspace(0.0, 3.0, 61),
                np.linspace(3.0, 40.0, 371),
                np.linspace(40.0, 200.0, 81),
            ]
        )
    )
    values = np.array([[spherical_jn(l, float(xi)) for xi in x] for l in range(LMAX + 1)])
    roots = np.array(
        [
            [float(mpmath.besseljzero(l + mpmath.mpf(1) / 2, n)) for n in range(1, NUM_ROOTS + 1)]
            for l in range(LMAX + 1)
        ]
    )
    out = Path(__file__).with_name("special_reference.npz")
    np.savez_compressed(
        out, x=x, jn=values, jn_zeros=roots, mpmath_version=np.array(mpmath.__version__)
    )
    print(f"wrote {out}: jn {values.shape}, jn_zeros {roots.shape}, mpmath {mpmath.__version__}")


if __name__ == "__main__":
    main()
