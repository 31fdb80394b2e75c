"""Fused CPU kernel for the torsion bases' product of harmonics and radial rows.

``out[t, f, n] = Y[t, f] * R[t, degree[f], n]`` (see ``polar._DegreeProduct``) is the largest
write of the polar bases (117 MB for 10^5 triplets at (7, 6)). In torch it takes two passes
over the output (a gathering copy, then an in-place multiply); this kernel, compiled by numba,
writes each output row once, in order, from the row's harmonics and radial values (both in
the L1 cache): the same float products, so the same bits.
"""

import numba
import numpy as np

# as in the harmonics kernels: cached next to this file, no fast-math
KERNEL_OPTIONS = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")


_BLOCK = 64


@numba.njit(parallel=True, **KERNEL_OPTIONS)
def degree_product(harmonics, radial, harmonic_of, radial_of, out):  # pragma: no cover
    """``out[t, q] = harmonics[t, harmonic_of[q]] * radial[t, radial_of[q]]`` for all t, q.

    ``harmonics`` (T, F), ``radial`` (T, L * R), ``out`` (T, F * R); the index tables (F * R,)
    name, for each output column q = f R + n, its harmonic f and radial column degree[f] R + n.
    The harmonics may be a transposed (column-major) buffer: a block's rows are first copied
    column by column into a small row-major one (strided reads per row were 1.6x slower).
    """
    n, num_harmonics = harmonics.shape
    for block in numba.prange((n + _BLOCK - 1) // _BLOCK):
        i0 = block * _BLOCK
        rows = min(n, i0 + _BLOCK) - i0
        h = np.empty((_BLOCK, num_harmonics), dtype=harmonics.dtype)
        for f in range(num_harmonics):
            for j in range(rows):
                h[j, f] = harmonics[i0 + j, f]
        for j in range(rows):
            for q in range(out.shape[1]):
                out[i0 + j, q] = h[j, harmonic_of[q]] * radial[i0 + j, radial_of[q]]
