"""Angle bases (m = 0): DimeNet's and ComENet's spherical Bessel x zonal harmonics."""

import torch

from equibasis._tracing import PolarInput
from equibasis._validation import (
    check_choice,
    check_int,
)
from equibasis.polar.composition import _check_args, _check_inputs, _composed_angle, _working_dtype
from equibasis.polar.radial import _SphericalBesselRadial
from equibasis.polar.variants import ANGLE_VARIANT_TABLE, ANGLE_VARIANTS


class AngleBasis(PolarInput):
    r"""DimeNet / SphereNet angle basis: spherical Bessel times zonal harmonic (m = 0).

    .. math::

        \text{"paper"}:\quad a_{ln}(d, \alpha) &= \sqrt{\frac{2}{c^3 j_{l+1}(z_{ln})^2}}\;
            j_l\!\left(z_{ln}\tfrac{d}{c}\right) Y_l^0(\alpha)\; u\!\left(\tfrac{d}{c}\right)\\
        \text{"pyg"}:\quad a_{ln}(d, \alpha) &= \sqrt{\frac{2}{j_{l+1}(z_{ln})^2}}\;
            j_l\!\left(z_{ln}\tfrac{d}{c}\right) Y_l^0(\alpha)\;
            \frac{u(d/c)}{d/c}\\
        \text{"dig"}:\quad a_{ln}(d, \alpha) &= \sqrt{\frac{2}{j_{l+1}(z_{ln})^2}}\;
            j_l\!\left(z_{ln}\tfrac{d}{c}\right) Y_l^0(\alpha)

    with :math:`Y_l^0(\alpha) = \sqrt{(2l+1)/4\pi}\,P_l(\cos\alpha)`, :math:`z_{ln}` the n-th
    positive root of :math:`j_l`, and DimeNet's envelope
    :math:`u(x) = 1 - \frac{(p+1)(p+2)}{2} x^p + p(p+2) x^{p+1} - \frac{p(p+1)}{2} x^{p+2}`,
    ``p = envelope_exponent + 1`` (the code's ``envelope_exponent=5`` is the paper's p = 6).

    * ``"paper"`` is the DimeNet paper's formula: the basis orthonormal on the ball of radius
      ``c`` (the :math:`c^{-3/2}` makes it so in physical units) times the envelope
      :math:`u(d/c)`. It is finite at ``d = 0`` (:math:`u(0) = 1`, :math:`j_0(0) = 1`) and
      zero with two vanishing derivatives at and beyond the cutoff.
    * ``"pyg"`` is PyG's ``SphericalBasisLayer`` and the official DimeNet (TensorFlow) code: no
      :math:`c^{-3/2}`, and the envelope carries a factor :math:`1/x` (the code's ``Envelope``
      returns :math:`1/x + \ldots`, i.e. :math:`u(x)/x`). The l = 0 functions therefore diverge
      like :math:`c/d` at ``d = 0`` (``+inf`` there; the other degrees have their finite
      limits); zero for ``d >= c`` as in PyG.
    * ``"dig"`` is DIG SphereNet's ``angle_emb``: the code's normalisation and no envelope at
      all (DIG comments it out). ``j_l(z_ln) = 0`` makes it vanish at ``d = c``, but its slope
      does not; beyond the cutoff it continues as :math:`j_l` (evaluated exactly).

    The default is ``"paper"``: it is the published, smooth, everywhere-finite basis (finite
    values and gradients at every distance, twice continuously differentiable cutoff). Pass
    ``variant="pyg"`` or ``"dig"`` to get a library's numbers back, column for column.

    Which distance and angle to pass is the caller's (and the library's) choice: DIG SphereNet
    and DimeNet evaluate the radial part on the distance of the edge ``k -> j`` (``dist`` per
    edge and ``idx_kj`` per triplet); the angles of each library are in
    :mod:`equibasis.geometry`.

    Args:
        num_spherical: Number of degrees L (l = 0..L-1), >= 1. DimeNet/SphereNet use 7.
        num_radial: Number of roots R per degree (n = 1..R), >= 1; no upper limit (the peers
            stop at 64).
        cutoff: Cutoff radius ``c`` > 0, in the length unit of ``dist``.
        variant: ``"paper"`` (default), ``"pyg"`` or ``"dig"``; see above.
        envelope_exponent: DimeNet's ``envelope_exponent`` (p - 1) for ``"paper"`` and
            ``"pyg"``, >= 0; default 5.

    Shapes:
        ``forward(dist, angle, idx_kj=None)``:

        * without ``idx_kj``: ``dist`` and ``angle`` of one shape ``(...)``; returns
          ``(..., L * R)``;
        * with ``idx_kj``: ``dist`` of shape ``(E,)`` (per edge), ``angle`` and ``idx_kj`` of
          shape ``(T,)``; the radial part is computed per edge and gathered per triplet
          (``rbf[idx_kj]`` as PyG and DIG do); returns ``(T, L * R)``.

        Columns are l-major, n fastest (column ``l * R + n``), the order of DIG and PyG;
        dtype and device of ``dist`` (float32 or float64). Lengths in the unit of ``cutoff``,
        angles in radians.

    Raises:
        TypeError: On non-integer sizes, non-float inputs or mixed dtypes.
        ValueError: On sizes < 1, ``cutoff <= 0``, an unknown variant, mismatched shapes or a
            negative / non-finite distance.

    Example:
        >>> basis = AngleBasis(num_spherical=7, num_radial=6, cutoff=5.0, variant="pyg")
        >>> dist, angle = torch.tensor([1.0, 2.5]), torch.tensor([0.5, 2.0])
        >>> basis(dist, angle).shape
        torch.Size([2, 42])
        >>> basis(torch.tensor([6.0]), torch.tensor([1.0])).abs().max().item()  # beyond c
        0.0

    References:
        Gasteiger, Groß, Günnemann, "Directional Message Passing for Molecular Graphs",
        ICLR 2020, Sec. 4 (spherical Fourier-Bessel basis and envelope);
        PyG ``torch_geometric.nn.models.dimenet.SphericalBasisLayer``; DIG
        ``dig/threedgraph/method/spherenet/features.py`` (``angle_emb``).
    """

    def __init__(
        self,
        num_spherical: int = 7,
        num_radial: int = 6,
        cutoff: float = 5.0,
        variant: str = "paper",
        envelope_exponent: int = 5,
    ) -> None:
        super().__init__()
        num_spherical, num_radial, cutoff = _check_args(num_spherical, num_radial, cutoff)
        self.variant = check_choice("variant", variant, ANGLE_VARIANTS)
        self.envelope_exponent = check_int("envelope_exponent", envelope_exponent, 0)
        self.num_spherical, self.num_radial, self.cutoff = num_spherical, num_radial, cutoff
        row = ANGLE_VARIANT_TABLE[self.variant]
        self.radial = _SphericalBesselRadial(
            num_spherical, num_radial, cutoff, row.normalization, row.envelope, envelope_exponent
        )

    def forward(
        self, dist: torch.Tensor, angle: torch.Tensor, idx_kj: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Evaluate the basis; see the class docstring for shapes."""
        flat, idx_kj, shape = _check_inputs(dist, idx_kj, angle=angle)
        dtype = _working_dtype(dist)
        flat, angle_flat = flat.to(dtype), angle.reshape(-1).to(dtype)
        out = _composed_angle(self.radial, flat, angle_flat, idx_kj)
        return out.reshape(*shape, self.num_spherical * self.num_radial).to(dist.dtype)

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f"num_spherical={self.num_spherical}, num_radial={self.num_radial}, "
            f"cutoff={self.cutoff}, variant={self.variant!r}"
        )


class ComENetAngleBasis(AngleBasis):
    r"""DIG ComENet's ``AngleEmbedding``: spherical Bessel times zonal harmonic, per edge.

    .. math:: a_{ln}(d, \tau) = \sqrt{\frac{2}{j_{l+1}(z_{ln})^2}}\;
              j_l\!\left(z_{ln}\tfrac{d}{c}\right) Y_l^0(\tau)

    the same functions as ``AngleBasis(variant="dig")`` (no envelope; beyond the cutoff the
    functions continue as :math:`j_l`), evaluated on one distance per input (ComENet passes the
    edge length ``d_ji`` and its folded torsion ``tau``, see
    :func:`equibasis.geometry.comenet_angles`). Columns l-major, n fastest.

    The defaults are those of the ComENet model (``num_spherical=2``, ``num_radial=3``,
    ``cutoff=8.0``); note that DIG's feature class takes ``(num_radial, num_spherical,
    cutoff)`` positionally, while this class keeps the SphereNet order
    ``(num_spherical, num_radial, cutoff)``: pass keywords when porting code.

    Args:
        num_spherical: Number of degrees L, >= 1 (ComENet: 2).
        num_radial: Number of roots R per degree, >= 1 (ComENet: 3).
        cutoff: Cutoff radius ``c`` > 0 (ComENet: 8.0).

    Shapes:
        ``forward(dist, angle)``: both ``(...)``; returns ``(..., L * R)``, dtype and device
        of ``dist``.

    Raises:
        TypeError: On non-integer sizes, non-float inputs or mixed dtypes.
        ValueError: On sizes < 1, ``cutoff <= 0``, mismatched shapes or a negative distance.

    Example:
        >>> ComENetAngleBasis()(torch.tensor([1.2, 3.4]), torch.tensor([0.3, 2.9])).shape
        torch.Size([2, 6])

    References:
        Wang et al., "ComENet: Towards Complete and Efficient Message Passing for 3D Molecular
        Graphs", NeurIPS 2022; DIG ``dig/threedgraph/method/comenet/features.py``
        (``AngleEmbedding``).
    """

    _gathers = False  # one distance per angle

    def __init__(self, num_spherical: int = 2, num_radial: int = 3, cutoff: float = 8.0) -> None:
        # DIG ComENet's angle_emb computes the same functions as SphereNet's: AngleBasis "dig"
        super().__init__(num_spherical, num_radial, cutoff, variant="dig")

    def forward(self, dist: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Evaluate the basis; see the class docstring for shapes (one distance per angle)."""
        return super().forward(dist, angle)
