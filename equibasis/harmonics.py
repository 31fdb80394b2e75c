r"""Real spherical harmonics of any degree, as e3nn irreps, and exact convention converters.

One vectorised recurrence (the one sphericart uses) computes the orthonormal real harmonics
:math:`Y_{lm}` of the standard (Wikipedia) convention for every degree up to any ``lmax``:

* :math:`c_m + i s_m = (x + i y)^m` by the complex-product recurrence
  :math:`c_m = c_{m-1} x - s_{m-1} y`, :math:`s_m = c_{m-1} y + s_{m-1} x`;
* the normalised, homogeneous Legendre factors :math:`\bar Q_l^m(z, r^2)` by the three-term
  recurrence of the fully normalised associated Legendre functions,

.. math::

    \bar Q_0^0 = \frac{1}{\sqrt{4\pi}},\quad
    \bar Q_l^l = \sqrt{\tfrac{2l+1}{2l}}\,\bar Q_{l-1}^{l-1},\quad
    \bar Q_l^{l-1} = \sqrt{2l+1}\, z\, \bar Q_{l-1}^{l-1},\quad
    \bar Q_l^m = a_{lm}\, z\, \bar Q_{l-1}^m - b_{lm}\, r^2\, \bar Q_{l-2}^m,

    a_{lm} = \sqrt{\frac{4l^2-1}{l^2-m^2}},\qquad
    b_{lm} = \sqrt{\frac{2l+1}{2l-3}\,\frac{(l-1)^2-m^2}{l^2-m^2}},

    Y_{l,0} = \bar Q_l^0,\qquad Y_{l,m} = \sqrt 2\,\bar Q_l^m c_m,\qquad
    Y_{l,-m} = \sqrt 2\,\bar Q_l^m s_m \quad (m > 0).

All factors stay of order one, so the recurrence is stable in float32 and float64 to any degree
(no factorials, no :math:`(2l-1)!!` overflow). :func:`spherical_harmonics` returns e3nn's layout,
which is the same recurrence on the permuted axes ``(z, x, y)`` (e3nn's polar axis is ``y``).
See ``docs/conventions.md`` for every convention and the maps between them.
"""

import functools
import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from e3nn.o3 import Irreps

from equibasis._runtime import recording_graph, static, values_known
from equibasis._tracing import Deployable
from equibasis._validation import (
    check_choice,
    check_float_tensor,
    check_int,
    check_last_dim,
)

__all__ = [
    "CONVENTIONS",
    "NORMALIZATIONS",
    "SphericalHarmonics",
    "convert_sh",
    "real_spherical_harmonics",
    "real_spherical_harmonics_from_angles",
    "spherical_harmonics",
]

NORMALIZATIONS = ("integral", "component", "norm")
CONVENTIONS = ("e3nn", "sphericart", "scipy", "dig")

# torch.nn.functional.normalize's eps: normalize=True divides by max(|x|, eps) as e3nn does.
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


def _evaluate(
    ls: Sequence[int],
    v: torch.Tensor,
    normalize: bool,
    normalization: str,
    e3nn_axes: bool,
) -> torch.Tensor:
    """Shared body of every public entry point: ``(..., 3)`` -> ``(..., sum(2l+1))``.

    Degrees <= 3 in e3nn's layout use e3nn's closed-form polynomials, the rest the recurrence;
    both are torch operations on any device, differentiable to any order. Without a graph to
    record (eager, no gradient) the closed forms write their columns in place; while a graph
    is recorded (:mod:`equibasis._runtime`) everything is functional.
    """
    if v.dtype in (torch.float16, torch.bfloat16):
        # computed in float32 and rounded once: torch's half-precision CPU kernels round
        # differently in their vector and scalar loops, so a row's value (up to 1e-3) would
        # depend on the batch it came in
        return _evaluate(ls, v.float(), normalize, normalization, e3nn_axes).to(v.dtype)
    if e3nn_axes and max(ls) <= _CLOSED_FORM_LMAX:
        return _closed_form_e3nn(ls, v, normalize, normalization)
    batch = v.shape[:-1]
    out = _evaluate_rows(ls, v.reshape(-1, 3), normalize, normalization, e3nn_axes)
    return out.reshape(*batch, out.shape[-1])


def _check_vectors(x: object) -> torch.Tensor:
    x = check_float_tensor("x", x)
    if x.is_complex():
        raise TypeError(f"x must be a real floating-point tensor, received {x.dtype}")
    return check_last_dim("x", x, 3)


def _parse_irreps(
    irreps_out: int | Sequence[int] | str | Irreps, irreps_in: object
) -> tuple[list[int], Irreps, Irreps]:
    """e3nn's SphericalHarmonics.__init__ rules: degrees, irreps_out and irreps_in."""
    if isinstance(irreps_out, str):
        irreps_out = Irreps(irreps_out)
    if isinstance(irreps_out, Irreps) and irreps_in is None:
        for _, (l, p) in irreps_out:
            if l % 2 == 1 and p == 1:
                irreps_in = Irreps("1e")
    if irreps_in is None:
        irreps_in = Irreps("1o")
    irreps_in = Irreps(irreps_in)
    if irreps_in not in (Irreps("1x1o"), Irreps("1x1e")):
        raise ValueError(
            "irreps_in for SphericalHarmonics must be either a vector (`1x1o`) or a "
            f"pseudovector (`1x1e`), not `{irreps_in}`"
        )
    input_p = irreps_in[0].ir.p
    if isinstance(irreps_out, Irreps):
        ls: list[int] = []
        for mul, (l, p) in irreps_out:
            if p != input_p**l:
                raise ValueError(
                    f"irreps_out `{irreps_out}` passed to SphericalHarmonics asked for an output "
                    f"of l = {l} with parity p = {p}, which is inconsistent with the input "
                    f"parity {input_p}; the output parity should have been p = {input_p**l}"
                )
            ls.extend([l] * mul)
    elif isinstance(irreps_out, int) and not isinstance(irreps_out, bool):
        ls = [check_int("l", irreps_out)]
    elif isinstance(irreps_out, Sequence):
        ls = [check_int("l", l) for l in irreps_out]
    else:
        raise TypeError(
            "l must be an int, a list of ints, an irreps string or an e3nn Irreps, "
            f"received {type(irreps_out).__name__}"
        )
    if not ls:
        raise ValueError("l must name at least one degree, received an empty list")
    out = Irreps([(1, (l, input_p**l)) for l in ls]).simplify()
    return ls, out, irreps_in


def spherical_harmonics(
    l: int | Sequence[int] | str | Irreps,
    x: torch.Tensor,
    normalize: bool = True,
    normalization: str = "integral",
) -> torch.Tensor:
    r"""Real spherical harmonics in e3nn's convention, for any degree.

    Same contract and output as :func:`e3nn.o3.spherical_harmonics` (which stops at l = 12):

    .. math::

        Y^l_{\text{e3nn}}(v) = c_l\, Y^l_{\text{std}}(v_z, v_x, v_y),

    i.e. the standard real harmonics (Wikipedia, :func:`real_spherical_harmonics`) of the
    cyclically permuted vector, so e3nn's polar axis is ``y``; rows of each degree are
    m = -l..l of that standard convention. :math:`c_l` is 1 (``"integral"``:
    :math:`\int_{S^2} Y_m^2 = 1`), :math:`\sqrt{4\pi}` (``"component"``:
    :math:`\|Y^l\|^2 = 2l+1`) or :math:`\sqrt{4\pi/(2l+1)}` (``"norm"``: :math:`\|Y^l\| = 1`).
    Equivariant: :math:`Y^l(Rv) = D^l(R) Y^l(v)` with e3nn's ``Irrep.D_from_matrix``.

    With ``normalize=True`` the input is divided by ``max(|v|, 1e-12)`` exactly as e3nn does;
    the zero vector gives 0 for l >= 1 (and the constant for l = 0), and its gradient is
    defined as 0 (e3nn's is about 1/eps there). With ``normalize=False`` the output is the
    homogeneous polynomial :math:`|v|^l Y^l(\hat v)`.

    Args:
        l: Degree(s): an int, a list of ints (any order, repeats allowed), or irreps
            (string or :class:`e3nn.o3.Irreps`) whose parities follow e3nn's rules
            (``p = (-1)^l`` for vectors, ``p = 1`` for pseudovectors).
        x: Vectors, shape ``(..., 3)``, float32 or float64, any device; any length unit.
        normalize: Project ``x`` on the unit sphere first.
        normalization: ``"integral"``, ``"component"`` or ``"norm"`` (e3nn's names).

    Returns:
        Shape ``(..., sum(2l+1))``, the degrees in the order given, with the dtype and device
        of ``x``.

    Raises:
        TypeError: If ``x`` is not a real floating tensor or ``l`` has a bad type.
        ValueError: If ``x`` is not ``(..., 3)``, a degree is negative, the irreps parities
            are inconsistent, or ``normalization`` is unknown.

    Example:
        >>> y = spherical_harmonics([0, 1, 2], torch.tensor([[0.0, 2.0, 0.0]]))
        >>> y.shape
        torch.Size([1, 9])
        >>> bool(torch.isclose(y[0, 6], torch.tensor(math.sqrt(5 / math.pi) / 2)))
        True
        >>> spherical_harmonics(41, torch.randn(4, 3)).shape
        torch.Size([4, 83])

    References:
        e3nn ``o3.spherical_harmonics`` (layout, normalisations); sphericart
        (Bigi et al., J. Chem. Phys. 159, 064802 (2023)) for the recurrence.
    """
    x = _check_vectors(x)
    check_choice("normalization", normalization, NORMALIZATIONS)
    return _evaluate(_degrees(l), x, bool(normalize), normalization, e3nn_axes=True)


def _degrees(l: object) -> list[int]:
    """The degrees named by ``l``; plain ints skip building e3nn Irreps (~20 us a call)."""
    if isinstance(l, (list, tuple)) and l and all(type(d) is int and d >= 0 for d in l):
        return list(l)
    if type(l) is int and l >= 0:
        return [l]
    return _parse_irreps(l, None)[0]


class SphericalHarmonics(Deployable):
    """Module form of :func:`spherical_harmonics`, a drop-in for e3nn.o3.SphericalHarmonics.

    Args:
        irreps_out: Degrees: int, list of ints, irreps string or :class:`e3nn.o3.Irreps`.
        normalize: Project the input on the unit sphere first.
        normalization: ``"integral"``, ``"component"`` or ``"norm"``.
        irreps_in: ``"1o"`` (vectors, default) or ``"1e"`` (pseudovectors); when omitted and
            ``irreps_out`` has an odd degree with even parity, ``"1e"`` is inferred (as e3nn).

    Attributes:
        irreps_out: The output irreps (simplified, as e3nn).
        irreps_in: ``1x1o`` or ``1x1e``.

    Raises:
        ValueError: As e3nn: irreps_in not a (pseudo)vector, or an output parity inconsistent
            with the input parity; also an unknown normalization or a negative degree.

    Example:
        >>> sh = SphericalHarmonics("0e + 1o + 2e", normalize=True)
        >>> sh.irreps_out
        1x0e+1x1o+1x2e
        >>> sh(torch.randn(5, 3)).shape
        torch.Size([5, 9])
    """

    def __init__(
        self,
        irreps_out: int | Sequence[int] | str | Irreps,
        normalize: bool = True,
        normalization: str = "integral",
        irreps_in: str | Irreps | None = None,
    ) -> None:
        super().__init__()
        check_choice("normalization", normalization, NORMALIZATIONS)
        ls, out, irreps_in = _parse_irreps(irreps_out, irreps_in)
        self.normalize = bool(normalize)
        self.normalization = normalization
        self.irreps_in = irreps_in
        self.irreps_out = out
        self._ls = ls

    def example_inputs(self, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Random vectors ``(N, 3)``."""
        return (self._vectors(self._generator(seed), 40 + 13 * seed, 2.0),)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Harmonics of ``x`` (..., 3) -> (..., irreps_out.dim)."""
        x = _check_vectors(x)
        return _evaluate(self._ls, x, self.normalize, self.normalization, e3nn_axes=True)

    def extra_repr(self) -> str:
        """Show the irreps and options."""
        return (
            f"{self.irreps_out}, normalize={self.normalize}, "
            f"normalization={self.normalization!r}, irreps_in={self.irreps_in}"
        )


def real_spherical_harmonics(lmax: int, x: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    r"""Standard real spherical harmonics (Wikipedia / sphericart), degrees 0..lmax.

    .. math::

        Y_{lm} = \begin{cases}
            \sqrt2\,(-1)^m\,\operatorname{Im} Y_l^{|m|} & m < 0\\
            Y_l^0 & m = 0\\
            \sqrt2\,(-1)^m\,\operatorname{Re} Y_l^m & m > 0
        \end{cases}

    with :math:`Y_l^m` the complex harmonics with the Condon-Shortley phase (scipy's), polar
    axis z, azimuth from x towards y. Orthonormal on the sphere ("integral"). Positive for
    m = l and m = -l near the +x/+y axes: :math:`Y_{1,-1}, Y_{1,0}, Y_{1,1} =
    \sqrt{3/4\pi}\,(y, z, x)`.

    Args:
        lmax: Highest degree (>= 0), any size.
        x: Vectors, shape ``(..., 3)`` as (x, y, z), float32 or float64, any device.
        normalize: Project on the unit sphere first (the zero vector gives 0 for l >= 1 with
            a zero gradient); ``False`` gives the solid harmonics :math:`|x|^l Y_{lm}(\hat x)`.
            For vectors already of unit length both give the same values.

    Returns:
        Shape ``(..., (lmax + 1)**2)``, column ``l*l + l + m`` holds :math:`Y_{lm}`.

    Raises:
        TypeError: If ``x`` is not a real floating tensor or ``lmax`` not an int.
        ValueError: If ``lmax < 0`` or ``x`` is not ``(..., 3)``.

    Example:
        >>> y = real_spherical_harmonics(1, torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64))
        >>> [round(v, 6) for v in y[0].tolist()]
        [0.282095, 0.0, 0.0, 0.488603]

    References:
        https://en.wikipedia.org/wiki/Table_of_spherical_harmonics#Real_spherical_harmonics;
        sphericart ``SphericalHarmonics(l_max).compute``.
    """
    lmax = check_int("lmax", lmax)
    x = _check_vectors(x)
    return _evaluate(range(lmax + 1), x, bool(normalize), "integral", e3nn_axes=False)


# ---------------------------------------------------------------------------------------------
# convention converters
# ---------------------------------------------------------------------------------------------
def _lm_pairs(lmax: int) -> list[tuple[int, int]]:
    return [(l, m) for l in range(lmax + 1) for m in range(-l, l + 1)]


@functools.lru_cache(maxsize=32)
def _e3nn_from_standard(lmax: int) -> tuple[np.ndarray, ...]:
    """Orthogonal ``D_l`` with ``e3nn_l(v) = D_l @ standard_l(v)`` for the same vector v.

    ``e3nn_l(v) = standard_l(P v)`` with ``P v = (v_z, v_x, v_y)`` a rotation, so ``D_l`` is
    the Wigner matrix of P in the standard basis:
    ``D_l[i, j] = integral over S^2 of standard_l(P v)[i] standard_l(v)[j]``, computed by a
    Gauss-Legendre (lmax + 1 nodes) x uniform (2 lmax + 2 nodes) product rule, exact for
    polynomials of degree <= 2 lmax + 1 (float64 rounding only).
    """
    nodes, weights = np.polynomial.legendre.leggauss(lmax + 1)
    nphi = 2 * lmax + 2
    phi = 2.0 * np.pi * np.arange(nphi) / nphi
    ct = np.repeat(nodes, nphi)
    st = np.sqrt(1.0 - ct * ct)
    ph = np.tile(phi, lmax + 1)
    w = torch.from_numpy(np.repeat(weights, nphi) * (2.0 * np.pi / nphi))
    v = torch.from_numpy(np.stack([st * np.cos(ph), st * np.sin(ph), ct], axis=-1))
    std = real_spherical_harmonics(lmax, v, normalize=False)
    rot = real_spherical_harmonics(lmax, v[:, [2, 0, 1]], normalize=False)
    mats = []
    for l in range(lmax + 1):
        sl = slice(l * l, (l + 1) * (l + 1))
        mats.append(((rot[:, sl] * w[:, None]).T @ std[:, sl]).numpy())
    return tuple(mats)


@functools.lru_cache(maxsize=32)
def _dig_tables(lmax: int) -> tuple[np.ndarray, np.ndarray]:
    """DIG column j of degree l holds ``sign[j] * standard[perm[j]]`` (global indices)."""
    perm, sign = [], []
    for l in range(lmax + 1):
        for m in [0, *range(1, l + 1), *range(-l, 0)]:
            perm.append(l * l + l + m)
            sign.append(-1.0 if m % 2 else 1.0)  # Condon-Shortley phase (-1)^m kept by DIG
    return np.array(perm), np.array(sign)


@functools.lru_cache(maxsize=32)
def _scipy_tables(lmax: int) -> tuple[np.ndarray, ...]:
    """Index/coefficient tables between standard real and scipy complex harmonics.

    complex -> real: ``real[k] = coef[k] * [Re | Im][index[k]]`` with the sqrt(2)(-1)^m formula;
    real -> complex: ``Re[k] = cre[k] * real[ire[k]]``, ``Im[k] = cim[k] * real[iim[k]]``.
    """
    dim = (lmax + 1) ** 2
    s = math.sqrt(2.0)
    index, coef, ire, cre, iim, cim = [], [], [], [], [], []
    for l, m in _lm_pairs(lmax):
        k0 = l * l + l
        sign = -1.0 if abs(m) % 2 else 1.0
        if m > 0:
            index.append(k0 + m)
            coef.append(s * sign)
            ire.append(k0 + m)
            cre.append(sign / s)
            iim.append(k0 - m)
            cim.append(sign / s)
        elif m < 0:
            index.append(dim + k0 - m)  # Im of Y_l^{|m|}
            coef.append(s * sign)
            ire.append(k0 - m)
            cre.append(1.0 / s)
            iim.append(k0 + m)
            cim.append(-1.0 / s)
        else:
            index.append(k0)
            coef.append(1.0)
            ire.append(k0)
            cre.append(1.0)
            iim.append(k0)
            cim.append(0.0)
    return tuple(np.array(a) for a in (index, coef, ire, cre, iim, cim))


def _const(a: np.ndarray, like: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    return torch.as_tensor(a, dtype=dtype or like.dtype, device=like.device)


def _to_standard(values: torch.Tensor, lmax: int, src: str) -> torch.Tensor:
    if src == "sphericart":
        return values
    if src == "e3nn":
        blocks = []
        for l, d in enumerate(_e3nn_from_standard(lmax)):
            blocks.append(values[..., l * l : (l + 1) * (l + 1)] @ _const(d, values))
        return torch.cat(blocks, dim=-1)
    if src == "dig":
        perm, sign = _dig_tables(lmax)
        inverse = np.argsort(perm)
        return values[..., _const(inverse, values, torch.long)] * _const(sign[inverse], values)
    # scipy: complex -> real by sqrt(2) (-1)^m Re / Im
    index, coef, *_ = _scipy_tables(lmax)
    parts = torch.cat([values.real, values.imag], dim=-1)
    return parts[..., _const(index, parts, torch.long)] * _const(coef, parts)


def _from_standard(values: torch.Tensor, lmax: int, dst: str) -> torch.Tensor:
    if dst == "sphericart":
        return values
    if dst == "e3nn":
        blocks = []
        for l, d in enumerate(_e3nn_from_standard(lmax)):
            blocks.append(values[..., l * l : (l + 1) * (l + 1)] @ _const(d, values).T)
        return torch.cat(blocks, dim=-1)
    if dst == "dig":
        perm, sign = _dig_tables(lmax)
        return values[..., _const(perm, values, torch.long)] * _const(sign, values)
    _, _, ire, cre, iim, cim = _scipy_tables(lmax)
    re = values[..., _const(ire, values, torch.long)] * _const(cre, values)
    im = values[..., _const(iim, values, torch.long)] * _const(cim, values)
    return torch.complex(re, im)


def _angular_harmonics(
    num_spherical: int,
    theta: torch.Tensor,
    phi: torch.Tensor,
    columns: list[tuple[int, float]] | None = None,
) -> torch.Tensor:
    r"""Real ``Y_lm(theta, phi)`` from the polar angles, shape ``(T, F)``.

    Column ``f`` holds ``sign * Y[:, index]`` for ``columns[f] = (index, sign)``, ``index =
    l*l + l + m`` in the standard (sphericart / e3nn, no Condon-Shortley phase) convention;
    ``None`` lists all ``L * L`` in that order. Computed with the fully normalised
    associated Legendre recurrences in :math:`z = \cos\theta, s = \sin\theta` and
    :math:`\cos m\varphi, \sin m\varphi` by angle addition: polynomials in ``(s, z)`` and
    the trigonometric functions, so finite with finite gradients at the poles. The columns
    are stacked row by row (one contiguous copy) and returned transposed.
    """
    if columns is None:
        columns = [(index, 1.0) for index in range(num_spherical * num_spherical)]
    slot = {index: (f, sign) for f, (index, sign) in enumerate(columns)}
    z, s = torch.cos(theta), torch.sin(theta)
    cos_m, sin_m = [torch.ones_like(phi)], [torch.zeros_like(phi)]
    if num_spherical > 1:
        cos_m.append(torch.cos(phi))
        sin_m.append(torch.sin(phi))
    for m in range(2, num_spherical):
        cos_m.append(cos_m[m - 1] * cos_m[1] - sin_m[m - 1] * sin_m[1])
        sin_m.append(sin_m[m - 1] * cos_m[1] + cos_m[m - 1] * sin_m[1])
    # without a graph to record, each column is written straight into its row of one buffer
    # (no stacking pass over the output); with one, the rows are stacked at the end
    buf = None
    grad = torch.is_grad_enabled() and (theta.requires_grad or phi.requires_grad)
    if not grad and not recording_graph():
        buf = theta.new_empty((len(columns), theta.shape[0]))
    out: list[torch.Tensor | None] = [None] * len(columns)
    diag = torch.full_like(theta, 1.0 / math.sqrt(4.0 * math.pi))  # Q_mm, Q_00 = Y_00
    for m in range(num_spherical):
        if m > 0:
            diag = (diag * s) * math.sqrt((2 * m + 1) / (2 * m))
        before, q = diag, diag  # Q_{l-2,m}, Q_{l-1,m} -> Q_lm
        for l in range(m, num_spherical):
            if l == m + 1:
                before, q = q, (z * q) * math.sqrt(2 * m + 3)
            elif l > m + 1:
                a = math.sqrt((4 * l * l - 1) / (l * l - m * m))
                b = math.sqrt(((l - 1) ** 2 - m * m) / (4 * (l - 1) ** 2 - 1))
                before, q = q, (z * q - b * before) * a
            centre = l * l + l
            if m == 0:
                if centre in slot:
                    f, sign = slot[centre]
                    if buf is not None:
                        torch.mul(q, sign, out=buf[f])
                    else:
                        out[f] = q if sign == 1.0 else q * sign
                continue
            for index, trig in ((centre + m, cos_m[m]), (centre - m, sin_m[m])):
                if index in slot:
                    f, sign = slot[index]
                    if buf is not None:
                        torch.mul(q, math.sqrt(2.0) * sign, out=buf[f]).mul_(trig)
                    else:
                        out[f] = trig * (q * (math.sqrt(2.0) * sign))
    return buf.T if buf is not None else torch.stack(out, dim=0).T


def real_spherical_harmonics_from_angles(
    lmax: int, theta: torch.Tensor, phi: torch.Tensor
) -> torch.Tensor:
    r"""Standard real spherical harmonics of the polar angles, degrees 0..lmax.

    The same functions as :func:`real_spherical_harmonics` of the unit vector
    :math:`(\sin\theta\cos\varphi, \sin\theta\sin\varphi, \cos\theta)`, computed from the
    angles directly: the fully normalised associated Legendre recurrence in
    :math:`z = \cos\theta`, :math:`s = \sin\theta`, times :math:`\cos m\varphi`,
    :math:`\sin m\varphi` by angle addition. Polar bases (SphereNet, ComENet) take angles as
    input; this avoids building vectors and runs the recurrence in the input's own precision.
    Polynomials in :math:`(s, z)` and trigonometric functions, so values and gradients are
    finite at the poles.

    Args:
        lmax: Highest degree (>= 0).
        theta: Polar angle from +z in radians, shape ``(...)``.
        phi: Azimuth in radians, same shape as ``theta``.

    Returns:
        Shape ``(..., (lmax + 1)**2)``, column ``l*l + l + m`` (m = -l..l), integral
        normalisation, no Condon-Shortley phase (as sphericart); dtype and device of ``theta``.

    Raises:
        TypeError: If ``lmax`` is not an int or an angle is not a floating-point tensor.
        ValueError: If ``lmax < 0`` or the shapes of ``theta`` and ``phi`` differ.

    Example:
        >>> theta, phi = torch.tensor([0.7]), torch.tensor([0.3])
        >>> y = real_spherical_harmonics_from_angles(2, theta, phi)
        >>> v = torch.stack([theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()], -1)
        >>> torch.allclose(y, real_spherical_harmonics(2, v), atol=1e-6)
        True
    """
    lmax = check_int("lmax", lmax, 0)
    check_float_tensor("theta", theta)
    check_float_tensor("phi", phi)
    if theta.shape != phi.shape:
        raise ValueError(
            f"theta and phi must have the same shape, received {tuple(theta.shape)} "
            f"and {tuple(phi.shape)}"
        )
    flat = _angular_harmonics(lmax + 1, theta.reshape(-1), phi.reshape(-1).to(theta.dtype))
    return flat.reshape(*theta.shape, (lmax + 1) ** 2)


def convert_sh(values: torch.Tensor, lmax: int, src: str, dst: str) -> torch.Tensor:
    r"""Convert harmonics of the same vectors from one convention to another.

    Conventions (all orthonormal, "integral"; ``docs/conventions.md`` has the details):

    * ``"sphericart"``: standard real :math:`Y_{lm}` (Wikipedia), x-y-z axes, polar axis z,
      column ``l*l + l + m``, m = -l..l; see :func:`real_spherical_harmonics`.
    * ``"e3nn"``: :func:`spherical_harmonics` with ``normalization="integral"``; polar axis y.
      For the same vector v, ``e3nn_l(v) = D_l standard_l(v)`` with ``D_l`` the (orthogonal,
      dense) Wigner matrix of the axis permutation :math:`v \mapsto (v_z, v_x, v_y)`.
    * ``"scipy"``: complex :math:`Y_l^m` = ``scipy.special.sph_harm_y(l, m, theta, phi)``
      (Condon-Shortley phase), column ``l*l + l + m``, complex dtype.
      Real from complex: :math:`\sqrt2 (-1)^m \operatorname{Re} Y_l^m` (m > 0),
      :math:`\sqrt2 (-1)^m \operatorname{Im} Y_l^{|m|}` (m < 0); complex from real:
      :math:`Y_l^{m} = (-1)^m (Y_{l,m} + i Y_{l,-m})/\sqrt2`,
      :math:`Y_l^{-m} = (Y_{l,m} - i Y_{l,-m})/\sqrt2`.
    * ``"dig"``: DIG/PyG ``real_sph_harm(..., zero_m_only=False)`` as DIG SphereNet's
      ``torsion_emb`` lists it: per degree m = 0, 1..l, -l..-1, each entry
      :math:`(-1)^m Y_{lm}` (Condon-Shortley phase kept).

    Every pair round-trips to rounding. ``"scipy"`` input must be the expansion of a real
    function (:math:`Y_l^{-m} = (-1)^m \overline{Y_l^m}`, true of harmonics values): only the
    m >= 0 columns are read.

    Args:
        values: Shape ``(..., (lmax + 1)**2)``; complex for ``src="scipy"``, real otherwise.
        lmax: Highest degree in ``values``.
        src: Convention of ``values``: one of ``"e3nn"``, ``"sphericart"``, ``"scipy"``,
            ``"dig"``.
        dst: Convention of the result (same choices).

    Returns:
        Shape ``(..., (lmax + 1)**2)``; complex (complex64/complex128 matching the real
        precision) for ``dst="scipy"``, real otherwise; a new tensor.

    Raises:
        ValueError: If a convention is unknown or the last dimension is not (lmax + 1)**2.
        TypeError: If ``values`` is not a tensor of the kind ``src`` needs.

    Example:
        >>> v = torch.randn(4, 3, dtype=torch.float64)
        >>> ours = real_spherical_harmonics(3, v)
        >>> bool(torch.allclose(convert_sh(ours, 3, "sphericart", "e3nn"),
        ...                     spherical_harmonics(range(4), v)))
        True
    """
    lmax = check_int("lmax", lmax)
    check_choice("src", src, CONVENTIONS)
    check_choice("dst", dst, CONVENTIONS)
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"values must be a torch.Tensor, received {type(values).__name__}")
    if src == "scipy":
        if not values.is_complex():
            raise TypeError(f"values must be complex for src='scipy', received {values.dtype}")
    else:
        values = check_float_tensor("values", values)
        if values.is_complex():
            raise TypeError(f"values must be real for src={src!r}, received {values.dtype}")
    check_last_dim("values", values, (lmax + 1) ** 2)
    if src == dst:
        return values.clone()
    return _from_standard(_to_standard(values, lmax, src), lmax, dst)
