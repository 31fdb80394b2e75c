r"""Polar-coordinate bases: DimeNet's angle basis (m = 0) and the torsion bases (all m).

A triplet ``k -> j -> i`` gives a distance ``d``, an angle and (SphereNet, ComENet) a torsion.
The bases are products of a radial spherical Bessel function and a spherical harmonic,

.. math:: f_{lmn}(d, \theta, \varphi) = N_{ln}\, j_l\!\left(z_{ln} \frac{d}{c}\right)
          Y_{lm}(\theta, \varphi)\ [\times\ \text{envelope}],

with :math:`z_{ln}` the n-th positive root of :math:`j_l` and :math:`c` the cutoff: the
spherical Fourier-Bessel basis of the ball of radius ``c``. DIG, PyG, the official DimeNet code,
ComENet and the DimeNet paper each use a slightly different member of this family; ``variant=``
selects one, and each variant reproduces its library column for column (docs/polar.md has the
table of differences).

How it is computed. DIG and PyG build every basis function symbolically with sympy and loop
over ~50 lambdified functions per call; their closed forms of :math:`j_l` also cancel
catastrophically at small ``d`` in float32. Here, at construction, each radial function
:math:`x \mapsto N_{ln} j_l(z_{ln} x)` (times the envelope where the variant has one) is
expanded in Chebyshev polynomials on :math:`x = d/c \in [0, 1]` from exact values
(:func:`equibasis.special.spherical_jn` at Chebyshev nodes), each function's series cut
after its last coefficient above 1e-13 of the largest of all (at most 38 terms, 29 on average,
for ``num_spherical=7, num_radial=6`` with PyG's envelope; float32 input uses a cut at 3e-8, at
most 28 terms and 21 on average: its rounding error, not the cut, sets its accuracy). The
forward pass is one
Chebyshev recurrence per distance and one matrix product for all
``num_spherical * num_radial`` functions: accurate to ~1e-13 in float64 and ~6e-7 of each
function's peak in float32 at every ``x`` (no cancellation near 0), with exact gradients of
the expansion (the backward pass is the derivative series, differentiable again). Distances
beyond the cutoff give zero for variants with an envelope and are evaluated exactly (with
``spherical_jn``) for those without one. Angular parts use
:func:`equibasis.special.legendre` (m = 0) and, for all m, the normalised associated
Legendre recurrences in the polar angles, computed straight in each library's order and
signs. The torsion product (~300 values per triplet) is written once into its output.

Two paths, one formula (:mod:`equibasis._runtime`): eagerly, the series is an autograd
Function whose backward is the derivative series, rare rows (beyond the cutoff) are patched
alone and products are scaled in place; while a graph is recorded (``torch.jit.trace``,
``torch.compile``, ``torch.export``) the same series, pole and masks are plain operations
selected by ``where``, so the graph is right on every input and autograd differentiates it.
The two agree to a few ulp (same coefficients; the matrix products may sum in another order).
"""

from equibasis.polar.angle import AngleBasis, ComENetAngleBasis
from equibasis.polar.chebyshev import chebyshev_series
from equibasis.polar.torsion import ComENetTorsionBasis, TorsionBasis
from equibasis.polar.variants import ANGLE_VARIANTS, TORSION_VARIANTS

__all__ = [
    "ANGLE_VARIANTS",
    "TORSION_VARIANTS",
    "AngleBasis",
    "ComENetAngleBasis",
    "ComENetTorsionBasis",
    "TorsionBasis",
    "chebyshev_series",
]
