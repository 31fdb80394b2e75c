"""e3nn's closed-form polynomials of degrees 0-3, written column by column into one output."""

import math
from collections.abc import Sequence

import torch

from equibasis._runtime import recording_graph
from equibasis.harmonics.recurrence import _INV_SQRT_4PI, _NORMALIZE_EPS, _degree_scale

# beat the recurrence 2-7x (1e5 vectors, CPU): a handful of large kernels instead of many.
_CLOSED_FORM_LMAX = 3
_SQRT3, _SQRT5, _SQRT7, _SQRT15 = math.sqrt(3.0), math.sqrt(5.0), math.sqrt(7.0), math.sqrt(15.0)
_SQRT42_6, _SQRT168_8 = math.sqrt(42.0) / 6.0, math.sqrt(168.0) / 8.0


def _closed_form_e3nn(
    ls: Sequence[int], v: torch.Tensor, normalize: bool, normalization: str
) -> torch.Tensor:
    """e3nn-layout harmonics for degrees <= 3 from e3nn's closed forms (polar axis y).

    The polynomials are homogeneous of degree l, so ``normalize=False`` gives ``|v|^l Y(v/|v|)``
    as the recurrence does. With ``normalize=True`` the vector is divided by ``max(|v|, eps)``
    with the zero vector's gradient defined as 0 (double ``where``), as in :func:`_evaluate_rows`.
    Without a graph to record, every column is written in place into the output (``out=``):
    one pass per column and no output-sized temporaries. With autograd, or while a graph is
    recorded, the same columns (same operations, bitwise equal) are stacked.
    """
    in_place = not (torch.is_grad_enabled() and v.requires_grad) and not recording_graph()
    dim = sum(2 * l + 1 for l in ls)
    out = v.new_empty((*v.shape[:-1], dim)) if in_place else None
    columns: list[torch.Tensor] = []
    x, y, z = v.unbind(-1)
    if normalize:
        # 1 / max(|v|, eps), and 0 for the zero vector; rsqrt of the clamped r2 is finite, so
        # the unselected branch cannot put a NaN into the gradient. The components come out
        # contiguous: the column kernels below then read unit-stride inputs.
        r2 = torch.mul(x, x).addcmul_(y, y).addcmul_(z, z)
        if in_place:  # no gradient to guard: the zero vector gives 0 * 1e12 = 0 anyway
            inv = r2.clamp_min_(_NORMALIZE_EPS**2).rsqrt_()
        else:
            inv = torch.where(r2 > 0, torch.rsqrt(r2.clamp_min(_NORMALIZE_EPS**2)), 0.0)
        x, y, z = x * inv, y * inv, z * inv
    elif in_place:
        x, y, z = x.contiguous(), y.contiguous(), z.contiguous()

    def put(col: int, scale: float, *factors: torch.Tensor) -> None:
        """``out[..., col] = scale * prod(factors)``."""
        if out is None:  # the same operations in the same order: bitwise equal values
            value = factors[0] * scale if len(factors) == 1 else factors[0] * factors[1]
            for f in factors[2:]:
                value = value * f
            if len(factors) > 1 and scale != 1.0:
                value = value * scale
            columns.append(value)
            return
        dst = out[..., col]
        if len(factors) == 1:
            torch.mul(factors[0], scale, out=dst)
            return
        torch.mul(factors[0], factors[1], out=dst)
        for f in factors[2:]:
            dst.mul_(f)
        if scale != 1.0:
            dst.mul_(scale)

    if max(ls) >= 2:
        # e3nn's "component" polynomials (Y_00 = 1); l = 3 reuses two of degree 2
        y2, x2z2 = y * y, torch.mul(x, x).addcmul_(z, z)
        zx = torch.mul(z, z).addcmul_(x, x, value=-1.0)  # sh_2_4 / (sqrt15 / 2)
    if max(ls) >= 3:
        xz = x * z  # sh_2_0 / sqrt15
        a = torch.addcmul(zx * x, xz, z, value=2.0)  # xz z + zx x, up to the sqrt15 factors
        b = torch.addcmul(zx * z, xz, x, value=-2.0)
        c = torch.add(y2, x2z2, alpha=-0.25)  # (4 y2 - x2z2) / 4
        d = torch.add(y2, x2z2, alpha=-1.5)  # (2 y2 - 3 x2z2) / 2
    col = 0
    for l in ls:
        s = _degree_scale(l, normalization) * _INV_SQRT_4PI  # "component" -> normalization
        if l == 0:
            if out is None:
                columns.append(torch.full_like(v[..., 0], s))
            else:
                out[..., col].fill_(s)
        elif l == 1:
            for k, component in enumerate((x, y, z)):
                put(col + k, s * _SQRT3, component)
        elif l == 2:
            put(col, s * _SQRT15, x, z)
            put(col + 1, s * _SQRT15, x, y)
            put(col + 2, s * _SQRT5, torch.add(y2, x2z2, alpha=-0.5))
            put(col + 3, s * _SQRT15, y, z)
            put(col + 4, s * 0.5 * _SQRT15, zx)
        else:
            put(col, s * _SQRT42_6 * 0.5 * _SQRT15, a)
            put(col + 1, s * _SQRT7 * _SQRT15, xz, y)
            put(col + 2, s * _SQRT168_8 * 4.0, c, x)
            put(col + 3, s * _SQRT7, d, y)
            put(col + 4, s * _SQRT168_8 * 4.0, c, z)
            put(col + 5, s * _SQRT7 * 0.5 * _SQRT15, zx, y)
            put(col + 6, s * _SQRT42_6 * 0.5 * _SQRT15, b)
        col += 2 * l + 1
    return out if out is not None else torch.stack(columns, dim=-1)
