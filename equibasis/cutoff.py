r"""Cutoff functions and envelopes: smooth factors that take radial features to zero at the cutoff.

* :class:`CosineCutoff`: :math:`\tfrac12(\cos(\pi r/c) + 1)` (Behler; SchNetPack, TorchMD-Net).
* :class:`PolynomialCutoff`: the NequIP / MACE polynomial of degree p + 2 (PhysNet's is p = 3).
* :class:`DimeNetEnvelope`: DimeNet's :math:`u_p(x)`, which includes a :math:`1/x` factor.

:class:`CosineCutoff` and :class:`PolynomialCutoff` take distances ``r``;
:class:`DimeNetEnvelope`, like PyG's and DIG's ``Envelope``, takes the scaled distance
``x = r / cutoff``.

NaN handling: a cutoff written as ``where(r < c, f(r), 0)`` would turn a NaN distance into a
plausible 0. Every forward here therefore raises ``ValueError`` on NaN or infinite input
(``check_finite``, one reduction; skipped while ``torch.compile`` traces).
"""

import math

import torch
from torch import Tensor

from equibasis._runtime import recording_graph
from equibasis._tracing import Deployable, DistanceInput
from equibasis._validation import check_finite, check_float_tensor, check_int, check_positive

__all__ = ["CosineCutoff", "DimeNetEnvelope", "PolynomialCutoff"]


def _int_pow(x: Tensor, n: int) -> Tensor:
    """``x**n`` for an int ``n >= 0`` by repeated squaring (exact derivatives at x = 0)."""
    result = None
    base = x
    while n:
        if n & 1:
            result = base if result is None else result * base
        n >>= 1
        if n:
            base = base * base
    return torch.ones_like(x) if result is None else result


def _check_input(name: str, value: Tensor) -> Tensor:
    check_float_tensor(name, value)
    return check_finite(name, value)


class CosineCutoff(DistanceInput):
    r"""Cosine cutoff :math:`f(r) = \tfrac12\left(\cos(\pi r / c) + 1\right)` for r < c, else 0.

    .. math::
        f(r) = \begin{cases} \tfrac12\left(\cos\frac{\pi r}{c} + 1\right) & r < c \\
        0 & r \ge c \end{cases}

    :math:`f(0) = 1`, :math:`f(c) = 0` with :math:`f'(c) = 0` (continuous first derivative; the
    second derivative jumps at ``c``).

    Args:
        cutoff: Cutoff radius c > 0 (length unit of the distances, Å by convention).

    Shape:
        forward(r): ``r`` of shape ``(...)``, distances; returns shape ``(...)``, dtype and device
        of ``r``.

    Raises:
        ValueError: If ``cutoff <= 0``, or (forward) ``r`` contains NaN/inf.
        TypeError: If ``r`` is not a floating-point tensor.

    Example:
        >>> CosineCutoff(5.0)(torch.tensor([0.0, 2.5, 5.0, 6.0]))
        tensor([1.0000, 0.5000, 0.0000, 0.0000])

    References:
        J. Behler, J. Chem. Phys. 134, 074106 (2011), Eq. (4); SchNetPack ``CosineCutoff``;
        TorchMD-Net ``CosineCutoff`` (with ``cutoff_lower = 0``).
    """

    def __init__(self, cutoff: float = 5.0) -> None:
        super().__init__()
        self.cutoff = check_positive("cutoff", cutoff)

    def forward(self, r: Tensor) -> Tensor:
        """Evaluate the cutoff at distances ``r`` (shape ``(...)``)."""
        _check_input("r", r)
        inside = r < self.cutoff
        r_safe = torch.where(inside, r, 0.0)
        value = 0.5 * (torch.cos(r_safe * (math.pi / self.cutoff)) + 1.0)
        return torch.where(inside, value, 0.0)

    def extra_repr(self) -> str:
        """Hyperparameters shown by ``repr``."""
        return f"cutoff={self.cutoff}"


class PolynomialCutoff(DistanceInput):
    r"""Polynomial cutoff of NequIP / MACE (Klicpera et al.'s envelope without the 1/x).

    .. math::
        f(x) = 1 - \frac{(p+1)(p+2)}{2} x^p + p(p+2) x^{p+1} - \frac{p(p+1)}{2} x^{p+2},
        \qquad x = r / c,

    for :math:`x < 1`, and 0 beyond. :math:`f(0) = 1`; at :math:`x = 1` the value and the first
    two derivatives vanish (the cutoff is :math:`C^2`). p = 6 is NequIP's default
    (``PolynomialCutoff(r_max, p=6)``); MACE uses p = 5; p = 3 gives PhysNet's cutoff
    :math:`1 - 10x^3 + 15x^4 - 6x^5`.

    Args:
        cutoff: Cutoff radius c > 0 (length unit of the distances).
        p: Polynomial order, an int >= 1.

    Shape:
        forward(r): distances ``r`` of shape ``(...)``; returns shape ``(...)``.

    Raises:
        ValueError: If ``cutoff <= 0``, ``p < 1``, or (forward) NaN/inf distances.
        TypeError: If ``p`` is not an int or ``r`` is not a floating-point tensor.

    Example:
        >>> PolynomialCutoff(5.0, p=6)(torch.tensor([0.0, 2.5, 5.0, 6.0]))
        tensor([1.0000, 0.8555, 0.0000, 0.0000])

    References:
        Gasteiger (Klicpera), Groß, Günnemann, ICLR 2020, Eq. (8); Batzner et al. (NequIP),
        Nat. Commun. 13, 2453 (2022), Eq. (8); nequip ``PolynomialCutoff``; mace
        ``PolynomialCutoff``.
    """

    def __init__(self, cutoff: float = 5.0, p: int = 6) -> None:
        super().__init__()
        self.cutoff = check_positive("cutoff", cutoff)
        self.p = check_int("p", p, 1)

    def forward(self, r: Tensor) -> Tensor:
        """Evaluate the cutoff at distances ``r`` (shape ``(...)``)."""
        _check_input("r", r)
        p = self.p
        a, b, c = -(p + 1) * (p + 2) / 2.0, float(p * (p + 2)), p * (p + 1) / 2.0
        # x is clamped to 1, where the polynomial and its derivative are exactly 0 in floating
        # point too (integer coefficients, 1 + a + b - c = 0 and p (a + b - c) + b - 2c = 0):
        # no mask, and the clamp zeroes the gradient beyond the cutoff
        x = torch.div(r, self.cutoff).clamp_(max=1.0)
        x_p = _int_pow(x, p)
        if (torch.is_grad_enabled() and r.requires_grad) or recording_graph():
            return 1.0 + x_p * (a + x * (b - x * c))
        # no graph: the same operations in the same order, in place on one buffer
        return torch.mul(x, -c).add_(b).mul_(x).add_(a).mul_(x_p).add_(1.0)

    def extra_repr(self) -> str:
        """Hyperparameters shown by ``repr``."""
        return f"cutoff={self.cutoff}, p={self.p}"


class DimeNetEnvelope(Deployable):
    r"""DimeNet's envelope :math:`u_p(x)` on the scaled distance :math:`x = d / c`, with its 1/x.

    .. math::
        u(x) = \frac{1}{x} + a x^{p-1} + b x^{p} + c x^{p+1}, \qquad p = \text{exponent} + 1,

        a = -\frac{(p+1)(p+2)}{2}, \quad b = p(p+2), \quad c = -\frac{p(p+1)}{2}.

    :math:`x\,u(x)` is :class:`PolynomialCutoff` with order p; :math:`u(1) = 0` with vanishing
    first and second derivatives. :math:`u` has a pole at ``x = 0`` (``inf`` there, as in PyG and
    DIG); multiply it by something that vanishes at 0, or use :meth:`smooth_part`
    (:math:`x\,u(x)`, finite everywhere) as :class:`~equibasis.radial.BesselRBF` does.

    ``exponent=5`` (p = 6) is DimeNet's, DimeNet++'s, PyG's and DIG's default.
    With ``zero_beyond_cutoff=True`` the envelope is 0 for ``x >= 1`` (PyG ``Envelope``); with
    ``False`` the polynomial continues past the cutoff (DIG SphereNet ``Envelope``, whose values
    beyond the cutoff are nonzero).

    Args:
        exponent: DimeNet's ``envelope_exponent`` (int >= 0); polynomial order p = exponent + 1.
        zero_beyond_cutoff: Zero the envelope for ``x >= 1`` (PyG) or not (DIG).

    Shape:
        forward(x): scaled distances ``x = d / cutoff`` of shape ``(...)``; returns shape ``(...)``.

    Raises:
        ValueError: If ``exponent < 0`` or (forward) ``x`` contains NaN/inf.
        TypeError: If ``exponent`` is not an int or ``x`` is not a floating-point tensor.

    Example:
        >>> DimeNetEnvelope(exponent=5)(torch.tensor([0.5, 1.0, 1.5]))
        tensor([1.7109, 0.0000, 0.0000])

    References:
        Gasteiger (Klicpera), Groß, Günnemann, "Directional Message Passing for Molecular
        Graphs", ICLR 2020, Eq. (8); PyG ``torch_geometric.nn.models.dimenet.Envelope``; DIG
        ``dig.threedgraph.method.spherenet.features.Envelope``.
    """

    def __init__(self, exponent: int = 5, zero_beyond_cutoff: bool = True) -> None:
        super().__init__()
        self.exponent = check_int("exponent", exponent, 0)
        self.p = self.exponent + 1
        self.zero_beyond_cutoff = bool(zero_beyond_cutoff)

    def smooth_part(self, x: Tensor) -> Tensor:
        r""":math:`x\,u(x) = 1 + a x^p + b x^{p+1} + c x^{p+2}` (finite at 0, where it is 1).

        Zeroed for ``x >= 1`` when ``zero_beyond_cutoff``; shape and dtype of ``x``.
        """
        _check_input("x", x)
        return dimenet_smooth_part(x, self.p, self.zero_beyond_cutoff)

    def example_inputs(self, seed: int = 0) -> tuple[Tensor, ...]:
        """Scaled distances in ``[0.05, 1.2)`` (the pole at 0 left out)."""
        return (self._uniform(self._generator(seed), 40 + 13 * seed, 0.05, 1.2),)

    def forward(self, x: Tensor) -> Tensor:
        """Evaluate :math:`u(x)` at scaled distances ``x`` (shape ``(...)``); ``inf`` at 0."""
        _check_input("x", x)
        if not self.zero_beyond_cutoff:
            return 1.0 / x + _dimenet_tail(x, self.p)
        inside = x < 1.0
        x_in = torch.where(inside, x, 0.5)
        return torch.where(inside, 1.0 / x_in + _dimenet_tail(x_in, self.p), 0.0)

    def extra_repr(self) -> str:
        """Hyperparameters shown by ``repr``."""
        return f"exponent={self.exponent}, p={self.p}, zero_beyond_cutoff={self.zero_beyond_cutoff}"


def _dimenet_tail(x: Tensor, p: int) -> Tensor:
    """``u(x) - 1/x = a x^(p-1) + b x^p + c x^(p+1)`` of :class:`DimeNetEnvelope` (Horner)."""
    a, b, c = -(p + 1) * (p + 2) / 2.0, float(p * (p + 2)), -p * (p + 1) / 2.0
    return _int_pow(x, p - 1) * (a + x * (b + x * c))


def dimenet_smooth_part(x: Tensor, p: int, zero_beyond_cutoff: bool) -> Tensor:
    r""":math:`x\,u_p(x)` of :class:`DimeNetEnvelope`, unchecked (for the bases built on it)."""
    if zero_beyond_cutoff:
        # x u(x) is exactly 0 at x = 1 (1 + a + b + c = 0 in floating point), so clamping
        # gives the zero beyond the cutoff and a zero gradient there, without a masked select
        x = x.clamp(max=1.0)
    return 1.0 + x * _dimenet_tail(x, p)
