r"""Fused CPU kernels for the enveloped radial features of :class:`~equibasis.EdgeEmbedding`.

Composed from torch operations, ``radial(|v|) * cutoff(|v|)`` makes one pass over the
``(E, K)`` features per operation (about 20 of them, each allocating its result). These kernels,
compiled by numba, compute the distance, the radial basis and the envelope of a block of edges
in float64 and write each output row once:

- Gaussians (:class:`~equibasis.radial.GaussianRBF`): :math:`e_k = \exp(-(a r - b_k)^2)`, 0 where
  :math:`(a r - b_k)^2` reaches the dtype's underflow limit, as the torch implementation;
- DimeNet's Bessel functions (:class:`~equibasis.radial.BesselRBF`, fixed frequencies):
  :math:`\sin(k\pi x)/x \cdot x u(x)`, x = r / c, the sines by the rotation
  :math:`(\cos, \sin)(k\pi x) = (\cos, \sin)((k-1)\pi x) \cdot (\cos, \sin)(\pi x)` (error growing
  like k ulp), and the torch implementation's series where :math:`x < x_0`;
- both times :class:`~equibasis.cutoff.PolynomialCutoff`'s envelope.

numba has no vectorised exp or sin (without Intel's SVML); ``_exp`` and ``_sincos_pi`` are
polynomial evaluations with exact argument reduction, vectorised by LLVM, within 2 ulp of the
correctly rounded value in float64 (tests check them against mpmath).
"""

import math

import numba
import numpy as np

# as in the harmonics kernels: cached next to this file, no fast-math (rows must not depend on
# their position in a block)
KERNEL_OPTIONS = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")
_inline = numba.njit(inline="always", **KERNEL_OPTIONS)
_parallel = numba.njit(parallel=True, **KERNEL_OPTIONS)

_BLOCK = 64
# exp(x) = 2^n exp(t), x = n ln2 + t, |t| <= ln2 / 2 (Cody-Waite: n * _LN2_HI is exact for
# |n| < 2^11); Taylor terms up to t^13 / 13! (the next is below 5e-18)
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_EXP_TERMS = np.array([1.0 / math.factorial(k) for k in range(14)])
# sin z, cos z for |z| <= pi / 4: Taylor terms up to z^17 / 17! and z^18 / 18!
_SIN_TERMS = np.array([(-1.0) ** k / math.factorial(2 * k + 1) for k in range(9)])
_COS_TERMS = np.array([(-1.0) ** k / math.factorial(2 * k) for k in range(10)])


@_inline
def _exp(x, bits, j):  # pragma: no cover
    """exp(x) for -708 <= x <= 0 (a normal result); ``bits`` is int64 scratch, ``j`` the slot."""
    n = math.floor(x * (1.0 / _LN2_HI) + 0.5)
    t = (x - n * _LN2_HI) - n * _LN2_LO
    # Estrin's scheme (a Horner chain of 13 steps was latency-bound: 2x slower)
    c = _EXP_TERMS
    t2 = t * t
    t4 = t2 * t2
    t8 = t4 * t4
    p01 = c[0] + c[1] * t
    p23 = c[2] + c[3] * t
    p45 = c[4] + c[5] * t
    p67 = c[6] + c[7] * t
    p89 = c[8] + c[9] * t
    pab = c[10] + c[11] * t
    pcd = c[12] + c[13] * t
    low = (p01 + p23 * t2) + (p45 + p67 * t2) * t4
    high = (p89 + pab * t2) + pcd * t4
    p = low + high * t8
    bits[j] = (np.int64(n) + 1023) << 52  # the float64 2^n
    return p


@_inline
def _sincos_pi(rows, x, sin, cos):  # pragma: no cover
    """sin(pi x), cos(pi x) for x >= 0: x = n/2 + y with |y| <= 1/4 (exact), then Taylor.

    Branch-free (float selects, no integer quadrant) so that LLVM vectorises it.
    """
    for j in range(rows):
        n = math.floor(2.0 * x[j] + 0.5)
        z = math.pi * (x[j] - 0.5 * n)
        z2 = z * z
        s = _SIN_TERMS[8]
        for k in range(7, -1, -1):
            s = s * z2 + _SIN_TERMS[k]
        s *= z
        c = _COS_TERMS[9]
        for k in range(8, -1, -1):
            c = c * z2 + _COS_TERMS[k]
        quarter = n - 4.0 * math.floor(0.25 * n)  # quarter turns, 0..3
        odd = n - 2.0 * math.floor(0.5 * n) == 1.0
        sign_sin = -1.0 if quarter >= 2.0 else 1.0
        sign_cos = -1.0 if abs(quarter - 1.5) < 1.0 else 1.0  # quarter 1 or 2
        sin[j] = sign_sin * (c if odd else s)
        cos[j] = sign_cos * (s if odd else c)


@_inline
def _distances(vec, i0, rows, r):  # pragma: no cover
    for j in range(rows):
        a = np.float64(vec[i0 + j, 0])
        b = np.float64(vec[i0 + j, 1])
        c = np.float64(vec[i0 + j, 2])
        r[j] = math.sqrt(a * a + b * b + c * c)


@_inline
def _powers(rows, x, p, xp):  # pragma: no cover
    """``xp = x^p``, one pass per factor (an inner loop over p would stop the vectorisation)."""
    for j in range(rows):
        xp[j] = 1.0
    for _ in range(p):
        for j in range(rows):
            xp[j] *= x[j]


@_inline
def _poly_cutoff(rows, r, cutoff, p, x, xp, env):  # pragma: no cover
    """PolynomialCutoff: 1 + x^p (a + x (b - x c)), x = min(r / c, 1) (0 at and beyond 1)."""
    a, b, c = -(p + 1) * (p + 2) / 2.0, float(p * (p + 2)), p * (p + 1) / 2.0
    for j in range(rows):
        x[j] = min(r[j] / cutoff, 1.0)
    _powers(rows, x, p, xp)
    for j in range(rows):
        env[j] = ((x[j] * -c + b) * x[j] + a) * xp[j] + 1.0


@_inline
def _write_rows(buf, out, i0, rows):  # pragma: no cover
    """Copy the block buffer (K, rows) transposed into the block's output rows."""
    for j in range(rows):
        for k in range(out.shape[1]):
            out[i0 + j, k] = buf[k, j]


@_parallel
def gaussian_edges(vec, a, b, limit, step, ratio, env_cutoff, env_p, out):  # pragma: no cover
    """``out`` (E, K) = exp(-(a r - b_k)^2) * envelope(r), r = |vec| (E, 3).

    ``step`` > 0 (equally spaced centres, b_k = b_0 + k step; float32 output only) allows the
    product recurrence g_k = g_{k-1} F_{k-1}, F_k = F_{k-1} ratio, ratio = exp(-2 step^2),
    from g_0 = exp(-u^2) and F_0 = exp(2 step u - step^2), u = a r - b_0: two exponentials a
    row instead of K (relative error ~K ulp of float64, far below float32's rounding). A block
    where g_0 or F_0 could leave the normal range takes the direct exponentials.
    """
    n, num = out.shape
    for block in numba.prange((n + _BLOCK - 1) // _BLOCK):
        i0 = block * _BLOCK
        rows = min(n, i0 + _BLOCK) - i0
        r, env, p = np.empty(_BLOCK), np.empty(_BLOCK), np.empty(_BLOCK)
        g, f = np.empty(_BLOCK), np.empty(_BLOCK)
        bits = np.empty(_BLOCK, dtype=np.int64)
        scale = bits.view(np.float64)
        buf = np.empty((num, _BLOCK), dtype=out.dtype)
        _distances(vec, i0, rows, r)
        _poly_cutoff(rows, r, env_cutoff, env_p, p, scale, env)  # p, scale: scratch here
        worst = 0.0  # the recurrence's range check, only where it may be used
        for j in range(rows if step > 0.0 else 0):
            u = a * r[j] - b[0]
            worst = max(worst, max(u * u, abs(2.0 * step * u)))
        if step > 0.0 and worst < 700.0:
            for j in range(rows):
                u = a * r[j] - b[0]
                p[j] = _exp(-u * u, bits, j)
            for j in range(rows):
                g[j] = p[j] * scale[j]
            for j in range(rows):
                u = a * r[j] - b[0]
                p[j] = _exp(2.0 * step * u - step * step, bits, j)
            for j in range(rows):
                f[j] = p[j] * scale[j]
            for k in range(num):
                bk = b[k]
                for j in range(rows):
                    d = a * r[j] - bk
                    buf[k, j] = g[j] * env[j] if d * d < limit else 0.0
                    # flushed to 0 before they turn subnormal (slow); such values are masked
                    t = g[j] * f[j]
                    g[j] = t if t > 1e-290 else 0.0
                    t = f[j] * ratio
                    f[j] = t if t > 1e-290 else 0.0
        else:
            for k in range(num):
                bk = b[k]
                for j in range(rows):
                    d = a * r[j] - bk
                    p[j] = _exp(-min(d * d, limit), bits, j)
                for j in range(rows):
                    d = a * r[j] - bk
                    buf[k, j] = p[j] * scale[j] * env[j] if d * d < limit else 0.0
        _write_rows(buf, out, i0, rows)


@_parallel
def bessel_edges(
    vec, cutoff, x0, dimenet_p, zero_beyond, env_cutoff, env_p, out
):  # pragma: no cover
    """``out`` (E, K) = sin(k pi x) / x * x u(x) * envelope(r), x = |vec| / c, k = 1..K.

    ``x u(x)`` is DimeNet's smooth envelope of order ``dimenet_p`` (clamped at x = 1 when
    ``zero_beyond``); rows with x < x0 take the series of sin(k pi x) / x.
    """
    n, num = out.shape
    pa = -(dimenet_p + 1) * (dimenet_p + 2) / 2.0
    pb = float(dimenet_p * (dimenet_p + 2))
    pc = -dimenet_p * (dimenet_p + 1) / 2.0
    for block in numba.prange((n + _BLOCK - 1) // _BLOCK):
        i0 = block * _BLOCK
        rows = min(n, i0 + _BLOCK) - i0
        r, env, x, smooth, w = (
            np.empty(_BLOCK),
            np.empty(_BLOCK),
            np.empty(_BLOCK),
            np.empty(_BLOCK),
            np.empty(_BLOCK),
        )
        c1, s1, cn, sn = np.empty(_BLOCK), np.empty(_BLOCK), np.empty(_BLOCK), np.empty(_BLOCK)
        buf = np.empty((num, _BLOCK), dtype=out.dtype)
        _distances(vec, i0, rows, r)
        _poly_cutoff(rows, r, env_cutoff, env_p, x, w, env)  # x, w: scratch here
        for j in range(rows):
            x[j] = r[j] / cutoff
            smooth[j] = min(x[j], 1.0) if zero_beyond else x[j]
        _powers(rows, smooth, dimenet_p - 1, w)
        for j in range(rows):
            # DimeNet's x u(x) = 1 + x (x^(p-1) (a + x (b + x c))) (BesselRBF's Horner order)
            xc = smooth[j]
            smooth[j] = 1.0 + xc * (w[j] * (pa + xc * (pb + xc * pc)))
            safe = max(x[j], x0)
            w[j] = smooth[j] / safe
            sn[j] = safe
        _sincos_pi(rows, sn, s1, c1)
        for j in range(rows):
            sn[j], cn[j] = s1[j], c1[j]
        for k in range(num):
            if k > 0:
                for j in range(rows):
                    s = sn[j] * c1[j] + cn[j] * s1[j]
                    cn[j] = cn[j] * c1[j] - sn[j] * s1[j]
                    sn[j] = s
            for j in range(rows):
                buf[k, j] = sn[j] * w[j] * env[j]
        small = 0
        for j in range(rows):  # a vectorised count first: the fix-up loop below is scalar
            small += x[j] < x0
        for j in range(rows if small else 0):
            if x[j] < x0:  # rare: sin(f x) / x = f (1 - t/6 (1 - t/20 (1 - t/42 (1 - t/72))))
                for k in range(num):
                    f = (k + 1) * math.pi
                    t = (x[j] * x[j]) * (f * f)
                    v = f * (1.0 - t / 6.0 * (1.0 - t / 20.0 * (1.0 - t / 42.0 * (1.0 - t / 72.0))))
                    buf[k, j] = v * smooth[j] * env[j]
        _write_rows(buf, out, i0, rows)
