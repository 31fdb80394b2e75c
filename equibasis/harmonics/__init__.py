r"""Real spherical harmonics of any degree, as e3nn irreps, and exact convention converters.

One vectorised recurrence (the one sphericart uses) computes the orthonormal real harmonics
:math:`Y_{lm}` of the standard (Wikipedia) convention for every degree up to any ``lmax``:

* :math:`c_m + i s_m = (x + i y)^m` by the complex-product recurrence
  :math:`c_m = c_{m-1} x - s_{m-1} y`, :math:`s_m = c_{m-1} y + s_{m-1} x`;
* the normalised, homogeneous Legendre factors :math:`\bar Q_l^m(z, r^2)` by the three-term
  recurrence of the fully normalised associated Legendre functions,

.. math::

    \bar Q_0^0 = \frac{1}{\sqrt{4\pi}},\quad
    \bar Q_l^l = \sqrt{\tfrac{2l+1}{2l}}\,\bar Q_{l-1}^{l-1},\quad
    \bar Q_l^{l-1} = \sqrt{2l+1}\, z\, \bar Q_{l-1}^{l-1},\quad
    \bar Q_l^m = a_{lm}\, z\, \bar Q_{l-1}^m - b_{lm}\, r^2\, \bar Q_{l-2}^m,

    a_{lm} = \sqrt{\frac{4l^2-1}{l^2-m^2}},\qquad
    b_{lm} = \sqrt{\frac{2l+1}{2l-3}\,\frac{(l-1)^2-m^2}{l^2-m^2}},

    Y_{l,0} = \bar Q_l^0,\qquad Y_{l,m} = \sqrt 2\,\bar Q_l^m c_m,\qquad
    Y_{l,-m} = \sqrt 2\,\bar Q_l^m s_m \quad (m > 0).

All factors stay of order one, so the recurrence is stable in float32 and float64 to any degree
(no factorials, no :math:`(2l-1)!!` overflow). :func:`spherical_harmonics` returns e3nn's layout,
which is the same recurrence on the permuted axes ``(z, x, y)`` (e3nn's polar axis is ``y``).
See ``docs/conventions.md`` for every convention and the maps between them.
"""

from equibasis.harmonics.api import (
    NORMALIZATIONS,
    SphericalHarmonics,
    real_spherical_harmonics,
    spherical_harmonics,
)
from equibasis.harmonics.conventions import (
    CONVENTIONS,
    convert_sh,
    real_spherical_harmonics_from_angles,
)

__all__ = [
    "CONVENTIONS",
    "NORMALIZATIONS",
    "SphericalHarmonics",
    "convert_sh",
    "real_spherical_harmonics",
    "real_spherical_harmonics_from_angles",
    "spherical_harmonics",
]
