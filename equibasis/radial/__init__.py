r"""Invariant radial bases: distances ``r`` of shape ``(...)`` -> features ``(..., num_basis)``.

Every basis is an ``nn.Module`` with attributes ``num_basis`` and ``cutoff``, a ``forward(r)``
that accepts any leading shape, float32 or float64 (dtype and device follow ``r``), and a
``repr`` that names it with its hyperparameters. Constants are float64 buffers, cast to the
input's dtype in ``forward``.

========================  ==============================================  =====================
basis                     formula                                         origin
========================  ==============================================  =====================
:class:`GaussianRBF`      :math:`\exp(-(r-\mu_k)^2 / 2\sigma^2)`          SchNet; PyG, DIG
:class:`BesselRBF`        :math:`u(r/c)\,\sin(n\pi r/c)`                  DimeNet; PyG, DIG
:class:`SphericalBesselRBF` :math:`N_{ln}\, j_l(z_{ln} r / c)`            DimeNet / SphereNet
:class:`ExpNormalRBF`     :math:`\phi(r)\exp(-\beta(e^{-\alpha r}-\mu_k)^2)`  PhysNet
:class:`BernsteinRBF`     :math:`f(r)\binom{K-1}{k} x^{K-1-k}(1-x)^k`     SpookyNet
========================  ==============================================  =====================

NaN handling (a documented choice): bases whose cutoff or fast path would turn a NaN or
infinite distance into a plausible number raise ``ValueError`` instead (``check_finite``: one
reduction per call, skipped while ``torch.compile`` traces). Every basis here checks, so a NaN
never leaves a radial basis silently. Negative distances raise ``ValueError`` as well (one more
reduction); huge finite distances give the right limit (0 beyond a cutoff, :math:`j_l \to 0`),
not NaN.
"""

from equibasis.radial.bernstein import BernsteinRBF
from equibasis.radial.bessel import BesselRBF, SphericalBesselRBF
from equibasis.radial.expnormal import ExpNormalRBF
from equibasis.radial.gaussian import GaussianRBF
from equibasis.radial.registry import RADIAL_FAMILIES, radial_basis

__all__ = [
    "RADIAL_FAMILIES",
    "BernsteinRBF",
    "BesselRBF",
    "ExpNormalRBF",
    "GaussianRBF",
    "SphericalBesselRBF",
    "radial_basis",
]
