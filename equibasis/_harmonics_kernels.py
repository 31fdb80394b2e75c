r"""Fused CPU kernels for the real spherical harmonics and their vector-Jacobian product.

Eager torch computes the harmonics with one kernel per degree and order, each a pass over the
batch, and then pays a transposing copy into the ``(N, dim)`` output; at lmax 4 the copy alone
costs more than sphericart's whole evaluation. These kernels, compiled by numba, make one pass
over the vectors and write each output row once, as sphericart does.

Both kernels evaluate the homogeneous recurrence of :mod:`equibasis.harmonics` (the standard
real harmonics of the vector ``(v[ix], v[iy], v[iz])``) in float64 whatever the input dtype, so
float32 output is the exact value rounded once:

.. math::

    c_m + i s_m = \sqrt2\,(x + iy)^m\ (m \ge 1),\qquad
    \bar Q_m^m = \text{const},\quad
    \bar Q_{m+1}^m = \sqrt{2m+3}\,z\,\bar Q_m^m,\quad
    \bar Q_l^m = a_{lm} z \bar Q_{l-1}^m - b_{lm} r^2 \bar Q_{l-2}^m,

    Y_{l0} = S_l \bar Q_l^0,\qquad Y_{l,\pm m} = S_l \bar Q_l^m\, (c_m, s_m),

with :math:`S_l` the normalisation factor of degree l. With ``normalize`` the vector is first
divided by ``d = max(|v|, eps)`` and ``r^2`` is 1 (or ``|v|^2/eps^2`` below eps), as in
``torch.nn.functional.normalize``; without it the output is the solid harmonic of ``v``.

The vector-Jacobian product differentiates the same recurrence: :math:`\partial_x (c_m, s_m) =
m (c_{m-1}, s_{m-1})`, :math:`\partial_y (c_m, s_m) = m (-s_{m-1}, c_{m-1})`, and
:math:`\partial_z \bar Q`, :math:`\partial_{r^2} \bar Q` follow the three-term recurrence. The
normalisation is chained exactly: the tangential projection :math:`(I - \hat v\hat v^T)/|v|`
above eps, the factor 1/eps below it, and a zero gradient at the zero vector.

Rows are processed in blocks: the inner loops run over the rows of a block (unit stride,
vectorised by LLVM). The forward writes a block's values component-major into a scratch
buffer kept in the L1/L2 cache (unit-stride vector stores) and then copies it, transposed,
into the block's output rows: one strided scalar store per value straight into ``out`` cost
1.1-1.8x more at lmax 4-12. The backward likewise first copies the block's gradient rows into
a component-major buffer. Each kernel allocates its block's scratch arrays itself: an
inlined helper that returns them made the forward 1.4-1.7x slower at lmax 2-4.
"""

import math

import numba
import numpy as np

_BLOCK = 64

# Compiled once and cached next to this module (numba keys the cache on this file: options
# belong here, not in another module). No fast-math licence, not even FMA contraction (1.3x
# faster at lmax 4): LLVM contracts the vectorised loop body and the scalar remainder
# differently, and a row's last bit would then depend on its position in the batch.
KERNEL_OPTIONS = dict(cache=True, nogil=True, boundscheck=False, error_model="numpy")
_inline = numba.njit(inline="always", **KERNEL_OPTIONS)
_parallel = numba.njit(parallel=True, **KERNEL_OPTIONS)


@_inline
def _prepare(
    v, i0, rows, ix, iy, iz, normalize, eps, x, y, z, r2, inv, tangent
):  # pragma: no cover
    """Load a block of vectors in float64, normalised when asked.

    ``inv`` = 1/d (0 for the zero vector); ``tangent`` is True where |v| >= eps (r^2 = 1).
    The strided loads come first, so that the arithmetic loop vectorises (selects, no branch).
    """
    for j in range(rows):
        x[j] = v[i0 + j, ix]
        y[j] = v[i0 + j, iy]
        z[j] = v[i0 + j, iz]
    if not normalize:
        for j in range(rows):
            r2[j] = x[j] * x[j] + y[j] * y[j] + z[j] * z[j]
        return
    for j in range(rows):
        rr = x[j] * x[j] + y[j] * y[j] + z[j] * z[j]
        norm = math.sqrt(rr)
        t = 1.0 / max(norm, eps)
        t = t if rr > 0.0 else 0.0
        inside = norm >= eps
        inv[j] = t
        x[j] *= t
        y[j] *= t
        z[j] *= t
        tangent[j] = inside
        r2[j] = 1.0 if inside else rr * t * t


@_inline
def _powers(rows, lmax, x, y, cm, sm):  # pragma: no cover
    """``cm[m] + i sm[m] = sqrt2 (x + iy)^m`` for m = 0..lmax (m = 0 row: sqrt2, 0)."""
    s2 = math.sqrt(2.0)
    for j in range(rows):
        cm[0, j] = s2
        sm[0, j] = 0.0
    for m in range(1, lmax + 1):
        for j in range(rows):
            cm[m, j] = cm[m - 1, j] * x[j] - sm[m - 1, j] * y[j]
            sm[m, j] = cm[m - 1, j] * y[j] + sm[m - 1, j] * x[j]


@_inline
def _centre(col, l):  # pragma: no cover
    """Column of (l, m = 0), or -1 when degree l is not written."""
    return col[l] + l if col[l] >= 0 else -1


@_inline
def _store(buf, rows, col, m, scale, q, cm, sm):  # pragma: no cover
    """Write ``scale * q * (c_m, s_m)`` into the block buffer's rows (l, +-m).

    ``col`` is the column of (l, m = 0); a negative one (degree not written) is skipped.
    """
    if col < 0:
        return
    if m == 0:
        for j in range(rows):
            buf[col, j] = scale * q[j]
    else:
        for j in range(rows):
            t = scale * q[j]
            buf[col + m, j] = t * cm[m, j]
            buf[col - m, j] = t * sm[m, j]


@_parallel
def harmonics_forward(
    v, lmax, ix, iy, iz, normalize, eps, a, b, qmm, col, scale, out
):  # pragma: no cover
    """Fill ``out`` (N, dim): degree l's 2l+1 columns start at ``col[l]`` (skipped if < 0).

    ``a``, ``b`` (lmax+1, lmax+1): recurrence constants a_lm, b_lm (a_{m+1,m} = sqrt(2m+3));
    ``qmm`` (lmax+1,): Q_m^m; ``scale`` (lmax+1,): S_l.
    """
    n, dim = out.shape
    for block in numba.prange((n + _BLOCK - 1) // _BLOCK):
        i0 = block * _BLOCK
        rows = min(n, i0 + _BLOCK) - i0
        x, y, z = np.empty(_BLOCK), np.empty(_BLOCK), np.empty(_BLOCK)
        r2, inv = np.empty(_BLOCK), np.empty(_BLOCK)
        tangent = np.zeros(_BLOCK, dtype=np.bool_)
        cm, sm = np.empty((lmax + 1, _BLOCK)), np.empty((lmax + 1, _BLOCK))
        q1, q2 = np.empty(_BLOCK), np.empty(_BLOCK)
        buf = np.empty((dim, _BLOCK), dtype=out.dtype)  # columns of repeated degrees unused
        _prepare(v, i0, rows, ix, iy, iz, normalize, eps, x, y, z, r2, inv, tangent)
        _powers(rows, lmax, x, y, cm, sm)
        for m in range(lmax + 1):
            # Q_m^m is a constant (the powers of r sit in c_m, s_m); then Q_{m+1}^m, Q_l^m
            for j in range(rows):
                q2[j] = qmm[m]
            _store(buf, rows, _centre(col, m), m, scale[m], q2, cm, sm)
            if m == lmax:
                continue
            for j in range(rows):
                q1[j] = a[m + 1, m] * z[j] * q2[j]
            l = m + 1
            _store(buf, rows, _centre(col, l), m, scale[l], q1, cm, sm)
            for l in range(m + 2, lmax + 1):
                alm, blm = a[l, m], b[l, m]
                for j in range(rows):
                    t = alm * z[j] * q1[j] - blm * r2[j] * q2[j]
                    q2[j] = q1[j]
                    q1[j] = t
                _store(buf, rows, _centre(col, l), m, scale[l], q1, cm, sm)
        for j in range(rows):  # the transposing copy (gathers from the buffer)
            for k in range(dim):
                out[i0 + j, k] = buf[k, j]


@_inline
def _contract(g, rows, col, m, scale, q, qz, qr, cm, sm, gx, gy, gz, gr):  # pragma: no cover
    """Accumulate one (l, m) pair's share of the gradient (see the module docstring).

    ``g`` is the block's output gradient, component-major; ``col`` as in :func:`_store`.
    """
    if col < 0:
        return
    if m == 0:
        for j in range(rows):
            w = scale * np.float64(g[col, j])
            gz[j] += qz[j] * w
            gr[j] += qr[j] * w
        return
    for j in range(rows):
        gp = scale * np.float64(g[col + m, j])
        gm = scale * np.float64(g[col - m, j])
        w = gp * cm[m, j] + gm * sm[m, j]
        gz[j] += qz[j] * w
        gr[j] += qr[j] * w
        t = q[j] * m
        gx[j] += t * (gp * cm[m - 1, j] + gm * sm[m - 1, j])
        gy[j] += t * (gm * cm[m - 1, j] - gp * sm[m - 1, j])


@_parallel
def harmonics_backward(
    v, grad, lmax, ix, iy, iz, normalize, eps, a, b, qmm, col, scale, out
):  # pragma: no cover
    """``out`` (N, 3) = ``grad`` (N, dim) contracted with the Jacobian of the forward."""
    n, dim = grad.shape
    for block in numba.prange((n + _BLOCK - 1) // _BLOCK):
        i0 = block * _BLOCK
        rows = min(n, i0 + _BLOCK) - i0
        x, y, z = np.empty(_BLOCK), np.empty(_BLOCK), np.empty(_BLOCK)
        r2, inv = np.empty(_BLOCK), np.empty(_BLOCK)
        tangent = np.zeros(_BLOCK, dtype=np.bool_)
        cm, sm = np.empty((lmax + 1, _BLOCK)), np.empty((lmax + 1, _BLOCK))
        q1, q2 = np.empty(_BLOCK), np.empty(_BLOCK)
        qz1, qz2 = np.empty(_BLOCK), np.empty(_BLOCK)
        qr1, qr2 = np.empty(_BLOCK), np.empty(_BLOCK)
        gx, gy, gz, gr = np.zeros(_BLOCK), np.zeros(_BLOCK), np.zeros(_BLOCK), np.zeros(_BLOCK)
        # transposed copy of the block's gradient rows (1.5-1.7x at lmax 4-12)
        g = np.empty((dim, _BLOCK), dtype=grad.dtype)
        for j in range(rows):
            for k in range(dim):
                g[k, j] = grad[i0 + j, k]
        _prepare(v, i0, rows, ix, iy, iz, normalize, eps, x, y, z, r2, inv, tangent)
        _powers(rows, lmax, x, y, cm, sm)
        for m in range(lmax + 1):
            for j in range(rows):
                q2[j], qz2[j], qr2[j] = qmm[m], 0.0, 0.0
            c = _centre(col, m)
            _contract(g, rows, c, m, scale[m], q2, qz2, qr2, cm, sm, gx, gy, gz, gr)
            if m == lmax:
                continue
            am = a[m + 1, m]
            for j in range(rows):
                q1[j] = am * z[j] * q2[j]
                qz1[j] = am * q2[j]
                qr1[j] = 0.0
            l = m + 1
            c = _centre(col, l)
            _contract(g, rows, c, m, scale[l], q1, qz1, qr1, cm, sm, gx, gy, gz, gr)
            for l in range(m + 2, lmax + 1):
                alm, blm = a[l, m], b[l, m]
                for j in range(rows):
                    t = alm * z[j] * q1[j] - blm * r2[j] * q2[j]
                    tz = alm * (q1[j] + z[j] * qz1[j]) - blm * r2[j] * qz2[j]
                    tr = alm * z[j] * qr1[j] - blm * (q2[j] + r2[j] * qr2[j])
                    q2[j], qz2[j], qr2[j] = q1[j], qz1[j], qr1[j]
                    q1[j], qz1[j], qr1[j] = t, tz, tr
                c = _centre(col, l)
                _contract(g, rows, c, m, scale[l], q1, qz1, qr1, cm, sm, gx, gy, gz, gr)
        for j in range(rows):
            # gradient with respect to the (normalised) components, r^2 chained where it is
            # a function of them; then the normalisation's Jacobian
            px, py, pz = gx[j], gy[j], gz[j]
            if not normalize:
                px += 2.0 * x[j] * gr[j]
                py += 2.0 * y[j] * gr[j]
                pz += 2.0 * z[j] * gr[j]
            elif tangent[j]:
                # above eps: r^2 = 1 is a constant; project out the radial part, divide by |v|
                radial = x[j] * px + y[j] * py + z[j] * pz
                px = (px - radial * x[j]) * inv[j]
                py = (py - radial * y[j]) * inv[j]
                pz = (pz - radial * z[j]) * inv[j]
            else:
                # below eps (v / eps, r^2 = |v / eps|^2) or the zero vector (inv = 0)
                px = (px + 2.0 * x[j] * gr[j]) * inv[j]
                py = (py + 2.0 * y[j] * gr[j]) * inv[j]
                pz = (pz + 2.0 * z[j] * gr[j]) * inv[j]
            out[i0 + j, ix] = px
            out[i0 + j, iy] = py
            out[i0 + j, iz] = pz
