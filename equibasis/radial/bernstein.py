"""SpookyNet's exponential Bernstein basis."""

import math
from typing import ClassVar

import torch
from torch import Tensor

from equibasis._validation import (
    check_int,
    check_positive,
)
from equibasis.radial._base import RadialBasis, _check_distances

# BernsteinRBF at r = 0: derivatives exact up to this order (terms k above it vanish there)
_ZERO_ORDER = 8


class BernsteinRBF(RadialBasis):
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

    family: ClassVar[str] = "bernstein"
    default_num_basis: ClassVar[int] = 16

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
