"""DimeNet's Bessel basis and the spherical Bessel basis j_l(z_ln r / c)."""

import math
from typing import ClassVar

import torch
from torch import Tensor, nn

from equibasis._runtime import values_known
from equibasis._validation import (
    check_choice,
    check_int,
    check_positive,
)
from equibasis.cutoff import DimeNetEnvelope, dimenet_smooth_part
from equibasis.radial._base import RadialBasis, _check_distances
from equibasis.special import spherical_jn, spherical_jn_zeros


class BesselRBF(RadialBasis):
    r"""DimeNet's radial basis: :math:`\sin(n\pi r/c)` times DimeNet's envelope (with its 1/x).

    .. math::
        e_n(r) = u(x)\,\sin(n \pi x), \qquad x = r / c, \ n = 1..N,

    where :math:`u(x) = 1/x + a x^{p-1} + b x^p + c x^{p+1}` is :class:`DimeNetEnvelope`
    (p = ``envelope_exponent`` + 1). This is exactly what PyG ``BesselBasisLayer`` and DIG
    SphereNet ``dist_emb`` compute: the paper's :math:`\sqrt{2/c}\,\sin(n\pi r/c)/r` with the
    prefactor :math:`\sqrt{2/c}` dropped and the :math:`1/r` folded into the envelope as
    :math:`1/x`. The value at ``r = 0`` is the exact limit :math:`n\pi`; derivatives are exact
    there too: :math:`\sin(n\pi x)/x` is evaluated by its Taylor series for
    :math:`n\pi |x| < 0.1`, where the direct quotient's derivatives cancel like :math:`1/x^2`.

    ``zero_beyond_cutoff=True`` gives 0 for ``r >= cutoff`` (PyG); ``False`` lets the envelope's
    polynomial continue (DIG, whose ``dist_emb`` is not zero beyond the cutoff).

    Args:
        num_basis: Number of functions N (>= 1).
        cutoff: Cutoff radius c > 0, length unit of the distances.
        envelope_exponent: DimeNet's ``envelope_exponent`` (>= 0); polynomial order p = it + 1.
        trainable: Make the frequencies :math:`n\pi` an ``nn.Parameter`` ``freq`` (as PyG / DIG do
            by default); otherwise they are fixed.
        zero_beyond_cutoff: Zero beyond the cutoff (PyG) or not (DIG).

    Shape:
        forward(r): distances ``(...)`` -> ``(..., num_basis)``, ordered n = 1..N.

    Raises:
        ValueError: If ``num_basis < 1``, ``cutoff <= 0``, ``envelope_exponent < 0``; (forward)
            NaN/inf or negative distances; with ``zero_beyond_cutoff=False``, distances whose
            envelope polynomial overflows the dtype (the message gives the bound).
        TypeError: If ``r`` is not a floating-point tensor.

    Example:
        >>> BesselRBF(num_basis=3, cutoff=5.0)(torch.tensor([0.0, 1.0]))
        tensor([[3.1416, 6.2832, 9.4248],
                [2.9353, 4.7494, 4.7494]])

    References:
        Gasteiger (Klicpera), Groß, Günnemann, "Directional Message Passing for Molecular
        Graphs", ICLR 2020, Eqs. (7)-(8); PyG ``BesselBasisLayer``; DIG SphereNet ``dist_emb``.
    """

    family: ClassVar[str] = "bessel"
    default_num_basis: ClassVar[int] = 6

    def __init__(
        self,
        num_basis: int = 6,
        cutoff: float = 5.0,
        envelope_exponent: int = 5,
        trainable: bool = False,
        zero_beyond_cutoff: bool = True,
    ) -> None:
        super().__init__()
        self.num_basis = check_int("num_basis", num_basis, 1)
        self.cutoff = check_positive("cutoff", cutoff)
        self.envelope = DimeNetEnvelope(envelope_exponent, zero_beyond_cutoff=zero_beyond_cutoff)
        self._envelope_options = (self.envelope.p, self.envelope.zero_beyond_cutoff)
        self.trainable = bool(trainable)
        freq = torch.arange(1, self.num_basis + 1, dtype=torch.float64) * math.pi
        # |f x| < 0.1 for the initial frequencies: 4 series terms are exact to 3e-18 there
        self._series_bound = 0.1 / float(freq[-1])
        if self.trainable:
            self.freq = nn.Parameter(freq)
        else:
            self.register_buffer("freq", freq)

    def forward(self, r: Tensor) -> Tensor:
        """Expand distances ``r`` (shape ``(...)``) into ``(..., num_basis)``."""
        _check_distances(r)
        x = r / self.cutoff
        # x u(x): finite at 0, zero beyond if asked (a function, not the child's method: e3nn's
        # jit compile replaces children by their traced forward)
        smooth = dimenet_smooth_part(x, *self._envelope_options)
        freq = self.freq.to(r.dtype)
        # sin(f x) / x is even in x. Direct evaluation for |x| >= x0; a series below, where the
        # direct form loses its derivatives to cancellation (and is 0/0 at x = 0).
        x0 = self._series_bound
        ax = x.abs()
        if self._envelope_options[1]:  # zero beyond the cutoff
            # the value is 0 beyond the cutoff (smooth = 0); clamping keeps sin(f x) finite there
            # (f x overflows to inf for r near the dtype's maximum, and sin(inf) * 0 is NaN)
            ax_safe = ax.clamp(min=x0, max=1.0)
        else:
            self._check_envelope_range(x)
            ax_safe = ax.clamp(min=x0)
        out = torch.sin(ax_safe.unsqueeze(-1) * freq) * (smooth / ax_safe).unsqueeze(-1)
        if not values_known(r):
            small = ax < x0
            # no data-dependent shapes while tracing: blend the series in everywhere
            blend = small.to(r.dtype).unsqueeze(-1)
            series = self._series(x.clamp(min=-x0, max=x0), freq) * smooth.unsqueeze(-1)
            out = out + blend * (series - out)
        elif ax.numel() and bool(ax.min() < x0):
            # rare (r < 0.1 c / (N pi)): patch only those rows
            index = (ax < x0).nonzero(as_tuple=True)
            out.index_put_(index, self._series(x[index], freq) * smooth[index].unsqueeze(-1))
        return out

    def _check_envelope_range(self, x: Tensor) -> None:
        """Without the zero beyond the cutoff the envelope is a polynomial of degree p + 2 in x.

        It overflows (inf - inf = NaN) once c x^(p+2) passes the dtype's maximum: such a
        distance (~3e5 cutoffs in float32) has no representable value, so it is refused.
        """
        if not values_known(x) or x.numel() == 0:
            return
        p = self._envelope_options[0]
        # |a| + |b| + |c| of DimeNet's envelope bounds the polynomial's leading terms (x >= 1)
        coeff = (p + 1) * (p + 2) / 2 + p * (p + 2) + p * (p + 1) / 2
        limit = (torch.finfo(x.dtype).max / (4 * coeff)) ** (1.0 / (p + 2))
        largest = float(x.detach().abs().max())
        if largest >= limit:
            raise ValueError(
                f"r / cutoff must be < {limit:.4g} in {x.dtype} for "
                f"BesselRBF(zero_beyond_cutoff=False): its envelope polynomial (degree {p + 2}) "
                f"overflows beyond that; received r / cutoff = {largest:.4g}"
            )

    @staticmethod
    def _series(x: Tensor, freq: Tensor) -> Tensor:
        # sin(f x) / x = f (1 - t/6 (1 - t/20 (1 - t/42 (1 - t/72)))), t = (f x)^2
        t = x.square().unsqueeze(-1) * freq.square()
        return freq * (1.0 - t / 6.0 * (1.0 - t / 20.0 * (1.0 - t / 42.0 * (1.0 - t / 72.0))))

    def extra_repr(self) -> str:
        """Hyperparameters shown by ``repr``."""
        return (
            f"num_basis={self.num_basis}, cutoff={self.cutoff}, "
            f"envelope_exponent={self.envelope.exponent}, trainable={self.trainable}, "
            f"zero_beyond_cutoff={self.envelope.zero_beyond_cutoff}"
        )


def spherical_bessel_normalization(zeros: Tensor, kind: str, cutoff: float) -> Tensor:
    r""":math:`N_{ln}` of :math:`N_{ln} j_l(z_{ln} r / c)`, shape of ``zeros`` ``(L, R)``, float64.

    ``"dimenet"``: :math:`\sqrt{2 / j_{l+1}(z_{ln})^2}` (DimeNet / DIG / PyG code);
    ``"orthonormal"``: that over :math:`c^{3/2}` (DimeNet paper, Eq. (6)), so that
    :math:`\int_0^c e_{ln} e_{ln'} r^2 dr = \delta_{nn'}`. Used by :class:`SphericalBesselRBF`
    and by the radial part of the polar bases.
    """
    j_next = torch.stack([spherical_jn(l + 1, zeros[l]) for l in range(zeros.shape[0])])
    norm = math.sqrt(2.0) / j_next.abs()
    return norm / cutoff**1.5 if kind == "orthonormal" else norm


def spherical_bessel_values(x: Tensor, zeros: Tensor, norm: Tensor) -> Tensor:
    r""":math:`N_{ln} j_l(z_{ln} x)` at scaled distances ``x = r / c`` ``(...)`` -> ``(..., L, R)``.

    Exact (:func:`~equibasis.special.spherical_jn`) at every ``x``, in the dtype of ``x``.
    """
    zeros, norm = zeros.to(x.dtype), norm.to(x.dtype)
    rows = [spherical_jn(l, x.unsqueeze(-1) * zeros[l]) for l in range(zeros.shape[0])]
    return torch.stack(rows, dim=-2) * norm


class SphericalBesselRBF(RadialBasis):
    r"""Spherical Bessel functions at their roots: :math:`N_{ln}\, j_l(z_{ln} r / c)`.

    .. math::
        e_{ln}(r) = N_{ln}\, j_l\!\left(z_{ln} \frac{r}{c}\right), \qquad
        l = 0..L-1,\ n = 1..N,

    with :math:`z_{ln}` the n-th positive root of :math:`j_l`
    (:func:`~equibasis.special.spherical_jn_zeros`), so every function vanishes at ``r = c``.
    Normalisations:

    * ``"orthonormal"`` (DimeNet paper, Eq. (6)):
      :math:`N_{ln} = \sqrt{2 / (c^3 j_{l+1}(z_{ln})^2)}`, so that
      :math:`\int_0^c e_{ln} e_{ln'} r^2 dr = \delta_{nn'}` (unit length^(-3/2)).
    * ``"dimenet"`` (DimeNet / DIG / PyG code): :math:`N_{ln} = \sqrt{2 / j_{l+1}(z_{ln})^2}`
      (their ``1 / sqrt(0.5 j_{l+1}^2)``): the paper's value without :math:`c^{-3/2}`.

    No envelope is applied and the functions are not zeroed beyond ``cutoff`` (as in DIG's
    ``angle_emb``); multiply by an envelope from :mod:`equibasis.cutoff` as needed. Values and
    all derivatives are exact at ``r = 0`` (:func:`~equibasis.special.spherical_jn` is stable
    there, unlike the closed forms DimeNet generates with sympy, which cancel catastrophically
    at small r).

    Args:
        num_spherical: Number of orders L (>= 1), l = 0..L-1.
        num_radial: Number of roots per order N (>= 1).
        cutoff: Cutoff radius c > 0, length unit of the distances.
        normalization: ``"orthonormal"`` or ``"dimenet"``.

    Attributes:
        num_basis: ``num_spherical * num_radial``.
        zeros: float64 buffer ``(num_spherical, num_radial)`` of roots :math:`z_{ln}`.
        norm: float64 buffer ``(num_spherical, num_radial)`` of :math:`N_{ln}`.

    Shape:
        forward(r): distances ``(...)`` -> ``(..., num_spherical, num_radial)``, element
        ``[..., l, n-1]`` holding :math:`e_{ln}`; ``.flatten(-2)`` gives DIG/PyG's l-major order.

    Raises:
        ValueError: If a size is < 1, ``num_spherical > 64`` or ``num_radial > 4096`` (the
            root search's cost, see :func:`~equibasis.special.spherical_jn_zeros`),
            ``cutoff <= 0``, ``normalization`` unknown; (forward) NaN/inf or negative distances.
        TypeError: If ``r`` is not a floating-point tensor.

    Example:
        >>> sbf = SphericalBesselRBF(num_spherical=2, num_radial=2, cutoff=1.0)
        >>> sbf(torch.tensor([0.0, 0.25], dtype=torch.float64))[:, 0]
        tensor([[4.4429, 8.8858],
                [4.0000, 5.6569]], dtype=torch.float64)

    References:
        Gasteiger (Klicpera), Groß, Günnemann, ICLR 2020, Eq. (6) and its code
        (``bessel_basis``); DIG SphereNet ``angle_emb``; PyG ``SphericalBasisLayer``.
    """

    family: ClassVar[str] = "spherical-bessel"
    default_num_basis: ClassVar[int] = 8

    @classmethod
    def from_num_basis(
        cls, num_basis: int, cutoff: float, num_spherical: int | None = None
    ) -> "SphericalBesselRBF":
        """``num_basis`` functions in ``num_spherical`` degrees of ``num_basis // num_spherical``.

        ``num_spherical`` defaults to 2 for an even count (l = 0, 1), else 1.
        """
        if num_spherical is None:
            num_spherical = 2 if num_basis % 2 == 0 else 1
        return cls(num_spherical, max(1, num_basis // num_spherical), cutoff=cutoff)

    def __init__(
        self,
        num_spherical: int,
        num_radial: int,
        cutoff: float = 5.0,
        normalization: str = "orthonormal",
    ) -> None:
        super().__init__()
        self.num_spherical = check_int("num_spherical", num_spherical, 1)
        self.num_radial = check_int("num_radial", num_radial, 1)
        self.num_basis = self.num_spherical * self.num_radial
        self.cutoff = check_positive("cutoff", cutoff)
        self.normalization = check_choice(
            "normalization", normalization, ("orthonormal", "dimenet")
        )
        zeros = spherical_jn_zeros(self.num_spherical, self.num_radial)
        norm = spherical_bessel_normalization(zeros, self.normalization, self.cutoff)
        self.register_buffer("zeros", zeros)
        self.register_buffer("norm", norm)

    def forward(self, r: Tensor) -> Tensor:
        """Evaluate at distances ``r`` (shape ``(...)``) -> ``(..., num_spherical, num_radial)``."""
        _check_distances(r)
        return spherical_bessel_values(r / self.cutoff, self.zeros, self.norm)

    def extra_repr(self) -> str:
        """Hyperparameters shown by ``repr``."""
        return (
            f"num_spherical={self.num_spherical}, num_radial={self.num_radial}, "
            f"cutoff={self.cutoff}, normalization={self.normalization!r}"
        )
