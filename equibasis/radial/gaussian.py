"""SchNet's Gaussian basis."""

import math
from typing import ClassVar

import torch
from torch import Tensor

from equibasis._runtime import recording_graph
from equibasis._validation import (
    check_choice,
    check_int,
    check_positive,
)
from equibasis.radial._base import RadialBasis, _check_distances

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


class GaussianRBF(RadialBasis):
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

    family: ClassVar[str] = "gaussian"
    default_num_basis: ClassVar[int] = 50

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
