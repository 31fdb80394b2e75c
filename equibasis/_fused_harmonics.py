"""The CPU fast path of the harmonics: numba kernels behind a torch autograd Function.

:func:`fused_harmonics` returns exactly what the torch implementation in
:mod:`equibasis.harmonics` returns (the same recurrence, run in float64 and rounded once), in
one pass over the vectors; its backward is the fused vector-Jacobian product of
:mod:`equibasis._harmonics_kernels`. A backward that must itself be differentiable
(``create_graph=True``, e.g. training on forces) differentiates the torch implementation
instead, so derivatives of every order stay available.

numba is imported on first use (:mod:`equibasis._numba`); without it the torch path is taken.
"""

import functools
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import torch

from equibasis._memory import new_output
from equibasis._numba import fused_cpu_available, kernels, launch

__all__ = ["fused_harmonics", "fused_harmonics_available"]

# torch.nn.functional.normalize's eps, as the torch implementation
_NORMALIZE_EPS = 1e-12
_MODULE = "_harmonics_kernels"


def _kernels() -> ModuleType | None:
    """The compiled kernels module, or ``None`` where numba cannot be imported."""
    return kernels(_MODULE)


def fused_harmonics_available(v: torch.Tensor) -> bool:
    """Whether :func:`fused_harmonics` serves ``v``: a CPU float32/float64 tensor, eager mode."""
    return fused_cpu_available(_MODULE, v)


@dataclass(frozen=True)
class _Plan:
    """Kernel arguments for one list of degrees and one normalisation."""

    lmax: int
    dim: int
    col: np.ndarray  # (lmax + 1,) first column of each degree's first occurrence, -1 if absent
    scale: np.ndarray  # (lmax + 1,) normalisation factor of each degree
    a: np.ndarray
    b: np.ndarray
    qmm: np.ndarray
    repeats: tuple[tuple[int, int, int], ...]  # (first column, repeat column, width)


@functools.lru_cache(maxsize=64)
def _plan(ls: tuple[int, ...], normalization: str) -> _Plan:
    from equibasis.harmonics import _INV_SQRT_4PI, _degree_coefficients, _degree_scale

    lmax = max(ls)
    col = np.full(lmax + 1, -1, dtype=np.int64)
    scale = np.array([_degree_scale(l, normalization) for l in range(lmax + 1)])
    repeats = []
    start = 0
    for l in ls:
        if col[l] < 0:
            col[l] = start
        else:
            repeats.append((int(col[l]), start, 2 * l + 1))
        start += 2 * l + 1
    # the torch path's constants, laid out [l, m]: a_{l,l-1} = sqrt(2l+1), Q_m^m = qll(m)
    a = np.zeros((lmax + 1, lmax + 1))
    b = np.zeros((lmax + 1, lmax + 1))
    qmm = np.full(lmax + 1, _INV_SQRT_4PI)  # Q_0^0
    for l in range(1, lmax + 1):
        al, bl, qll, off, _ = _degree_coefficients(l)
        a[l, : l - 1], b[l, : l - 1], a[l, l - 1] = al, bl, off
        qmm[l] = qll
    return _Plan(lmax, start, col, scale, a, b, qmm, tuple(repeats))


def _kernel_options(plan: _Plan, normalize: bool, e3nn_axes: bool) -> tuple:
    """The kernels' arguments between the arrays: lmax, axes, normalisation and constants.

    The standard (x, y, z) are input columns (2, 0, 1) in e3nn's layout (polar axis y).
    """
    axes = (2, 0, 1) if e3nn_axes else (0, 1, 2)
    return (
        plan.lmax, *axes, normalize, _NORMALIZE_EPS, plan.a, plan.b, plan.qmm, plan.col, plan.scale
    )  # fmt: skip


class _FusedHarmonics(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v, ls, normalize, normalization, e3nn_axes):
        plan = _plan(ls, normalization)
        flat = v.detach().reshape(-1, 3).contiguous()
        # allocated in its final shape: a reshaped (view) output could not be changed in place
        out = new_output((*v.shape[:-1], plan.dim), flat)
        if flat.shape[0] > 0:
            rows = out.numpy().reshape(-1, plan.dim)  # the kernel's 2-D view (numpy's)
            args = _kernel_options(plan, normalize, e3nn_axes)
            launch(_kernels().harmonics_forward, flat.numpy(), *args, rows)
            for first, start, width in plan.repeats:
                rows[:, start : start + width] = rows[:, first : first + width]
        ctx.save_for_backward(v)
        ctx.options = (ls, normalize, normalization, e3nn_axes)
        return out

    @staticmethod
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        ls, normalize, normalization, e3nn_axes = ctx.options
        none = (None,) * 4
        if torch.is_grad_enabled():
            # create_graph=True: the gradient must be differentiable, so differentiate the
            # torch implementation (same values) instead of the kernel
            from equibasis.harmonics import _evaluate_torch

            with torch.enable_grad():
                out = _evaluate_torch(ls, v, normalize, normalization, e3nn_axes)
                (gv,) = torch.autograd.grad(out, v, grad, create_graph=True)
            return (gv, *none)
        plan = _plan(ls, normalization)
        g = grad.reshape(-1, plan.dim).to(v.dtype)
        if plan.repeats:  # a repeated degree's gradient adds to its first occurrence
            g = g.clone()
            for first, start, width in plan.repeats:
                g[:, first : first + width] += g[:, start : start + width]
        g = g.contiguous()
        flat = v.detach().reshape(-1, 3).contiguous()
        gv = torch.empty_like(flat)
        if flat.shape[0] > 0:
            args = _kernel_options(plan, normalize, e3nn_axes)
            launch(_kernels().harmonics_backward, flat.numpy(), g.numpy(), *args, gv.numpy())
        return (gv.reshape(v.shape), *none)


def fused_harmonics(
    ls: tuple[int, ...], v: torch.Tensor, normalize: bool, normalization: str, e3nn_axes: bool
) -> torch.Tensor:
    """Harmonics of degrees ``ls`` of ``v`` (..., 3) -> (..., sum(2l+1)), as the torch path."""
    return _FusedHarmonics.apply(v, ls, normalize, normalization, e3nn_axes)
