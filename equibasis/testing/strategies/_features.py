"""Strategies of e3nn data: irreps (unsorted, repeats allowed) and feature arrays for them."""

from collections.abc import Sequence

import numpy as np
import torch
from e3nn import o3
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from equibasis._validation import check_int, check_positive
from equibasis.testing.strategies._records import DeviceLike, _check_dtype, _tensor

__all__ = ["features", "irreps"]


def irreps(
    lmax: int = 2, max_mul: int = 3, max_terms: int = 3, parity: bool = True
) -> st.SearchStrategy[o3.Irreps]:
    """E3nn irreps such as ``2x0e + 1x1o + 3x2e``: degrees up to ``lmax``, both parities.

    Terms are kept in the order drawn (repeats allowed, as a model's irreps may be unsorted),
    so a function that assumes sorted or simplified irreps is caught. Shrinks to ``1x0e``.

    Args:
        lmax: Largest degree l (>= 0).
        max_mul: Largest multiplicity (>= 1).
        max_terms: Most ``mul x ir`` terms (>= 1).
        parity: Draw both parities (True) or even parity only (False).

    Returns:
        A strategy of :class:`e3nn.o3.Irreps` with at least one term.

    Example:
        >>> from hypothesis import find
        >>> find(irreps(lmax=2), lambda ir: any(mul_ir.ir.p == -1 for mul_ir in ir))
        1x0o
    """
    lmax = check_int("lmax", lmax)
    max_mul = check_int("max_mul", max_mul, minimum=1)
    max_terms = check_int("max_terms", max_terms, minimum=1)
    parities = [1, -1] if parity else [1]
    term = st.tuples(st.integers(1, max_mul), st.integers(0, lmax), st.sampled_from(parities))
    return st.lists(term, min_size=1, max_size=max_terms).map(
        lambda terms: o3.Irreps([(mul, (degree, p)) for mul, degree, p in terms])
    )


def features(
    irreps: object,
    shape: int | Sequence[int] = (),
    max_abs: float = 1.0,
    dtype: torch.dtype = torch.float64,
    device: DeviceLike = "cpu",
) -> st.SearchStrategy[torch.Tensor]:
    """Feature arrays for ``irreps``: shape ``(*shape, irreps.dim)``, entries within ``max_abs``.

    Note that features shrink towards zero, and an equivariance check of all-zero features
    passes trivially: the checks in :mod:`equibasis.testing.checks` flag outputs that are zero.

    Args:
        irreps: Anything :class:`e3nn.o3.Irreps` accepts (``"0e + 1o"``), or a strategy of irreps
            (e.g. :func:`irreps`), drawn first.
        shape: Leading (batch) shape.
        max_abs: Bound on each entry.
        dtype: Floating dtype.
        device: Device.

    Returns:
        A strategy of tensors of shape ``(*shape, irreps.dim)``.

    Example:
        >>> from hypothesis import find
        >>> find(features("0e + 1o", shape=4), lambda x: True).shape
        torch.Size([4, 4])
    """
    _check_dtype(dtype)
    max_abs = check_positive("max_abs", max_abs)
    lead = (shape,) if isinstance(shape, int) else tuple(shape)
    for size in lead:
        check_int("shape", size)
    if isinstance(irreps, st.SearchStrategy):
        return irreps.flatmap(lambda ir: features(ir, lead, max_abs, dtype, device))
    dim = o3.Irreps(irreps).dim
    elements = st.floats(-max_abs, max_abs, allow_nan=False, allow_infinity=False)
    return hnp.arrays(np.float64, (*lead, dim), elements=elements).map(
        lambda a: _tensor(a, dtype, device)
    )
