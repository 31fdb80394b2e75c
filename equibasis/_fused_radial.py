"""The CPU fast path of :class:`~equibasis.EdgeEmbedding`'s radial features, without a graph.

:func:`fused_edge_radial` returns ``radial(|vec|) * cutoff_fn(|vec|)`` in one pass over the
edges (:mod:`equibasis._radial_kernels`) for the pairs it knows: a :class:`GaussianRBF` or a
:class:`BesselRBF` with fixed frequencies, under a :class:`PolynomialCutoff`. Anything else (other
modules, subclasses, gradients, other devices, no numba) returns ``None`` and the caller composes
the modules. The values are the composition's, computed in float64 and rounded once.
"""

import math

import torch

from equibasis._memory import new_output
from equibasis._numba import fused_cpu_available, kernels, launch
from equibasis._validation import check_finite
from equibasis.cutoff import PolynomialCutoff
from equibasis.radial import _UNDERFLOW, BesselRBF, GaussianRBF

__all__ = ["fused_edge_radial"]

_MODULE = "_radial_kernels"


def _kernel_and_options(radial: torch.nn.Module, dtype: torch.dtype) -> tuple | None:
    """The kernel and its arguments between the vectors and the output, or ``None``."""
    if type(radial) is GaussianRBF:
        scale = math.sqrt(0.5) / radial.width
        offsets = (radial.offset.detach().cpu().double() * scale).numpy()
        # float32 output: the product recurrence over the equally spaced centres (see kernel)
        step = float(offsets[1] - offsets[0]) if dtype == torch.float32 and offsets.size > 1 else 0
        options = (scale, offsets, _UNDERFLOW[dtype], step, math.exp(-2.0 * step * step))
        return kernels(_MODULE).gaussian_edges, options
    if type(radial) is BesselRBF and not radial.trainable:
        envelope = radial.envelope
        options = (radial.cutoff, radial._series_bound, envelope.p, envelope.zero_beyond_cutoff)
        return kernels(_MODULE).bessel_edges, options
    return None


def fused_edge_radial(
    vec: torch.Tensor, radial: torch.nn.Module, cutoff_fn: torch.nn.Module
) -> torch.Tensor | None:
    """``radial(r) * cutoff_fn(r)[..., None]``, r = |vec|, shape ``(..., K)``; or ``None``.

    Only without a graph to record (the caller checks); ``vec`` must be finite.
    """
    if type(cutoff_fn) is not PolynomialCutoff or not fused_cpu_available(_MODULE, vec):
        return None
    plan = _kernel_and_options(radial, vec.dtype)
    if plan is None:
        return None
    kernel, options = plan
    flat = check_finite("vec", vec.reshape(-1, 3).contiguous())
    out = new_output((flat.shape[0], radial.num_basis), flat)
    if flat.shape[0] > 0:
        envelope = (float(cutoff_fn.cutoff), int(cutoff_fn.p))
        launch(kernel, flat.numpy(), *options, *envelope, out.numpy())
    return out.reshape(*vec.shape[:-1], radial.num_basis)
