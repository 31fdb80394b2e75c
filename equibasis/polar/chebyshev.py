"""Chebyshev series on [-1, 1]: the fit at construction and the registered torch operator.

``equibasis::chebyshev_series`` evaluates F series at once (one recurrence, one matrix
product), with a fake implementation for trace / compile / export and an autograd formula that
is the same operator on the derivative coefficients, so it is differentiable to any order.
"""

import math
from collections.abc import Callable

import numpy as np
import torch

# The Chebyshev series is cut where all later coefficients are below this (relative to the
# largest); the float64 node values carry ~1e-14 of noise, so the dropped tail is noise.
_CHEBYSHEV_TOLERANCE = 1e-13
_FLOAT32_TOLERANCE = 3e-8


def _chebyshev_fit(
    values_at: Callable[[torch.Tensor], torch.Tensor], bandwidth: float
) -> torch.Tensor:
    """Chebyshev coefficients (K, F) on x in [0, 1] of F functions, ``values_at(x) -> (F, M)``.

    ``bandwidth`` bounds the largest frequency (in x) of the functions; the number of nodes
    covers it with room for the super-exponential decay of the coefficients.
    """
    half = bandwidth / 2.0  # frequency in u = 2x - 1
    nodes = math.ceil(half + 8.0 * (half + 1.0) ** (1.0 / 3.0) + 30.0)

    def on_u(u: np.ndarray) -> np.ndarray:  # (M,) -> (M, F): numpy fits every column at once
        return values_at(torch.from_numpy((u + 1.0) / 2.0)).T.numpy()

    # interpolation at the first-kind Chebyshev points (exact node values, float64)
    fitted = np.polynomial.chebyshev.chebinterpolate(on_u, nodes - 1)
    coefficients = torch.from_numpy(np.ascontiguousarray(fitted))  # (K, F)
    return _cut_series(coefficients, _CHEBYSHEV_TOLERANCE)


def _cut_series(coefficients: torch.Tensor, tolerance: float) -> torch.Tensor:
    """Chebyshev coefficients ``(K, F)`` without the terms below ``tolerance`` x the largest.

    Each column keeps the terms up to its last one at or above that bound and its tail is set
    to zero (the CPU kernel skips it: the low-order functions need fewer terms, 21 on average
    of 28 for float32 at (7, 6)); the rows stop at the longest column (at least 2).
    """
    magnitude = coefficients.abs()
    above = magnitude >= tolerance * magnitude.max()
    order = torch.arange(1, coefficients.shape[0] + 1, dtype=torch.long)
    length = (above * order[:, None]).amax(dim=0)  # per column: one past its last kept term
    rows = max(int(length.max()), 2)
    kept = order[:rows, None] <= length[None, :]
    return torch.where(kept, coefficients[:rows], 0.0).contiguous()


def _chebyshev_rows(u: torch.Tensor, count: int, extra: int = 0) -> torch.Tensor:
    """``T_0(u) .. T_{count-1}(u)`` as rows of a ``(count + extra, E)`` tensor.

    Three-term recurrence; the ``extra`` rows are left for the caller to fill.
    """
    rows = u.new_empty((count + extra, u.shape[0]))
    rows[0] = 1.0
    if count > 1:
        rows[1] = u
    twice = 2.0 * u
    for k in range(2, count):
        torch.mul(twice, rows[k - 1], out=rows[k])
        rows[k] -= rows[k - 2]
    return rows


def _derivative_coefficients(coefficients: torch.Tensor) -> torch.Tensor:
    """Coefficients ``(max(K-1, 1), F)`` of ``d/du sum_k c_k T_k(u)`` (``c_0`` not halved).

    numpy's ``chebder`` in torch (the tests compare the two): it runs inside the operator's
    backward, on the tensors autograd, compile or export hand it (fake ones included).
    """
    count = coefficients.shape[0]
    if count == 1:
        return torch.zeros_like(coefficients)
    d = coefficients.new_zeros(count + 1, coefficients.shape[1])
    for k in range(count - 1, 0, -1):
        d[k - 1] = d[k + 1] + (2 * k) * coefficients[k]
    d[0] = d[0] / 2.0
    return d[: count - 1]


@torch.library.custom_op("equibasis::chebyshev_series", mutates_args=())
def chebyshev_series(u: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    """``sum_k c_k T_k(u)`` for F series at once: ``(E,), (K, F) -> (E, F)``; a torch operator.

    The recurrence written row by row into one buffer, then one matrix product. Registered as
    an operator (with a fake implementation and its derivative) so that trace, compile and
    export see one opaque, correct node: written as plain operations, inductor inlined the
    three-term recurrence into itself and took minutes to compile 38 terms. The derivative of
    a Chebyshev series is another one, so the backward pass is this same operator with the
    derivative coefficients: differentiable to any order.
    """
    return torch.mm(_chebyshev_rows(u, coefficients.shape[0]).T, coefficients)


@chebyshev_series.register_fake
def _(u: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    return u.new_empty((u.shape[0], coefficients.shape[1]))


def _chebyshev_series_setup(ctx, inputs, output) -> None:
    ctx.save_for_backward(*inputs)


def _chebyshev_series_backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, None]:
    u, coefficients = ctx.saved_tensors
    if not ctx.needs_input_grad[0]:
        return None, None
    slope = chebyshev_series(u, _derivative_coefficients(coefficients.detach()))
    return (grad * slope).sum(dim=-1), None


chebyshev_series.register_autograd(
    _chebyshev_series_backward, setup_context=_chebyshev_series_setup
)
