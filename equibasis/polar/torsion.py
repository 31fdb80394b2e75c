"""Torsion bases (all m): SphereNet's and ComENet's spherical Bessel x real harmonics."""

import torch

from equibasis._tracing import PolarInput
from equibasis._validation import (
    check_choice,
)
from equibasis.polar.composition import (
    _check_args,
    _comenet_permutation,
    _paired_degrees,
    _signed_permutation,
    _torsion_product,
)
from equibasis.polar.radial import _SphericalBesselRadial
from equibasis.polar.variants import TORSION_VARIANT_TABLE, TORSION_VARIANTS


class TorsionBasis(PolarInput):
    r"""SphereNet torsion basis: spherical Bessel times real spherical harmonics, all m.

    .. math::

        \text{"consistent"}:\quad t_{lmn}(d, \theta, \varphi) =
            \sqrt{\frac{2}{c^3 j_{l+1}(z_{ln})^2}}\;
            j_l\!\left(z_{ln}\tfrac{d}{c}\right) Y_{lm}(\theta, \varphi)

    with :math:`Y_{lm}` the orthonormal real harmonics (Wikipedia / sphericart; with the polar
    angle :math:`\theta` from the local z axis these are also e3nn's values and e3nn's m order
    -l..l). Columns: l, then m = -l..l, then n (column ``(l*l + l + m) * R + n``). This is the
    spherical Fourier-Bessel basis, orthonormal on the ball of radius ``c``: every radial order
    meets every harmonic of its own degree. No envelope; beyond the cutoff the functions
    continue as :math:`j_l` (evaluated exactly).

    ``"dig"`` reproduces DIG SphereNet's ``torsion_emb`` column for column, quirks included:

    * its harmonics are listed per degree as m = 0, +1..+l, -l..-1 (``-m`` standing for the
      :math:`\sin(m\varphi)` function), with the Condon-Shortley phase kept: the DIG harmonic is
      :math:`(-1)^m Y_{lm}` (``convert_sh(..., "sphericart", "dig")``);
    * ``rbf.view(-1, 1, n, k) * cbf.view(-1, n, n, 1)`` multiplies the harmonic at flat index
      ``f`` (of ``n * n``) with the radial functions of degree ``f mod n`` -- not with its own
      degree. With ``n = num_spherical = 7`` only 8 of the 49 harmonics meet their own degree.
      Column ``f * R + q`` holds :math:`\tilde Y_f(\theta, \varphi)\,
      \sqrt{2 / j_{(f \bmod n)+1}^2}\; j_{f \bmod n}(z_{(f \bmod n) q}\, d / c)`.
    * normalisation ``sqrt(2 / j_{l+1}(z_ln)^2)`` (no :math:`c^{-3/2}`), no envelope.

    The default is ``"consistent"``, the mathematically meaningful basis; use ``"dig"`` to load
    SphereNet weights or compare with DIG.

    Args:
        num_spherical: Number of degrees L (l = 0..L-1), >= 1 (DIG SphereNet's default: 7).
        num_radial: Number of roots R per degree, >= 1 (no upper limit).
        cutoff: Cutoff radius ``c`` > 0, in the length unit of ``dist``.
        variant: ``"consistent"`` (default) or ``"dig"``.

    Shapes:
        ``forward(dist, theta, phi, idx_kj=None)``: ``theta`` (polar angle, radians, DIG
        passes the triplet angle) and ``phi`` (azimuth / torsion, radians) of shape ``(T,)``;
        ``dist`` of shape ``(T,)`` without ``idx_kj`` or ``(E,)`` with it (gathered per
        triplet). Returns ``(T, L * L * R)`` with the dtype and device of ``dist``.

    Raises:
        TypeError: On non-integer sizes, non-float inputs or mixed dtypes.
        ValueError: On sizes < 1, ``cutoff <= 0``, an unknown variant, mismatched shapes or a
            negative / non-finite distance.

    Example:
        >>> basis = TorsionBasis(num_spherical=3, num_radial=6, cutoff=5.0, variant="dig")
        >>> dist, theta, phi = torch.tensor([1.5]), torch.tensor([1.0]), torch.tensor([2.0])
        >>> basis(dist, theta, phi).shape
        torch.Size([1, 54])

    References:
        Liu et al., "Spherical Message Passing for 3D Molecular Graphs", ICLR 2022, Sec. 3-4;
        DIG ``dig/threedgraph/method/spherenet/features.py`` (``torsion_emb``); Gasteiger et
        al., DimeNet, ICLR 2020, Sec. 4 (the spherical Fourier-Bessel basis).
    """

    _torsion = True

    def __init__(
        self,
        num_spherical: int = 3,
        num_radial: int = 6,
        cutoff: float = 5.0,
        variant: str = "consistent",
    ) -> None:
        super().__init__()
        num_spherical, num_radial, cutoff = _check_args(num_spherical, num_radial, cutoff)
        self.variant = check_choice("variant", variant, TORSION_VARIANTS)
        self.num_spherical, self.num_radial, self.cutoff = num_spherical, num_radial, cutoff
        row = TORSION_VARIANT_TABLE[self.variant]
        self.radial = _SphericalBesselRadial(
            num_spherical, num_radial, cutoff, row.normalization, "none"
        )
        if row.convention == "sphericart":
            self.columns = None  # the standard order and signs
        else:  # harmonic f is sign[f] * standard[perm[f]]: computed straight in that order
            perm, sign = _signed_permutation(num_spherical, row.convention)
            self.columns = list(zip(perm.tolist(), sign.tolist(), strict=True))
        if row.pairing == "modulo":  # DIG: the harmonic at flat index f meets degree f mod L
            degree = torch.arange(num_spherical * num_spherical) % num_spherical
        else:
            degree = _paired_degrees(num_spherical)
        self.register_buffer("degree", degree, persistent=False)

    def forward(
        self,
        dist: torch.Tensor,
        theta: torch.Tensor,
        phi: torch.Tensor,
        idx_kj: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Evaluate the basis; see the class docstring for shapes."""
        return _torsion_product(self, dist, theta, phi, idx_kj)

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f"num_spherical={self.num_spherical}, num_radial={self.num_radial}, "
            f"cutoff={self.cutoff}, variant={self.variant!r}"
        )


class ComENetTorsionBasis(PolarInput):
    r"""DIG ComENet's ``TorsionEmbedding``: spherical Bessel times real harmonics, degree-paired.

    .. math:: t_{lmn}(d, \theta, \varphi) = \sqrt{\frac{2}{j_{l+1}(z_{ln})^2}}\;
              j_l\!\left(z_{ln}\tfrac{d}{c}\right) Y_{lm}(\theta, \varphi)

    with the standard real harmonics :math:`Y_{lm}` (no Condon-Shortley phase: ComENet's
    :math:`(-1)^m` cancels the one in its Legendre functions), listed per degree as
    m = 0, +1..+l, -l..-1 (``-m`` = the :math:`\sin(m\varphi)` function) and, unlike SphereNet,
    each paired with the radial functions of its own degree (``repeat_interleave`` by 2l+1):
    column ``f * R + n`` for the f-th harmonic in that order. No envelope.

    Defaults are the ComENet model's (``num_spherical=2``, ``num_radial=3``, ``cutoff=8.0``),
    in the SphereNet keyword order (DIG's class takes ``(num_radial, num_spherical, cutoff)``).

    Args:
        num_spherical: Number of degrees L, >= 1 (ComENet: 2).
        num_radial: Number of roots R per degree, >= 1 (ComENet: 3).
        cutoff: Cutoff radius ``c`` > 0 (ComENet: 8.0).

    Shapes:
        ``forward(dist, theta, phi)``: all ``(...)`` (ComENet passes the edge length, its
        exterior angle and folded torsion); returns ``(..., L * L * R)``.

    Raises:
        TypeError: On non-integer sizes, non-float inputs or mixed dtypes.
        ValueError: On sizes < 1, ``cutoff <= 0``, mismatched shapes or a negative distance.

    Example:
        >>> basis = ComENetTorsionBasis()
        >>> basis(torch.tensor([1.2]), torch.tensor([0.3]), torch.tensor([1.0])).shape
        torch.Size([1, 12])

    References:
        Wang et al., ComENet, NeurIPS 2022; DIG ``dig/threedgraph/method/comenet/features.py``
        (``TorsionEmbedding``).
    """

    _torsion, _gathers = True, False

    def __init__(self, num_spherical: int = 2, num_radial: int = 3, cutoff: float = 8.0) -> None:
        super().__init__()
        num_spherical, num_radial, cutoff = _check_args(num_spherical, num_radial, cutoff)
        self.num_spherical, self.num_radial, self.cutoff = num_spherical, num_radial, cutoff
        self.radial = _SphericalBesselRadial(num_spherical, num_radial, cutoff, "dimenet", "none")
        self.columns = [(index, 1.0) for index in _comenet_permutation(num_spherical).tolist()]
        self.register_buffer("degree", _paired_degrees(num_spherical), persistent=False)

    def forward(self, dist: torch.Tensor, theta: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        """Evaluate the basis; see the class docstring for shapes."""
        return _torsion_product(self, dist, theta, phi, None)

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f"num_spherical={self.num_spherical}, num_radial={self.num_radial}, "
            f"cutoff={self.cutoff}"
        )
