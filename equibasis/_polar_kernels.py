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


@numba.njit(parallel=True, fastmath={"contract"}, **KERNEL_OPTIONS)
def angle_basis(dist, index, gathered, cos_angle, cutoff, coefficients, pole, envelope,
                harmonic_scale, out):  # pragma: no cover  # fmt: skip
    r"""The angle bases' ``out[t, l R + n] = (S_{ln}(x_t) [+ pole_n / x_t]) Y_l^0(t)`` in one pass.

    ``x_t = dist[index[t]] / cutoff`` (``dist[t]`` unless ``gathered``); ``S_q(x) = sum_k
    coefficients[k, q] T_k(2 min(x, 1) - 1)``, the Chebyshev series of the radial functions
    (``(K, L * R)``); ``pole`` (R,) is the l = 0 term split off from PyG's ``u(x) / x``
    (``None`` for the other variants); ``Y_l^0 = harmonic_scale[l] P_l(cos_angle[t])`` by
    Bonnet's recurrence. With an ``envelope`` rows with ``x >= 1`` are zero; without one, rows
    with ``x > 1`` hold the series at ``x = 1`` (the caller evaluates them exactly).

    A block of 64 rows is computed column-major (every inner loop runs over the block's rows,
    all 64, so each row is computed the same way wherever it sits): the recurrence, then each
    column as a sum over k, four terms per pass over its accumulator (one term per pass was
    store-bound, 1.6x slower), then one transposed copy into the output rows. ``contract``
    lets LLVM fuse each multiply-add; nothing else is reassociated.
    """
    num = out.shape[0]
    terms, columns = coefficients.shape
    degrees = harmonic_scale.shape[0]
    radial = columns // degrees
    real = coefficients.dtype.type
    zero, one, two = real(0.0), real(1.0), real(2.0)
    # column q's terms end at its last nonzero coefficient (the tails are zero, see
    # polar._cut_series), rounded up to a multiple of 4 (adding zero terms changes no value)
    ends = np.zeros(columns, dtype=np.int64)
    for q in range(columns):
        for k in range(terms):
            if coefficients[k, q] != 0.0:
                ends[q] = k + 1
        ends[q] = min(terms, (ends[q] + 3) // 4 * 4)
    for block in numba.prange((num + _BLOCK - 1) // _BLOCK):
        i0 = block * _BLOCK
        rows = min(num, i0 + _BLOCK) - i0
        x = np.empty(_BLOCK, dtype=coefficients.dtype)
        keep = np.empty(_BLOCK, dtype=np.bool_)
        chebyshev = np.empty((terms + 1, _BLOCK), dtype=coefficients.dtype)
        legendre = np.empty((degrees, _BLOCK), dtype=coefficients.dtype)
        acc = np.empty(_BLOCK, dtype=coefficients.dtype)
        buf = np.empty((columns, _BLOCK), dtype=coefficients.dtype)
        for j in range(_BLOCK):  # rows past the end repeat the last one
            row = i0 + min(j, rows - 1)
            x[j] = real(dist[index[row]] if gathered else dist[row]) / real(cutoff)
            legendre[0, j] = one
            if degrees > 1:
                legendre[1, j] = real(cos_angle[row])
        for j in range(_BLOCK):
            keep[j] = x[j] < one or not envelope
            chebyshev[0, j] = one
            chebyshev[1, j] = two * min(x[j], one) - one
            chebyshev[terms, j] = one / x[j]  # the pole's 1 / x (+inf at x = 0)
        for k in range(2, terms):
            for j in range(_BLOCK):
                chebyshev[k, j] = two * chebyshev[1, j] * chebyshev[k - 1, j] - chebyshev[k - 2, j]
        for n in range(1, degrees - 1):
            a, b, c = real(2 * n + 1), real(n), real(n + 1)
            for j in range(_BLOCK):
                legendre[n + 1, j] = (
                    a * legendre[1, j] * legendre[n, j] - b * legendre[n - 1, j]
                ) / c
        for l in range(degrees):
            scale = real(harmonic_scale[l])
            for j in range(_BLOCK):
                legendre[l, j] *= scale
        for q in range(columns):
            for j in range(_BLOCK):
                acc[j] = 0.0  # a literal: as the variable zero this loop was 1.15x slower
            k, end = 0, ends[q]
            while k + 4 <= end:
                c0, c1 = coefficients[k, q], coefficients[k + 1, q]
                c2, c3 = coefficients[k + 2, q], coefficients[k + 3, q]
                for j in range(_BLOCK):
                    acc[j] = (acc[j] + c0 * chebyshev[k, j] + c1 * chebyshev[k + 1, j]
                              + c2 * chebyshev[k + 2, j] + c3 * chebyshev[k + 3, j])  # fmt: skip
                k += 4
            while k < end:
                c0 = coefficients[k, q]
                for j in range(_BLOCK):
                    acc[j] += c0 * chebyshev[k, j]
                k += 1
            l = q // radial
            if pole is not None and l == 0:
                p = pole[q]
                for j in range(_BLOCK):
                    acc[j] += p * chebyshev[terms, j]
            for j in range(_BLOCK):
                buf[q, j] = acc[j] * legendre[l, j] if keep[j] else zero
        for j in range(rows):
            for q in range(columns):
                out[i0 + j, q] = buf[q, j]
