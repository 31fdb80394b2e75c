r"""The one recurrence of the real spherical harmonics (standard convention), any degree.

See :mod:`equibasis.harmonics` for the formulas. Everything that computes a harmonic of degree
above 3 (vectors in any convention, polar angles for the torsion bases) goes through
:func:`_standard_factors`; its constants are computed once per degree here.
"""

import math
from collections.abc import Iterator, Sequence

import torch

from equibasis._runtime import recording_graph, static, values_known

_NORMALIZE_EPS = 1e-12
_INV_SQRT_4PI = 1.0 / math.sqrt(4.0 * math.pi)


# ---------------------------------------------------------------------------------------------
# recurrence constants (plain Python floats cached per degree, and their tensors cached per
# degree, dtype and device; made afresh while torch.compile traces, so it sees constants)
# ---------------------------------------------------------------------------------------------
_COEFFICIENTS: dict[int, tuple[list[float], list[float], float, float]] = {}


def _degree_coefficients(l: int) -> tuple[list[float], list[float], float, float]:
    """Return ``(a, b, qll, off)`` for degree ``l >= 1`` (see the module docstring).

    ``a``/``b`` hold a_lm, b_lm for m = 0..l-2; ``qll`` = Q_l^l (a constant); ``off`` =
    sqrt(2l+1).
    """
    cached = _COEFFICIENTS.get(l)
    if cached is None:
        a = [math.sqrt((4 * l * l - 1) / (l * l - m * m)) for m in range(l - 1)]
        b = [
            math.sqrt((2 * l + 1) / (2 * l - 3) * ((l - 1) ** 2 - m * m) / (l * l - m * m))
            for m in range(l - 1)
        ]
        # Q_l^l = prod_k sqrt((2k+1)/(2k)) / sqrt(4 pi), independent of the vector
        qll = _INV_SQRT_4PI
        for k in range(1, l + 1):
            qll *= math.sqrt((2 * k + 1) / (2 * k))
        cached = (a, b, qll, math.sqrt(2 * l + 1))
        _COEFFICIENTS[l] = cached
    return cached


def _standard_factors(
    lmax: int, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor, r2: torch.Tensor | None
) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
    r"""Factors of the orthonormal real harmonics of the standard convention, degree by degree.

    Args:
        lmax: Highest degree (>= 1).
        x: First Cartesian component, shape ``(N,)``.
        y: Second Cartesian component, shape ``(N,)``.
        z: Polar component, shape ``(N,)``.
        r2: ``x^2 + y^2 + z^2``, shape ``(N,)``; the blocks are homogeneous of degree l.
            ``None`` means exactly 1 (unit vectors).

    ``z`` and ``r2`` may be float64 while ``x``, ``y`` are float32: the Legendre recurrence is
    then run in float64. The blocks are polynomials of (x, y, z, r2), and a float32 ``r2``
    inconsistent with x^2 + y^2 + z^2 by one rounding is amplified ~ l^2/4 times by the
    three-term recurrence (3.8e-6 at l = 12; r2 = 1 with a float32-normalised vector is off
    by as much, near the poles); a float64 z and r2 consistent with the vector keep float32
    output within ~1e-6 of the exact harmonics, as e3nn's own float32 output.

    Yields:
        ``(l, q, cs)`` for l = 1..lmax, both ``(2l + 1, N)`` with rows m = -l..l, in the
        dtype of ``x``: :math:`Y_{lm}` = ``q * cs`` (q: Legendre factor of degree l and
        order |m|, times sqrt2 for m != 0; cs: s_|m|, 1, c_m).
    """
    dtype, device = x.dtype, x.device
    qdtype = z.dtype
    n = x.shape[0]
    # c_m + i s_m = (x + iy)^m, m = 1..lmax, by complex products, doubling the block of known
    # powers each step (w^(k+j) = w^k w^j): O(log lmax) kernel launches instead of O(lmax)
    cc, ss = x.unsqueeze(0), y.unsqueeze(0)
    k = 1  # rows of cc and ss (a Python count: traced shapes are tensors)
    while k < lmax:
        ck, sk = cc[k - 1 : k], ss[k - 1 : k]
        c_lo, s_lo = cc[: min(k, lmax - k)], ss[: min(k, lmax - k)]
        cc = torch.cat([cc, c_lo * ck - s_lo * sk])
        ss = torch.cat([ss, c_lo * sk + s_lo * ck])
        k += min(k, lmax - k)
    ones = torch.ones((1, n), dtype=dtype, device=device)
    # rows s_lmax .. s_1, 1, c_1 .. c_lmax: degree l is a contiguous slice
    cs = torch.cat([ss.flip(0), ones, cc])  # (2 lmax + 1, N)

    # Q blocks carry a trailing zero row (m = l + 1), so m = 0..l-1 share one vectorised
    # step: a_{l,l-1} = sqrt(2l+1) and b_{l,l-1} = 0 give Q_l^{l-1} = sqrt(2l+1) z Q_{l-1}^{l-1};
    # Q_l^l is a constant (no z), appended as such. Rows m >= 1 hold sqrt2 Q_l^m (the sqrt2
    # of Y_{l,+-m}): the recurrence maps equal m, so only the constants Q_l^l carry it.
    zrow = z.unsqueeze(0)
    r2row = None if r2 is None else r2.unsqueeze(0)
    q_prev2 = None
    q_prev = _degree_tensors(0, qdtype, device)[2].expand(2, n)  # rows Q_0^0, 0
    for l in range(1, lmax + 1):
        at, bt, tail = _degree_tensors(l, qdtype, device)
        low = q_prev[:l] * at  # (l, N), m = 0..l-1
        if q_prev2 is None:
            low = low * zrow
        else:
            p2 = q_prev2[:l] * bt  # bt holds -b_lm
            if r2row is not None:
                p2 = p2 * r2row
            low = torch.addcmul(p2, low, zrow)
        q = torch.cat([low, tail.expand(2, n)])  # (l + 2, N), m = 0..l+1
        # rows |m| for m = -l..l (cast first: l + 2 rows instead of 2l + 1)
        qd = q if qdtype == dtype else q.to(dtype)
        # rows |m| for m = -l..l: l..1 reversed, then 0..l (slices, not a gather: the backward
        # of a gather is a scatter, slow eagerly and under inductor)
        yield l, torch.cat([qd[1 : l + 1].flip(0), qd[: l + 1]]), cs[lmax - l : lmax + l + 1]
        q_prev2, q_prev = q_prev, q


_TENSORS: dict[tuple[int, torch.dtype, torch.device], tuple] = {}


@static
def _degree_tensors(
    l: int, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Degree-l constants: a_lm and -b_lm (m < l) columns and [sqrt2 Q_l^l, 0]."""
    key = (l, dtype, device)
    cached = None if recording_graph() else _TENSORS.get(key)
    if cached is None:
        if l == 0:
            a, b, qll, off = [], [], _INV_SQRT_4PI, 0.0
        else:
            a, b, qll, off = _degree_coefficients(l)
        at = torch.tensor([*a, off], dtype=dtype, device=device).unsqueeze(1)
        bt = torch.tensor([-v for v in b] + [0.0], dtype=dtype, device=device).unsqueeze(1)
        sqrt2_qll = qll * math.sqrt(2.0) if l > 0 else qll
        tail = torch.tensor([[sqrt2_qll], [0.0]], dtype=dtype, device=device)
        cached = (at, bt, tail)
        if not recording_graph():
            _TENSORS[key] = cached
    return cached


def _degree_scale(l: int, normalization: str) -> float:
    """Factor from the orthonormal ("integral") harmonics to e3nn's ``normalization``."""
    if normalization == "integral":
        return 1.0
    if normalization == "component":
        return math.sqrt(4.0 * math.pi)
    return math.sqrt(4.0 * math.pi / (2 * l + 1))  # "norm"


def _evaluate_rows(
    ls: Sequence[int],
    v: torch.Tensor,
    normalize: bool,
    normalization: str,
    e3nn_axes: bool,
) -> torch.Tensor:
    """``(n, 3)`` -> ``(n, sum(2l+1))`` by the recurrence (any degrees, any device)."""
    vt = v.T
    if e3nn_axes:  # e3nn(v) == standard(v[..., [2, 0, 1]]): polar axis y
        x, y, z = vt[2], vt[0], vt[1]
    else:
        x, y, z = vt[0], vt[1], vt[2]
    # Legendre part in float64 for lower precisions (see _standard_factors): the float32
    # vector is projected in float64 too, so r2 = 1 is exact to float64 rounding
    qdtype = torch.float64 if v.dtype != torch.float64 else v.dtype
    xq, yq, zq = x.to(qdtype), y.to(qdtype), z.to(qdtype)
    r2 = xq * xq + yq * yq + zq * zq
    if normalize:
        # v / max(|v|, eps) as torch.nn.functional.normalize, zero gradient at 0 (double
        # where: the masked branch never sees 0); e3nn's gradient is about 1/eps there
        nonzero = r2 > 0
        norm = torch.sqrt(torch.where(nonzero, r2, torch.ones_like(r2)))
        inv = torch.where(nonzero, 1.0 / norm.clamp_min(_NORMALIZE_EPS), torch.zeros_like(r2))
        xq, yq, zq = xq * inv, yq * inv, zq * inv
        # r2 = 1 (dropped), except 0 and below eps where e3nn does not project
        short = (norm < _NORMALIZE_EPS) | ~nonzero
        # (no host sync where it costs: recorded graphs and accelerators always take where)
        if not values_known(v) or v.device.type != "cpu" or bool(short.any()):
            r2 = torch.where(short, r2 * inv * inv, torch.ones_like(r2))
        else:
            r2 = None
        x, y = xq.to(v.dtype), yq.to(v.dtype)
    blocks = {0: torch.full((1, v.shape[0]), _INV_SQRT_4PI, dtype=v.dtype, device=v.device)}
    lmax = max(ls)
    if lmax > 0:
        wanted = set(ls)
        for l, q, cs in _standard_factors(lmax, x, y, zq, r2):
            if l in wanted:
                blocks[l] = q * cs
    out = []
    for l in ls:
        scale = _degree_scale(l, normalization)
        if l == 0:  # the constant, rounded once (as in place)
            out.append(torch.full_like(blocks[0], _INV_SQRT_4PI * scale))
        else:
            out.append(blocks[l] * scale if scale != 1.0 else blocks[l])
    if recording_graph() or (torch.is_grad_enabled() and v.requires_grad):
        return torch.cat([block.T for block in out], dim=1)
    # no graph to record: each block is copied transposed into its columns, 4.5x faster than a
    # cat of transposed blocks (1.9 vs 8.5 ms for (1e5, 25) on one core)
    result = v.new_empty((v.shape[0], sum(block.shape[0] for block in out)))
    start = 0
    for block in out:
        result[:, start : start + block.shape[0]].copy_(block.T)
        start += block.shape[0]
    return result


# Up to this degree e3nn's closed-form polynomials, written column by column into one output,


def _angular_harmonics(
    num_spherical: int,
    theta: torch.Tensor,
    phi: torch.Tensor,
    columns: list[tuple[int, float]] | None = None,
) -> torch.Tensor:
    r"""Real ``Y_lm(theta, phi)`` from the polar angles, shape ``(T, F)``.

    Column ``f`` holds ``sign * Y[:, index]`` for ``columns[f] = (index, sign)``, ``index =
    l*l + l + m`` in the standard (sphericart / e3nn, no Condon-Shortley phase) convention;
    ``None`` lists all ``L * L`` in that order. The same recurrence as the harmonics of
    vectors (:func:`_standard_factors`) on the unit vector
    :math:`(\sin\theta\cos\varphi, \sin\theta\sin\varphi, \cos\theta)`: polynomials in
    its components, so finite with finite gradients at the poles.
    """
    z, s = torch.cos(theta), torch.sin(theta)
    x, y = s * torch.cos(phi), s * torch.sin(phi)
    rows = [torch.full_like(theta, _INV_SQRT_4PI).unsqueeze(0)]  # Y_00
    for _, q, cs in _standard_factors(num_spherical - 1, x, y, z, None):
        rows.append(q * cs)
    standard = torch.cat(rows)  # (L * L, T), row l*l + l + m
    if columns is None:
        return standard.T
    index, sign = _column_tables(tuple(columns), theta.dtype, theta.device)
    return (standard.index_select(0, index) * sign.unsqueeze(-1)).T


@static
def _column_tables(
    columns: tuple[tuple[int, float], ...], dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``(index, sign)`` of each column as tensors (constants of a traced graph)."""
    index = torch.tensor([i for i, _ in columns], device=device)
    sign = torch.tensor([v for _, v in columns], dtype=dtype, device=device)
    return index, sign
