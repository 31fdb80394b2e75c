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

import math
from typing import ClassVar

import torch
from torch import Tensor, nn

from equibasis._runtime import recording_graph, values_known
from equibasis._tracing import DistanceInput
from equibasis._validation import (
    check_choice,
    check_finite,
    check_float_tensor,
    check_int,
    check_positive,
)
from equibasis.cutoff import DimeNetEnvelope, PolynomialCutoff, dimenet_smooth_part
from equibasis.special import spherical_jn, spherical_jn_zeros

__all__ = ["BernsteinRBF", "BesselRBF", "ExpNormalRBF", "GaussianRBF", "SphericalBesselRBF"]


def _check_distances(r: object) -> Tensor:
    r"""Type check, then reject NaN/inf (a cutoff mask would otherwise hide them) and r < 0.

    A distance is a norm: a negative one is a bug upstream (e.g. a signed coordinate passed as
    r), and some bases would return plausible-looking or huge values for it (Bernstein's
    :math:`e^{-\alpha r}` exceeds 1). The polar bases reject negative distances too.
    """
    r = check_finite("r", check_float_tensor("r", r))
    if values_known(r) and r.numel() and bool((r < 0).any()):
        raise ValueError(f"r must be >= 0 (distances), received min {float(r.detach().min()):.6g}")
    return r


# --------------------------------------------------------------------------------------------
# Gaussian
# --------------------------------------------------------------------------------------------

# exp(-s) for s beyond this returns a subnormal or zero; torch's vectorised exp takes a slow path
# there (~100x slower on x86). exp(-_UNDERFLOW[dtype]) is still a normal number.
_UNDERFLOW = {torch.float32: 87.0, torch.float64: 708.0}


class _GaussianFunction(torch.autograd.Function):
    """exp(-(a r - a mu_k)^2) with exp evaluated only where the result is a normal float.

    Forward works in place on one (..., K) buffer; where the result would underflow below the
    smallest normal float (< 1.7e-38 in float32) it is set to 0 (a change smaller than any float32
    rounding of values <= 1). Backward is written with differentiable ops, so double backward
    (forces' second derivatives) works.
    """

    @staticmethod
    def forward(ctx, r: Tensor, scaled_offset: Tensor, scale: float) -> Tensor:
        limit = _UNDERFLOW.get(r.dtype, 87.0)
        with torch.no_grad():
            out = torch.sub(r.unsqueeze(-1) * scale, scaled_offset)  # (..., K): a (r - mu_k)
            out.square_().clamp_(max=limit).neg_().exp_()
            # entries clamped above come out exactly exp(-limit): set them (and only them) to 0
            torch.nn.functional.threshold_(out, math.exp(-limit), 0.0)
        ctx.save_for_backward(r, scaled_offset, out)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        r, scaled_offset, out = ctx.saved_tensors
        a = ctx.scale
        # d/dr exp(-(a r - b_k)^2) = -2 a (a r - b_k) g_k
        # (the difference a r - b_k is formed per entry: summing a r and b_k terms separately
        # would cancel in float32 when r is far from the centres)
        diff = r.unsqueeze(-1) * a - scaled_offset
        grad_r = (-2.0 * a) * (grad_out * out * diff).sum(-1)
        return grad_r, None, None


class GaussianRBF(DistanceInput):
    r"""Gaussian radial basis (SchNet): equally spaced Gaussians of equal width.

    .. math::
        e_k(r) = \exp\!\left(-\frac{(r - \mu_k)^2}{2\sigma^2}\right), \qquad
        \mu_k = \text{start} + k\,\frac{\text{cutoff} - \text{start}}{K - 1},\ k = 0..K-1,

    with :math:`\sigma` = ``width``, by default the spacing :math:`\mu_1 - \mu_0`. Then it equals
    PyG ``GaussianSmearing(start, cutoff, num_basis)`` and DIG SchNet's ``emb`` (there
    :math:`\gamma = 1/(2\sigma^2)` is ``-coeff``). No cutoff is applied: values beyond
    ``cutoff`` are the tails of the Gaussians. With ``num_basis = 1`` the default width is
    ``cutoff - start``.

    Speed: the exponential is evaluated only where the result is a normal float; where it would
    underflow (:math:`(r-\mu_k)^2/2\sigma^2 > 87` in float32, 708 in float64) the value is set
    to 0 directly. That skips the slow subnormal path of ``exp`` and changes no value by more
    than 1.7e-38 (float32) / 3.3e-308 (float64).

    Args:
        num_basis: Number of Gaussians K (>= 1).
        cutoff: Centre of the last Gaussian (> start), length unit (Å by convention).
        start: Centre of the first Gaussian.
        width: Standard deviation :math:`\sigma` (> 0); default the spacing.

    Shape:
        forward(r): distances ``r`` of shape ``(...)`` -> ``(..., num_basis)``, ordered by
        centre.

    Raises:
        ValueError: If ``num_basis < 1``, ``cutoff <= 0``, ``cutoff <= start``, ``width <= 0``;
            (forward) NaN/inf or negative distances.
        TypeError: If ``r`` is not a floating-point tensor.

    Example:
        >>> rbf = GaussianRBF(num_basis=4, cutoff=3.0)
        >>> rbf(torch.tensor([0.0, 1.5]))
        tensor([[1.0000, 0.6065, 0.1353, 0.0111],
                [0.3247, 0.8825, 0.8825, 0.3247]])

    References:
        Schütt et al., "SchNet", NeurIPS 2017, Eq. (5) (:math:`\gamma` = 10 Å⁻², 0.1 Å spacing,
        300 centres over 0-30 Å); PyG ``torch_geometric.nn.models.schnet.GaussianSmearing``;
        SchNetPack ``schnetpack.nn.GaussianRBF``.
    """

    _PRESETS: ClassVar[dict[str, dict]] = {
        # SchNet paper: centres every 0.1 Å from 0 to 30 Å, gamma = 10 Å^-2 -> sigma^2 = 1/20
        "schnet": {"num_basis": 300, "cutoff": 29.9, "start": 0.0, "width": math.sqrt(0.05)},
        # DIG SchNet default: GaussianSmearing(0.0, cutoff=10.0, num_gaussians=50)
        "dig": {"num_basis": 50, "cutoff": 10.0, "start": 0.0, "width": None},
        # SchNetPack 2 configs: GaussianRBF(n_rbf=20, cutoff=5.0), width = spacing
        "schnetpack": {"num_basis": 20, "cutoff": 5.0, "start": 0.0, "width": None},
    }

    def __init__(
        self,
        num_basis: int = 50,
        cutoff: float = 5.0,
        start: float = 0.0,
        width: float | None = None,
    ) -> None:
        super().__init__()
        self.num_basis = check_int("num_basis", num_basis, 1)
        self.cutoff = check_positive("cutoff", cutoff)
        self.start = float(start)
        if not self.start < self.cutoff:
            raise ValueError(f"start must be < cutoff, received start={start}, cutoff={cutoff}")
        offset = torch.linspace(self.start, self.cutoff, self.num_basis, dtype=torch.float64)
        if width is None:
            width = (
                (self.cutoff - self.start) / (self.num_basis - 1)
                if self.num_basis > 1
                else self.cutoff - self.start
            )
        self.width = check_positive("width", width)
        self.register_buffer("offset", offset)

    @classmethod
    def preset(cls, name: str) -> "GaussianRBF":
        r"""A Gaussian basis with a published configuration.

        * ``"schnet"``: the SchNet paper (NeurIPS 2017 / JCP 2018): 300 centres every 0.1 Å
          from 0 to 29.9 Å, :math:`\gamma = 10` Å⁻² (:math:`\sigma = 1/\sqrt{20}` Å).
        * ``"dig"``: DIG SchNet's default: 50 centres over 0-10 Å, :math:`\sigma` = spacing.
        * ``"schnetpack"``: SchNetPack 2's configs: 20 centres over 0-5 Å, :math:`\sigma` =
          spacing.

        Raises:
            ValueError: If ``name`` is not one of the presets.
        """
        check_choice("name", name, cls._PRESETS)
        return cls(**cls._PRESETS[name])

    def forward(self, r: Tensor) -> Tensor:
        """Expand distances ``r`` (shape ``(...)``) into ``(..., num_basis)`` Gaussians."""
        _check_distances(r)
        scale = math.sqrt(0.5) / self.width
        scaled_offset = (self.offset * scale).to(r.dtype)
        if recording_graph():  # plain operations (the same values up to the underflow cut)
            return torch.exp(-(r.unsqueeze(-1) * scale - scaled_offset).square())
        return _GaussianFunction.apply(r, scaled_offset, scale)

    def extra_repr(self) -> str:
        """Hyperparameters shown by ``repr``."""
        return (
            f"num_basis={self.num_basis}, cutoff={self.cutoff}, start={self.start}, "
            f"width={self.width:.6g}"
        )


# --------------------------------------------------------------------------------------------
# DimeNet Bessel
# --------------------------------------------------------------------------------------------


class BesselRBF(DistanceInput):
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


# --------------------------------------------------------------------------------------------
# spherical Bessel (DimeNet / SphereNet radial part of the angle basis)
# --------------------------------------------------------------------------------------------


class SphericalBesselRBF(DistanceInput):
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
        j_next = torch.stack(
            [spherical_jn(deg + 1, zeros[deg]) for deg in range(self.num_spherical)]
        )
        norm = torch.sqrt(2.0 / j_next.square())
        if self.normalization == "orthonormal":
            norm = norm / self.cutoff**1.5
        self.register_buffer("zeros", zeros)
        self.register_buffer("norm", norm)

    def forward(self, r: Tensor) -> Tensor:
        """Evaluate at distances ``r`` (shape ``(...)``) -> ``(..., num_spherical, num_radial)``."""
        _check_distances(r)
        freq = (self.zeros / self.cutoff).to(r.dtype)
        x = r.unsqueeze(-1)
        out = torch.stack(
            [spherical_jn(deg, x * freq[deg]) for deg in range(self.num_spherical)],
            dim=-2,
        )
        return out * self.norm.to(r.dtype)

    def extra_repr(self) -> str:
        """Hyperparameters shown by ``repr``."""
        return (
            f"num_spherical={self.num_spherical}, num_radial={self.num_radial}, "
            f"cutoff={self.cutoff}, normalization={self.normalization!r}"
        )


# --------------------------------------------------------------------------------------------
# PhysNet exponential-normal
# --------------------------------------------------------------------------------------------


class ExpNormalRBF(DistanceInput):
    r"""PhysNet's exponential-normal basis: Gaussians in :math:`e^{-\alpha r}`, times a cutoff.

    .. math::
        e_k(r) = \phi(r)\, \exp\!\left(-\beta \left(e^{-\alpha r} - \mu_k\right)^2\right),

        \mu_k = \text{linspace}(e^{-\alpha c}, 1, K), \qquad
        \beta = \left(\tfrac{2}{K}\,(1 - e^{-\alpha c})\right)^{-2},

    where :math:`\phi(r) = 1 - 10x^3 + 15x^4 - 6x^5` (x = r/c, 0 beyond c) is PhysNet's cutoff
    (:class:`~equibasis.cutoff.PolynomialCutoff` with p = 3). PhysNet uses :math:`\alpha = 1`
    Å⁻¹, K = 64, c = 10 Å. (TorchMD-Net's ``ExpNormalSmearing`` uses :math:`\alpha = 5/c`,
    a cosine cutoff, and centres starting at :math:`e^{-c}` rather than :math:`e^{-\alpha c}`.)

    Args:
        num_basis: Number of functions K (>= 1).
        cutoff: Cutoff radius c > 0, length unit of the distances.
        alpha: Decay rate :math:`\alpha` > 0, inverse length unit.

    Shape:
        forward(r): distances ``(...)`` -> ``(..., num_basis)``, ordered by centre (large r first
        is k = 0, since :math:`\mu_0 = e^{-\alpha c}`).

    Raises:
        ValueError: If ``num_basis < 1``, ``cutoff <= 0``, ``alpha <= 0``; (forward) NaN/inf
            or negative distances.
        TypeError: If ``r`` is not a floating-point tensor.

    Example:
        >>> ExpNormalRBF(num_basis=3, cutoff=5.0)(torch.tensor([0.0, 1.0, 5.0]))
        tensor([[0.1054, 0.5698, 1.0000],
                [0.6997, 0.9035, 0.3787],
                [0.0000, 0.0000, 0.0000]])

    References:
        Unke & Meuwly, "PhysNet", J. Chem. Theory Comput. 15, 3678 (2019), Eqs. (7)-(8);
        TorchMD-Net ``ExpNormalSmearing``.
    """

    def __init__(self, num_basis: int = 64, cutoff: float = 10.0, alpha: float = 1.0) -> None:
        super().__init__()
        self.num_basis = check_int("num_basis", num_basis, 1)
        self.cutoff = check_positive("cutoff", cutoff)
        self.alpha = check_positive("alpha", alpha)
        low = math.exp(-self.alpha * self.cutoff)
        self.beta = (2.0 / self.num_basis * (1.0 - low)) ** -2
        self.register_buffer(
            "offset", torch.linspace(low, 1.0, self.num_basis, dtype=torch.float64)
        )
        self.cutoff_fn = PolynomialCutoff(self.cutoff, p=3)

    def forward(self, r: Tensor) -> Tensor:
        """Expand distances ``r`` (shape ``(...)``) into ``(..., num_basis)``."""
        _check_distances(r)
        u = torch.exp(-self.alpha * r).unsqueeze(-1)
        g = torch.exp(-self.beta * (u - self.offset.to(r.dtype)).square())
        return g * self.cutoff_fn(r).unsqueeze(-1)

    def extra_repr(self) -> str:
        """Hyperparameters shown by ``repr``."""
        return f"num_basis={self.num_basis}, cutoff={self.cutoff}, alpha={self.alpha}"


# --------------------------------------------------------------------------------------------
# SpookyNet exponential Bernstein
# --------------------------------------------------------------------------------------------


# BernsteinRBF at r = 0: derivatives exact up to this order (terms k above it vanish there)
_ZERO_ORDER = 8


class BernsteinRBF(DistanceInput):
    r"""SpookyNet's exponential Bernstein basis, times SpookyNet's smooth cutoff.

    .. math::
        e_k(r) = f(r)\, \binom{K-1}{k}\, x^{K-1-k} (1 - x)^{k}, \qquad x = e^{-\alpha r},
        \ k = 0..K-1,

        f(r) = \exp\!\left(-\frac{r^2}{(c - r)(c + r)}\right) \ (r < c), \qquad 0 \ (r \ge c).

    All three factors are combined in log space,
    :math:`\exp(\log\binom{K-1}{k} - (K-1-k)\alpha r + k \log(1 - x))` (with :math:`1 - x`
    from ``expm1``, accurate at small r), so no factor overflows on its own: a binomial weight
    above the dtype's maximum (from K of about 130 in float32, 1,030 in float64) times a power
    that underflows would be ``inf * 0 = NaN``. At ``r = 0`` exactly (:math:`\log 0`) the
    polynomial form :math:`\binom{K-1}{k} x^{K-1-k} (1-x)^k` is used, its weight clamped where
    it would overflow, and the terms k > 8 (which vanish there with their first k - 1
    derivatives) set to 0: exact limits (:math:`e_0 = 1`, others 0) and derivatives exact to
    8th order there.
    SpookyNet's own log-space form gives NaN at r = 0. The basis sums to :math:`f(r)`
    (partition of unity). The log binomials come from ``math.comb`` (exact) up to K = 1,001 and
    from ``lgamma`` beyond (relative error ~1e-16 K log K), so construction stays fast.

    Args:
        num_basis: Number of functions K (>= 1).
        cutoff: Cutoff radius c > 0, length unit of the distances.
        alpha: Decay rate :math:`\alpha` > 0 (SpookyNet's initial value 0.5, trainable there).

    Shape:
        forward(r): distances ``(...)`` -> ``(..., num_basis)``, ordered k = 0..K-1 (k = 0 peaks
        at r = 0).

    Raises:
        ValueError: If ``num_basis < 1``, ``cutoff <= 0``, ``alpha <= 0``; (forward) NaN/inf
            or negative distances.
        TypeError: If ``r`` is not a floating-point tensor.

    Example:
        >>> BernsteinRBF(num_basis=3, cutoff=5.0)(torch.tensor([0.0, 1.0]))
        tensor([[1.0000, 0.0000, 0.0000],
                [0.3529, 0.4578, 0.1485]])

    References:
        Unke et al., "SpookyNet", Nat. Commun. 12, 7273 (2021), Eqs. (6)-(7); SpookyNet
        ``ExponentialBernsteinRadialBasisFunctions`` and ``cutoff_function``.
    """

    def __init__(self, num_basis: int = 16, cutoff: float = 5.0, alpha: float = 0.5) -> None:
        super().__init__()
        self.num_basis = check_int("num_basis", num_basis, 1)
        self.cutoff = check_positive("cutoff", cutoff)
        self.alpha = check_positive("alpha", alpha)
        n = self.num_basis - 1
        if n <= 1000:
            log_binom = [math.log(math.comb(n, k)) for k in range(self.num_basis)]  # exact
        else:  # math.comb of huge integers is slow (14 s for K = 10^4); lgamma is instant
            log_binom = [
                math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                for k in range(self.num_basis)
            ]
            log_binom[0] = log_binom[-1] = 0.0  # exact at the ends
        self.register_buffer("log_binom", torch.tensor(log_binom, dtype=torch.float64))
        power = torch.arange(n, -1, -1, dtype=torch.float64)  # exponent of x = exp(-alpha r)
        self.register_buffer("power", power)
        self.register_buffer("k", torch.arange(self.num_basis, dtype=torch.float64))

    def forward(self, r: Tensor) -> Tensor:
        """Expand distances ``r`` (shape ``(...)``) into ``(..., num_basis)``."""
        _check_distances(r)
        one_minus_x = -torch.expm1(-self.alpha * r)  # (...,)
        k = self.k.to(r.dtype)
        log_binom = self.log_binom.to(r.dtype)
        log_x_part = log_binom - (self.alpha * self.power).to(r.dtype) * r.unsqueeze(-1)
        positive = one_minus_x > 0
        u = torch.where(positive, one_minus_x, 1.0).unsqueeze(-1)  # double where: log(0)
        values = torch.exp(log_x_part + k * torch.log(u))  # (..., K)
        # r = 0: the polynomial form with (1 - x)^k by repeated multiplication (pow's second
        # derivative is NaN at 0), exact with its derivatives to order _ZERO_ORDER there:
        # the terms k > _ZERO_ORDER vanish at r = 0 with their first k - 1 derivatives.
        # Weights are clamped so that exp stays finite where this branch is not used.
        m = min(self.num_basis, _ZERO_ORDER + 1)
        powers = [torch.ones_like(one_minus_x)]
        for _ in range(1, m):
            powers.append(powers[-1] * one_minus_x)
        bound = 0.5 * math.log(torch.finfo(r.dtype).max)
        at_zero = torch.exp(log_x_part[..., :m].clamp(max=bound)) * torch.stack(powers, dim=-1)
        if m < self.num_basis:
            at_zero = torch.cat([at_zero, at_zero.new_zeros((*r.shape, self.num_basis - m))], -1)
        values = torch.where(positive.unsqueeze(-1), values, at_zero)
        c = self.cutoff
        inside = r < c
        r_in = torch.where(inside, r, 0.0)
        cut = torch.where(inside, torch.exp(-r_in * r_in / ((c - r_in) * (c + r_in))), 0.0)
        return values * cut.unsqueeze(-1)

    def extra_repr(self) -> str:
        """Hyperparameters shown by ``repr``."""
        return f"num_basis={self.num_basis}, cutoff={self.cutoff}, alpha={self.alpha}"
