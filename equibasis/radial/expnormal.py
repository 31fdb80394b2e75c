"""PhysNet's exponential-normal basis."""

import math
from typing import ClassVar

import torch
from torch import Tensor

from equibasis._validation import (
    check_int,
    check_positive,
)
from equibasis.cutoff import PolynomialCutoff
from equibasis.radial._base import RadialBasis, _check_distances


class ExpNormalRBF(RadialBasis):
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

    family: ClassVar[str] = "expnormal"
    default_num_basis: ClassVar[int] = 32

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
