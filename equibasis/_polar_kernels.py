"""Fused CPU kernels of the polar bases (numba).

- :func:`angle_basis` and :func:`angle_basis_vjp`: the angle bases, forward and backward, from
  the distances and angles: Chebyshev series of the radial functions, zonal harmonics and
  PyG's pole, per block of 64 rows in cache (the torch composition makes about ten passes over
  output-sized intermediates).
- :func:`torsion_basis`: the torsion bases without a graph, from the distances and angles: the
  radial values and the harmonics of a block, then its output rows (117 MB at 10^5 triplets and
  (7, 6)), each written once.
- :func:`degree_product`: the torsion product ``out[t, f, n] = Y[t, f] * R[t, degree[f], n]``
  from given harmonics and radial rows (``polar._DegreeProduct``, used when a graph is
  recorded): one pass instead of torch's gathering copy and in-place multiply, the same float
  products, so the same bits.
"""

import math

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


# The angle bases' kernels: every inner loop runs over a block's 64 rows (all 64, the rows past
# the end repeating the last one), so each row is computed the same way wherever it sits.
# ``contract`` lets LLVM fuse each multiply-add; nothing else is reassociated.
_ANGLE_OPTIONS = dict(fastmath={"contract"}, **KERNEL_OPTIONS)
_angle_inline = numba.njit(inline="always", **_ANGLE_OPTIONS)


@_angle_inline
def _series_ends(coefficients):  # pragma: no cover
    """Per column: one past its last nonzero coefficient, rounded up to a multiple of 4.

    The tails are zero (``polar._cut_series``); summing a few of those zeros changes no value.
    """
    terms, columns = coefficients.shape
    ends = np.zeros(columns, dtype=np.int64)
    for q in range(columns):
        for k in range(terms):
            if coefficients[k, q] != 0.0:
                ends[q] = k + 1
        ends[q] = min(terms, (ends[q] + 3) // 4 * 4)
    return ends


@_angle_inline
def _angle_block(dist, index, gathered, cos_angle, cutoff, envelope, i0, rows, x, keep,
                 chebyshev, legendre):  # pragma: no cover  # fmt: skip
    """Fill a block's ``x``, ``keep``, Chebyshev rows and Legendre rows.

    ``x = d / c``; ``T_0..T_{K-1}(2 min(x, 1) - 1)`` with ``1 / x`` as row K; ``P_0..P_{L-1}(cos
    angle)`` by Bonnet's recurrence.
    """
    real = x.dtype.type
    one, two = real(1.0), real(2.0)
    terms, degrees = chebyshev.shape[0] - 1, legendre.shape[0]
    for j in range(_BLOCK):
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
            legendre[n + 1, j] = (a * legendre[1, j] * legendre[n, j] - b * legendre[n - 1, j]) / c


@_angle_inline
def _column_series(coefficients, q, end, chebyshev, acc):  # pragma: no cover
    """``acc[j] = sum_{k < end} coefficients[k, q] T_k(u_j)``.

    Four terms per pass over ``acc`` (one term per pass was store-bound, 1.6x slower).
    """
    for j in range(_BLOCK):
        acc[j] = 0.0  # a literal: as a variable zero this loop was 1.15x slower
    k = 0
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


@numba.njit(parallel=True, **_ANGLE_OPTIONS)
def angle_basis(dist, index, gathered, cos_angle, cutoff, coefficients, pole, envelope,
                harmonic_scale, out):  # pragma: no cover  # fmt: skip
    r"""The angle bases' ``out[t, l R + n] = (S_{ln}(x_t) [+ pole_n / x_t]) Y_l^0(t)`` in one pass.

    ``x_t = dist[index[t]] / cutoff`` (``dist[t]`` unless ``gathered``); ``S_q(x) = sum_k
    coefficients[k, q] T_k(2 min(x, 1) - 1)``, the Chebyshev series of the radial functions
    (``(K, L * R)``); ``pole`` (R,) is the l = 0 term split off from PyG's ``u(x) / x``
    (``None`` for the other variants); ``Y_l^0 = harmonic_scale[l] P_l(cos_angle[t])``. With an
    ``envelope`` rows with ``x >= 1`` are zero; without one, rows with ``x > 1`` hold the series
    at ``x = 1`` (the caller evaluates them exactly). A block of 64 rows is computed
    column-major, then copied transposed into the output rows.
    """
    num = out.shape[0]
    terms, columns = coefficients.shape
    degrees = harmonic_scale.shape[0]
    radial = columns // degrees
    real = coefficients.dtype.type
    zero = real(0.0)
    ends = _series_ends(coefficients)
    for block in numba.prange((num + _BLOCK - 1) // _BLOCK):
        i0 = block * _BLOCK
        rows = min(num, i0 + _BLOCK) - i0
        x = np.empty(_BLOCK, dtype=coefficients.dtype)
        keep = np.empty(_BLOCK, dtype=np.bool_)
        chebyshev = np.empty((terms + 1, _BLOCK), dtype=coefficients.dtype)
        legendre = np.empty((degrees, _BLOCK), dtype=coefficients.dtype)
        acc = np.empty(_BLOCK, dtype=coefficients.dtype)
        buf = np.empty((columns, _BLOCK), dtype=coefficients.dtype)
        _angle_block(dist, index, gathered, cos_angle, cutoff, envelope, i0, rows, x, keep,
                     chebyshev, legendre)  # fmt: skip
        for l in range(degrees):
            scale = real(harmonic_scale[l])
            for j in range(_BLOCK):
                legendre[l, j] *= scale
        for q in range(columns):
            _column_series(coefficients, q, ends[q], chebyshev, acc)
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


@numba.njit(parallel=True, **_ANGLE_OPTIONS)
def angle_basis_vjp(dist, index, gathered, cos_angle, sin_angle, cutoff, coefficients, slopes,
                    pole, envelope, harmonic_scale, grad, grad_x,
                    grad_angle):  # pragma: no cover  # fmt: skip
    r"""The vector-Jacobian product of :func:`angle_basis` for one gradient ``grad`` (T, L * R).

    Per triplet, ``grad_x[t] = sum_q grad[t, q] d out[t, q] / d x_t`` and ``grad_angle[t] =
    sum_q grad[t, q] d out[t, q] / d angle_t``: the radial slope is the series of ``slopes``
    (the coefficients of ``dS/du``, u = 2x - 1, so ``dS/dx = 2 dS/du``) minus ``pole_n / x^2``
    for l = 0; the angular one ``-sin(angle) harmonic_scale[l] P_l'(cos angle)`` with
    ``P'_{n+1} = P'_{n-1} + (2n + 1) P_n``. Rows the forward pass zeroes (``x >= 1`` with an
    envelope) get zero. The caller keeps rows with ``x > 1`` without an envelope, and ``x = 0``
    with a pole, on its torch path. The gradient block is first copied column-major.
    """
    num = grad.shape[0]
    terms, columns = coefficients.shape
    degrees = harmonic_scale.shape[0]
    radial = columns // degrees
    real = coefficients.dtype.type
    zero, two = real(0.0), real(2.0)
    ends = _series_ends(coefficients)
    slope_ends = _series_ends(slopes)
    for block in numba.prange((num + _BLOCK - 1) // _BLOCK):
        i0 = block * _BLOCK
        rows = min(num, i0 + _BLOCK) - i0
        x = np.empty(_BLOCK, dtype=coefficients.dtype)
        keep = np.empty(_BLOCK, dtype=np.bool_)
        chebyshev = np.empty((terms + 1, _BLOCK), dtype=coefficients.dtype)
        legendre = np.empty((degrees, _BLOCK), dtype=coefficients.dtype)
        derivative = np.empty((degrees, _BLOCK), dtype=coefficients.dtype)
        value = np.empty(_BLOCK, dtype=coefficients.dtype)
        slope = np.empty(_BLOCK, dtype=coefficients.dtype)
        g = np.empty((columns, _BLOCK), dtype=coefficients.dtype)
        gx = np.zeros(_BLOCK, dtype=coefficients.dtype)
        ga = np.zeros(_BLOCK, dtype=coefficients.dtype)
        _angle_block(dist, index, gathered, cos_angle, cutoff, envelope, i0, rows, x, keep,
                     chebyshev, legendre)  # fmt: skip
        for j in range(_BLOCK):
            derivative[0, j] = zero
        if degrees > 1:
            for j in range(_BLOCK):
                derivative[1, j] = real(1.0)
        for n in range(1, degrees - 1):
            a = real(2 * n + 1)
            for j in range(_BLOCK):
                derivative[n + 1, j] = derivative[n - 1, j] + a * legendre[n, j]
        for l in range(degrees):
            scale = real(harmonic_scale[l])
            for j in range(_BLOCK):
                legendre[l, j] *= scale
                derivative[l, j] *= scale
        for q in range(columns):
            for j in range(rows):
                g[q, j] = grad[i0 + j, q]
            for j in range(rows, _BLOCK):
                g[q, j] = zero
        for q in range(columns):
            _column_series(coefficients, q, ends[q], chebyshev, value)
            _column_series(slopes, q, slope_ends[q], chebyshev, slope)
            l = q // radial
            for j in range(_BLOCK):
                slope[j] *= two
            if pole is not None and l == 0:
                p = pole[q]
                for j in range(_BLOCK):
                    value[j] += p * chebyshev[terms, j]
                    slope[j] -= p * chebyshev[terms, j] * chebyshev[terms, j]
            for j in range(_BLOCK):
                weight = g[q, j] if keep[j] else zero
                gx[j] += weight * legendre[l, j] * slope[j]
                ga[j] += weight * derivative[l, j] * value[j]
        for j in range(rows):
            grad_x[i0 + j] = gx[j]
            grad_angle[i0 + j] = -real(sin_angle[i0 + j]) * ga[j]


@numba.njit(parallel=True, **_ANGLE_OPTIONS)
def torsion_basis(dist, index, gathered, cos_theta, sin_theta, cos_phi, sin_phi, cutoff,
                  coefficients, harmonic_index, harmonic_sign, harmonic_of, radial_of,
                  out):  # pragma: no cover  # fmt: skip
    r"""The torsion bases' ``out[t, q] = Y_{f(q)}(theta_t, phi_t) R_{r(q)}(x_t)`` in one pass.

    ``R_q(x) = sum_k coefficients[k, q] T_k(2 min(x, 1) - 1)``, ``x_t = dist[index[t]] /
    cutoff`` as in :func:`angle_basis` (no envelope: rows with ``x > 1`` hold the series at
    ``x = 1``, the caller evaluates them exactly). Harmonic f is ``harmonic_sign[f]`` times the
    standard real ``Y`` number ``harmonic_index[f]`` (``l l + l + m``, no Condon-Shortley phase),
    from the fully normalised associated Legendre recurrences in ``cos theta, sin theta`` and
    ``cos m phi, sin m phi`` by angle addition (as ``harmonics._angular_harmonics``). Output
    column q takes harmonic ``harmonic_of[q]`` and radial function ``radial_of[q]`` (see
    :func:`degree_product`). Per block of 64 rows the radial values and the harmonics are
    computed column-major, copied into small row-major buffers, then multiplied into the
    output rows, each written once.
    """
    num = out.shape[0]
    terms, columns = coefficients.shape
    size = harmonic_index.shape[0]
    degrees = 1
    while degrees * degrees < size:
        degrees += 1
    real = coefficients.dtype.type
    sqrt2 = real(math.sqrt(2.0))
    ends = _series_ends(coefficients)
    for block in numba.prange((num + _BLOCK - 1) // _BLOCK):
        i0 = block * _BLOCK
        rows = min(num, i0 + _BLOCK) - i0
        x = np.empty(_BLOCK, dtype=coefficients.dtype)
        keep = np.empty(_BLOCK, dtype=np.bool_)
        chebyshev = np.empty((terms + 1, _BLOCK), dtype=coefficients.dtype)
        unused = np.empty((1, _BLOCK), dtype=coefficients.dtype)  # no zonal factor here
        acc = np.empty(_BLOCK, dtype=coefficients.dtype)
        standard = np.empty((degrees * degrees, _BLOCK), dtype=coefficients.dtype)
        trig = np.empty((2, degrees, _BLOCK), dtype=coefficients.dtype)  # cos m phi, sin m phi
        z = np.empty(_BLOCK, dtype=coefficients.dtype)
        s = np.empty(_BLOCK, dtype=coefficients.dtype)
        diag = np.empty(_BLOCK, dtype=coefficients.dtype)
        before = np.empty(_BLOCK, dtype=coefficients.dtype)
        q_lm = np.empty(_BLOCK, dtype=coefficients.dtype)
        radial_rows = np.empty((_BLOCK, columns), dtype=coefficients.dtype)
        harmonic_rows = np.empty((_BLOCK, size), dtype=coefficients.dtype)
        _angle_block(dist, index, gathered, cos_theta, cutoff, False, i0, rows, x, keep,
                     chebyshev, unused)  # fmt: skip
        for q in range(columns):
            _column_series(coefficients, q, ends[q], chebyshev, acc)
            for j in range(_BLOCK):
                radial_rows[j, q] = acc[j]
        for j in range(_BLOCK):
            row = i0 + min(j, rows - 1)
            z[j] = real(cos_theta[row])
            s[j] = real(sin_theta[row])
            trig[0, 0, j] = real(1.0)
            trig[1, 0, j] = real(0.0)
            if degrees > 1:
                trig[0, 1, j] = real(cos_phi[row])
                trig[1, 1, j] = real(sin_phi[row])
            diag[j] = real(1.0 / math.sqrt(4.0 * math.pi))
        for m in range(2, degrees):
            for j in range(_BLOCK):
                c, t = trig[0, m - 1, j], trig[1, m - 1, j]
                trig[0, m, j] = c * trig[0, 1, j] - t * trig[1, 1, j]
                trig[1, m, j] = t * trig[0, 1, j] + c * trig[1, 1, j]
        for m in range(degrees):
            if m > 0:
                grow = real(math.sqrt((2 * m + 1) / (2 * m)))
                for j in range(_BLOCK):
                    diag[j] = (diag[j] * s[j]) * grow
            for j in range(_BLOCK):
                before[j] = diag[j]
                q_lm[j] = diag[j]
            for l in range(m, degrees):
                if l == m + 1:
                    a = real(math.sqrt(2 * m + 3))
                    for j in range(_BLOCK):
                        before[j], q_lm[j] = q_lm[j], (z[j] * q_lm[j]) * a
                elif l > m + 1:
                    a = real(math.sqrt((4 * l * l - 1) / (l * l - m * m)))
                    b = real(math.sqrt(((l - 1) ** 2 - m * m) / (4 * (l - 1) ** 2 - 1)))
                    for j in range(_BLOCK):
                        before[j], q_lm[j] = q_lm[j], (z[j] * q_lm[j] - b * before[j]) * a
                centre = l * l + l
                if m == 0:
                    for j in range(_BLOCK):
                        standard[centre, j] = q_lm[j]
                else:
                    for j in range(_BLOCK):
                        scaled = q_lm[j] * sqrt2
                        standard[centre + m, j] = scaled * trig[0, m, j]
                        standard[centre - m, j] = scaled * trig[1, m, j]
        for f in range(size):
            sign, source = real(harmonic_sign[f]), harmonic_index[f]
            for j in range(_BLOCK):
                harmonic_rows[j, f] = sign * standard[source, j]
        for j in range(rows):
            for p in range(out.shape[1]):
                out[i0 + j, p] = harmonic_rows[j, harmonic_of[p]] * radial_rows[j, radial_of[p]]
