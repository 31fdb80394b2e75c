r"""Polar-coordinate bases: DimeNet's angle basis (m = 0) and the torsion bases (all m).

A triplet ``k -> j -> i`` gives a distance ``d``, an angle and (SphereNet, ComENet) a torsion.
The bases are products of a radial spherical Bessel function and a spherical harmonic,

.. math:: f_{lmn}(d, \theta, \varphi) = N_{ln}\, j_l\!\left(z_{ln} \frac{d}{c}\right)
          Y_{lm}(\theta, \varphi)\ [\times\ \text{envelope}],

with :math:`z_{ln}` the n-th positive root of :math:`j_l` and :math:`c` the cutoff: the
spherical Fourier-Bessel basis of the ball of radius ``c``. DIG, PyG, the official DimeNet code,
ComENet and the DimeNet paper each use a slightly different member of this family; ``variant=``
selects one, and each variant reproduces its library column for column (docs/polar.md has the
table of differences).

How it is computed. DIG and PyG build every basis function symbolically with sympy and loop
over ~50 lambdified functions per call; their closed forms of :math:`j_l` also cancel
catastrophically at small ``d`` in float32. Here, at construction, each radial function
:math:`x \mapsto N_{ln} j_l(z_{ln} x)` (times the envelope where the variant has one) is
expanded in Chebyshev polynomials on :math:`x = d/c \in [0, 1]` from exact values
(:func:`equibasis.special.spherical_jn` at Chebyshev nodes), each function's series cut
after its last coefficient above 1e-13 of the largest of all (at most 38 terms, 29 on average,
for ``num_spherical=7, num_radial=6`` with PyG's envelope; float32 input uses a cut at 3e-8, at
most 28 terms and 21 on average: its rounding error, not the cut, sets its accuracy). The
forward pass is one
Chebyshev recurrence per distance and one matrix product for all
``num_spherical * num_radial`` functions: accurate to ~1e-13 in float64 and ~6e-7 of each
function's peak in float32 at every ``x`` (no cancellation near 0), with exact gradients of
the expansion (the backward pass is the derivative series, differentiable again). Distances
beyond the cutoff give zero for variants with an envelope and are evaluated exactly (with
``spherical_jn``) for those without one. Angular parts use
:func:`equibasis.special.legendre` (m = 0) and, for all m, the normalised associated
Legendre recurrences in the polar angles, computed straight in each library's order and
signs. The torsion product (~300 values per triplet) is written once into its output.

Two paths, one formula (:mod:`equibasis._runtime`): eagerly, the series is an autograd
Function whose backward is the derivative series, rare rows (beyond the cutoff) are patched
alone and products are scaled in place; while a graph is recorded (``torch.jit.trace``,
``torch.compile``, ``torch.export``) the same series, pole and masks are plain operations
selected by ``where``, so the graph is right on every input and autograd differentiates it.
The two agree to a few ulp (same coefficients; the matrix products may sum in another order).
"""

import math
from collections.abc import Callable

import torch

from equibasis._runtime import recording_graph, static, values_known
from equibasis._tracing import PolarInput
from equibasis._validation import (
    check_choice,
    check_float_tensor,
    check_int,
    check_positive,
    check_same_device,
)
from equibasis.cutoff import dimenet_smooth_part
from equibasis.harmonics import _angular_harmonics, convert_sh
from equibasis.special import legendre, spherical_jn, spherical_jn_zeros

__all__ = [
    "ANGLE_VARIANTS",
    "TORSION_VARIANTS",
    "AngleBasis",
    "ComENetAngleBasis",
    "ComENetTorsionBasis",
    "TorsionBasis",
]

ANGLE_VARIANTS = ("paper", "pyg", "dig")
TORSION_VARIANTS = ("consistent", "dig")

# The Chebyshev series is cut where all later coefficients are below this (relative to the
# largest); the float64 node values carry ~1e-14 of noise, so the dropped tail is noise.
_CHEBYSHEV_TOLERANCE = 1e-13
_FLOAT32_TOLERANCE = 3e-8

# --------------------------------------------------------------------------------------------
# radial part: N_ln j_l(z_ln x) [x envelope] on x = d / c in [0, 1], as a Chebyshev expansion
# --------------------------------------------------------------------------------------------


def _envelope(x: torch.Tensor, exponent: int) -> torch.Tensor:
    """DimeNet's ``u(x) = 1 + a x^p + b x^(p+1) + c x^(p+2)`` (``x u`` of PyG's ``Envelope``)."""
    return dimenet_smooth_part(x, exponent + 1, zero_beyond_cutoff=False)


def _normalization(zeros: torch.Tensor, kind: str, cutoff: float) -> torch.Tensor:
    r"""``sqrt(2 / j_{l+1}(z_ln)^2)`` ("dimenet") or that over ``c^(3/2)`` ("orthonormal")."""
    rows = [spherical_jn(l + 1, zeros[l]) for l in range(zeros.shape[0])]
    norm = math.sqrt(2.0) / torch.stack(rows).abs()
    if kind == "orthonormal":
        norm = norm / cutoff**1.5
    return norm


def _chebyshev_fit(
    values_at: Callable[[torch.Tensor], torch.Tensor], bandwidth: float
) -> torch.Tensor:
    """Chebyshev coefficients (K, F) on x in [0, 1] of F functions, ``values_at(x) -> (F, M)``.

    ``bandwidth`` bounds the largest frequency (in x) of the functions; the number of nodes
    covers it with room for the super-exponential decay of the coefficients.
    """
    half = bandwidth / 2.0  # frequency in u = 2x - 1
    nodes = math.ceil(half + 8.0 * (half + 1.0) ** (1.0 / 3.0) + 30.0)
    theta = (torch.arange(nodes, dtype=torch.float64) + 0.5) * (math.pi / nodes)
    x = (torch.cos(theta) + 1.0) / 2.0
    values = values_at(x)  # (F, M)
    k = torch.arange(nodes, dtype=torch.float64)
    basis = torch.cos(k[:, None] * theta[None, :])  # (K, M)
    coefficients = (2.0 / nodes) * basis @ values.T  # (K, F)
    coefficients[0] /= 2.0
    return _cut_series(coefficients, _CHEBYSHEV_TOLERANCE)


def _cut_series(coefficients: torch.Tensor, tolerance: float) -> torch.Tensor:
    """Chebyshev coefficients ``(K, F)`` without the terms below ``tolerance`` x the largest.

    Each column keeps the terms up to its last one at or above that bound and its tail is set
    to zero (the CPU kernel skips it: the low-order functions need fewer terms, 21 on average
    of 28 for float32 at (7, 6)); the rows stop at the longest column (at least 2).
    """
    magnitude = coefficients.abs()
    above = magnitude >= tolerance * magnitude.max()
    order = torch.arange(1, coefficients.shape[0] + 1, dtype=torch.long)
    length = (above * order[:, None]).amax(dim=0)  # per column: one past its last kept term
    rows = max(int(length.max()), 2)
    kept = order[:rows, None] <= length[None, :]
    return torch.where(kept, coefficients[:rows], 0.0).contiguous()


def _chebyshev_rows(u: torch.Tensor, count: int, extra: int = 0) -> torch.Tensor:
    """``T_0(u) .. T_{count-1}(u)`` as rows of a ``(count + extra, E)`` tensor.

    Three-term recurrence; the ``extra`` rows are left for the caller to fill.
    """
    rows = u.new_empty((count + extra, u.shape[0]))
    rows[0] = 1.0
    if count > 1:
        rows[1] = u
    twice = 2.0 * u
    for k in range(2, count):
        torch.mul(twice, rows[k - 1], out=rows[k])
        rows[k] -= rows[k - 2]
    return rows


def _derivative_coefficients(coefficients: torch.Tensor) -> torch.Tensor:
    """Coefficients ``(max(K-1, 1), F)`` of ``d/du sum_k c_k T_k(u)`` (``c_0`` not halved)."""
    count = coefficients.shape[0]
    if count == 1:
        return torch.zeros_like(coefficients)
    d = coefficients.new_zeros(count + 1, coefficients.shape[1])
    for k in range(count - 1, 0, -1):
        d[k - 1] = d[k + 1] + (2 * k) * coefficients[k]
    d[0] = d[0] / 2.0
    return d[: count - 1]


@torch.library.custom_op("equibasis::chebyshev_series", mutates_args=())
def chebyshev_series(u: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    """``sum_k c_k T_k(u)`` for F series at once: ``(E,), (K, F) -> (E, F)``; a torch operator.

    The recurrence written row by row into one buffer, then one matrix product. Registered as
    an operator (with a fake implementation and its derivative) so that trace, compile and
    export see one opaque, correct node: written as plain operations, inductor inlined the
    three-term recurrence into itself and took minutes to compile 38 terms. The derivative of
    a Chebyshev series is another one, so the backward pass is this same operator with the
    derivative coefficients: differentiable to any order.
    """
    return torch.mm(_chebyshev_rows(u, coefficients.shape[0]).T, coefficients)


@chebyshev_series.register_fake
def _(u: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    return u.new_empty((u.shape[0], coefficients.shape[1]))


def _chebyshev_series_setup(ctx, inputs, output) -> None:
    ctx.save_for_backward(*inputs)


def _chebyshev_series_backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, None]:
    u, coefficients = ctx.saved_tensors
    if not ctx.needs_input_grad[0]:
        return None, None
    slope = chebyshev_series(u, _derivative_coefficients(coefficients.detach()))
    return (grad * slope).sum(dim=-1), None


chebyshev_series.register_autograd(
    _chebyshev_series_backward, setup_context=_chebyshev_series_setup
)


class _SphericalBesselRadial(torch.nn.Module):
    r"""``N_ln j_l(z_ln d / c)`` times an optional envelope, output ``(E, L * R)`` (l-major).

    ``envelope``: ``"none"`` (exact values beyond the cutoff), ``"paper"`` (``u(x)``, zero for
    ``x >= 1``) or ``"pyg"`` (``u(x) / x``, zero for ``x >= 1``, ``+inf`` at ``x = 0`` for l = 0).
    ``normalization``: ``"dimenet"`` = sqrt(2 / j_{l+1}^2), ``"orthonormal"`` = that / c^(3/2).
    """

    def __init__(
        self,
        num_spherical: int,
        num_radial: int,
        cutoff: float,
        normalization: str,
        envelope: str,
        envelope_exponent: int = 5,
    ) -> None:
        super().__init__()
        self.num_spherical = num_spherical
        self.num_radial = num_radial
        self.cutoff = cutoff
        self.envelope = envelope
        self.envelope_exponent = envelope_exponent
        zeros = spherical_jn_zeros(num_spherical, num_radial)
        norm = _normalization(zeros, normalization, cutoff)

        def values_at(x: torch.Tensor) -> torch.Tensor:
            rows = [spherical_jn(l, zeros[l, :, None] * x) for l in range(num_spherical)]
            f = torch.stack(rows) * norm[:, :, None]  # (L, R, M)
            if envelope == "paper":
                f = f * _envelope(x, envelope_exponent)
            elif envelope == "pyg":
                # u(x) j_l / x; for l = 0 the 1/x pole N_0n / x is split off (added in forward)
                f = f * _envelope(x, envelope_exponent) / x
                f[0] = f[0] - norm[0, :, None] / x
            return f.reshape(num_spherical * num_radial, -1)

        bandwidth = float(zeros.max()) + (envelope_exponent + 3 if envelope != "none" else 0)
        coefficients = _chebyshev_fit(values_at, bandwidth)
        self.register_buffer("coefficients", coefficients)
        # float32 input needs fewer terms: drop those below 3e-8 of the largest coefficient
        # (derived from the above, so not saved in the state_dict)
        float32 = _cut_series(coefficients, _FLOAT32_TOLERANCE)
        self.register_buffer("float32_coefficients", float32, persistent=False)
        self.register_buffer("zeros", zeros)
        self.register_buffer("norm", norm)

    def series_for(self, dtype: torch.dtype) -> torch.Tensor:
        """The Chebyshev coefficients ``(K, L * R)`` used for input of ``dtype``, in it."""
        series = self.coefficients if dtype == torch.float64 else self.float32_coefficients
        return series.to(dtype)

    def exact(self, x: torch.Tensor) -> torch.Tensor:
        """Direct evaluation with ``spherical_jn`` (slow; used beyond the cutoff only)."""
        zeros = self.zeros.to(x.dtype)
        norm = self.norm.to(x.dtype)
        rows = [spherical_jn(l, x[:, None] * zeros[l]) for l in range(self.num_spherical)]
        return (torch.stack(rows, dim=1) * norm).reshape(x.shape[0], norm.numel())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x = d / c`` of shape ``(E,)`` -> ``(E, L * R)``."""
        if not values_known(x):  # a graph is recorded, or meta / fake tensors
            return self._composed(x)
        coefficients = self.series_for(x.dtype)
        inside = x.clamp(0.0, 1.0)
        folded = self.envelope == "pyg" and not _records_grad(x)
        if folded:
            out = self._pyg_without_autograd(2.0 * inside - 1.0, x, coefficients)
        else:
            out = chebyshev_series(2.0 * inside - 1.0, coefficients)
        if self.envelope == "pyg" and not folded:
            # the split-off l = 0 pole N_0n / x, added in place (out is a fresh tensor)
            out[:, : self.num_radial] += self.norm[0].to(x.dtype) / x.unsqueeze(-1)
        beyond = x > 1.0 if self.envelope == "none" else x >= 1.0
        if bool(beyond.any()):  # rare: patch only those rows
            index = beyond.nonzero().squeeze(-1)
            if self.envelope == "none":
                out = out.index_put((index,), self.exact(x.index_select(0, index)))
            else:
                out = out.index_fill(0, index, 0.0)
        return out

    def _composed(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` with no data-dependent branch or in-place write (the graph path).

        The same series and pole; rows beyond the cutoff are selected by ``where`` (without an
        envelope the exact continuation is evaluated on every row, then selected).
        """
        coefficients = self.series_for(x.dtype)
        out = chebyshev_series(2.0 * x.clamp(0.0, 1.0) - 1.0, coefficients)
        if self.envelope == "pyg":
            pole = self.norm[0].to(x.dtype) / x.unsqueeze(-1)  # (E, R), +inf at x = 0
            out = out + torch.nn.functional.pad(pole, (0, out.shape[1] - self.num_radial))
        if self.envelope == "none":
            beyond = (x > 1.0).unsqueeze(-1)
            return torch.where(beyond, self.exact(torch.where(beyond[:, 0], x, 1.0)), out)
        return torch.where((x >= 1.0).unsqueeze(-1), 0.0, out)

    def _pyg_without_autograd(
        self, u: torch.Tensor, x: torch.Tensor, coefficients: torch.Tensor
    ) -> torch.Tensor:
        """Series plus the l = 0 pole ``N_0n / x`` in one matrix product (no autograd).

        The pole is one more row, ``1 / x`` (0 at ``x = 0``, where the l = 0 columns are then
        set to ``+inf``): no strided pass over the output to add it.
        """
        count, size = coefficients.shape
        rows = _chebyshev_rows(u, count, extra=1)
        zero = x == 0
        torch.reciprocal(x, out=rows[count]).masked_fill_(zero, 0.0)
        pole = coefficients.new_zeros(1, size)
        pole[0, : self.num_radial] = self.norm[0]
        out = torch.mm(rows.T, torch.cat([coefficients, pole]))
        if bool(zero.any()):
            out[:, : self.num_radial].masked_fill_(zero.unsqueeze(-1), math.inf)
        return out

    def extra_repr(self) -> str:
        return (
            f"num_spherical={self.num_spherical}, num_radial={self.num_radial}, "
            f"cutoff={self.cutoff}, envelope={self.envelope!r}, "
            f"chebyshev_terms={self.coefficients.shape[0]}"
        )


# --------------------------------------------------------------------------------------------
# shared checks and angular parts
# --------------------------------------------------------------------------------------------


def _check_args(num_spherical: int, num_radial: int, cutoff: float) -> tuple[int, int, float]:
    return (
        check_int("num_spherical", num_spherical, 1),
        check_int("num_radial", num_radial, 1),
        check_positive("cutoff", cutoff),
    )


def _working_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.float64 if x.dtype == torch.float64 else torch.float32


@static
def _check_inputs(
    dist: torch.Tensor, idx_kj: torch.Tensor | None, **angles: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Size]:
    """Validate; return the flat distances, the flat idx_kj and the batch shape of the output."""
    check_float_tensor("dist", dist)
    for name, value in angles.items():
        check_float_tensor(name, value)
        if value.dtype != dist.dtype:
            raise TypeError(f"{name} must have the dtype of dist ({dist.dtype}), got {value.dtype}")
    check_same_device(dist=dist, **angles)
    first_name, first = next(iter(angles.items()))
    for name, value in angles.items():
        if value.shape != first.shape:
            raise ValueError(
                f"{name} must have the shape of {first_name} {tuple(first.shape)}, "
                f"received {tuple(value.shape)}"
            )
    if values_known(dist) and dist.numel():
        low, high = torch.aminmax(dist)  # one pass; NaN propagates into both
        if not (bool(low >= 0) and bool(high < math.inf)):
            raise ValueError("dist must be finite and >= 0 (found NaN, inf or a negative distance)")
    if idx_kj is None:
        if dist.shape != first.shape:
            raise ValueError(
                f"dist must have the shape of {first_name} {tuple(first.shape)} when idx_kj is "
                f"None, received {tuple(dist.shape)}"
            )
        return dist.reshape(-1), None, first.shape
    if not isinstance(idx_kj, torch.Tensor) or idx_kj.dtype not in (torch.int32, torch.int64):
        raise TypeError("idx_kj must be an integer tensor of edge indices")
    if idx_kj.shape != first.shape or idx_kj.ndim != 1:
        raise ValueError(
            f"idx_kj must be 1-D with the shape of {first_name} {tuple(first.shape)}, "
            f"received {tuple(idx_kj.shape)}"
        )
    if dist.ndim != 1:
        raise ValueError(f"dist must be 1-D (one per edge) with idx_kj, got {tuple(dist.shape)}")
    check_same_device(dist=dist, idx_kj=idx_kj)
    if values_known(idx_kj) and idx_kj.numel():
        low, high = torch.aminmax(idx_kj)
        if int(low) < 0 or int(high) >= dist.shape[0]:
            raise IndexError(
                f"idx_kj must index dist: 0 <= idx_kj < {dist.shape[0]}, found values in "
                f"[{int(low)}, {int(high)}]"
            )
    return dist, idx_kj.long(), first.shape


def _zonal_harmonics(num_spherical: int, angle: torch.Tensor) -> torch.Tensor:
    r"""``Y_l^0(angle) = sqrt((2l+1)/4pi) P_l(cos angle)``, l = 0..L-1, shape ``(T, L)``."""
    scale = _zonal_scale(num_spherical, angle.dtype, angle.device)
    return legendre(num_spherical - 1, torch.cos(angle)) * scale


@static
def _zonal_scale(num_spherical: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``sqrt((2l + 1) / 4 pi)``, l = 0..L-1: the factor of ``Y_l^0`` over ``P_l``."""
    values = [math.sqrt((2 * l + 1) / (4.0 * math.pi)) for l in range(num_spherical)]
    return torch.tensor(values, dtype=dtype, device=device)


def _signed_permutation(num_spherical: int, convention: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``dig[:, f] = sign[f] * standard[:, perm[f]]`` from ``convert_sh`` on the identity."""
    size = num_spherical * num_spherical
    matrix = convert_sh(
        torch.eye(size, dtype=torch.float64), num_spherical - 1, "sphericart", convention
    )
    perm = matrix.abs().argmax(dim=0)
    sign = matrix[perm, torch.arange(size)]
    return perm, sign


def _comenet_permutation(num_spherical: int) -> torch.Tensor:
    """ComENet lists degree l as m = 0, 1..l, -l..-1 (standard signs)."""
    perm = []
    for l in range(num_spherical):
        perm += [l * l + l + m for m in [0, *range(1, l + 1), *range(-l, 0)]]
    return torch.tensor(perm)


def _scale_rows(radial: torch.Tensor, angular: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
    """``radial (T, L, R) * angular (T, L, 1)``, in place when no gradient is recorded.

    ``radial`` is always a fresh tensor here; writing into it avoids allocating (and first
    touching) a second output-sized buffer, which dominates the cost at 10^5+ triplets.
    """
    if _records_grad(*inputs) or recording_graph():
        return radial * angular.unsqueeze(-1)
    return radial.mul_(angular.unsqueeze(-1))


def _gathered_radial(
    radial: torch.nn.Module, x: torch.Tensor, idx_kj: torch.Tensor | None
) -> torch.Tensor:
    """``radial(x)[idx_kj]``, shape ``(T, L * R)``: per edge then gathered, or per triplet.

    With no more triplets than edges, gathering the distances and evaluating per triplet
    skips a pass over the output-sized gather (same values, row by row).
    """
    if idx_kj is None:
        return radial(x)
    if not recording_graph() and idx_kj.shape[0] <= x.shape[0]:
        return radial(x.index_select(0, idx_kj))
    return radial(x).index_select(0, idx_kj)


def _paired_degrees(num_spherical: int) -> torch.Tensor:
    """Degree l of each of the ``L * L`` harmonics listed degree by degree."""
    return torch.repeat_interleave(torch.arange(num_spherical), 2 * torch.arange(num_spherical) + 1)


def _records_grad(*inputs: torch.Tensor) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in inputs)


def _is_modulo(degree: torch.Tensor, num_degrees: int) -> bool:
    """Whether ``degree[f] = f mod L`` (DIG SphereNet's pairing) with ``L * L`` harmonics."""
    size = degree.shape[0]
    if size != num_degrees * num_degrees:
        return False
    return bool((degree == torch.arange(size, device=degree.device) % num_degrees).all())


class _DegreeProduct(torch.autograd.Function):
    """``out[t, f, n] = Y[t, f] * R[t, degree[f], n]``: ``(T, F), (T, L, R), (F,) -> (T, F, R)``.

    Both torsion layouts are this product: DIG SphereNet's ``degree[f] = f mod L``, the
    degree-paired ones ``degree[f] = l(f)``. The radial rows are gathered straight into the
    output and scaled in place: two passes over it and no second output-sized buffer (a
    broadcast multiply whose inner loop is the short last dim runs ~3x below memory speed).
    The backward pass works in blocks of rows that stay in cache, so it allocates nothing
    output-sized either; under ``create_graph`` it uses the plain differentiable formulas.
    """

    @staticmethod
    def forward(
        ctx, harmonics: torch.Tensor, radial: torch.Tensor, degree: torch.Tensor
    ) -> torch.Tensor:
        ctx.save_for_backward(harmonics, radial, degree)
        num, size, (num_degrees, num_radial) = harmonics.shape[0], degree.shape[0], radial.shape[1:]
        out = radial.new_empty((num, size, num_radial))
        if _is_modulo(degree, num_degrees):
            # DIG: harmonic (i, j) of the (L, L) grid meets radial degree j, so every block of
            # L harmonics takes the whole radial row: a broadcast copy with a long inner run
            # (~2x faster than gathering rows of R elements)
            rows = radial.reshape(num, 1, num_degrees * num_radial)
            out.view(num, -1, num_degrees * num_radial).copy_(rows.expand(num, -1, -1))
        else:
            torch.index_select(radial, 1, degree, out=out)
        return out.mul_(harmonics.unsqueeze(-1))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None, None]:
        harmonics, radial, degree = ctx.saved_tensors
        want_h, want_r = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if torch.is_grad_enabled():  # create_graph: differentiable formulas
            grad_h = (grad * radial.index_select(1, degree)).sum(-1) if want_h else None
            grad_r = None
            if want_r:
                product = grad * harmonics.unsqueeze(-1)
                grad_r = radial.new_zeros(radial.shape).index_add(1, degree, product)
            return grad_h, grad_r, None
        grad_h = harmonics.new_empty(harmonics.shape) if want_h else None
        grad_r = radial.new_empty(radial.shape) if want_r else None
        num, size, num_degrees, num_radial = grad.shape[0], grad.shape[1], *radial.shape[1:]
        modulo = _is_modulo(degree, num_degrees)
        ones = grad.new_ones(num_radial)
        rows = max(1, (1 << 21) // max(1, size * num_radial * grad.element_size()))
        for start in range(0, num, rows):
            block = slice(start, start + rows)
            g, r, h = grad[block].contiguous(), radial[block], harmonics[block]
            count = g.shape[0]
            if modulo:  # DIG: radial degree j of harmonic (i, j), broadcast over i
                product = g.view(count, -1, num_degrees * num_radial) * r.reshape(count, 1, -1)
            else:
                product = g * r.index_select(1, degree)
            if want_h:  # sum over the last dim as a matrix-vector product (inner size R)
                torch.mv(product.view(-1, num_radial), ones, out=grad_h[block].view(-1))
            if want_r:
                product = torch.mul(g, h.unsqueeze(-1), out=product.view(g.shape))
                if modulo:
                    view = product.view(count, -1, num_degrees, num_radial)
                    torch.sum(view, dim=1, out=grad_r[block])
                else:  # degree-paired: harmonics of degree l are the columns l*l..(l+1)^2-1
                    for l in range(num_degrees):
                        part = product[:, l * l : (l + 1) * (l + 1)]
                        torch.sum(part, dim=1, out=grad_r[block][:, l])
        return grad_h, grad_r, None


def _composed_angle(
    radial: "_SphericalBesselRadial",
    dist: torch.Tensor,
    angle: torch.Tensor,
    idx_kj: torch.Tensor | None,
) -> torch.Tensor:
    """The angle basis from torch operations (differentiable to any order, every device)."""
    values = _gathered_radial(radial, dist / radial.cutoff, idx_kj)
    angular = _zonal_harmonics(radial.num_spherical, angle)
    shape = (-1, radial.num_spherical, radial.num_radial)
    return _scale_rows(values.view(shape), angular, dist, angle).view(values.shape)


# --------------------------------------------------------------------------------------------
# public modules
# --------------------------------------------------------------------------------------------


class AngleBasis(PolarInput):
    r"""DimeNet / SphereNet angle basis: spherical Bessel times zonal harmonic (m = 0).

    .. math::

        \text{"paper"}:\quad a_{ln}(d, \alpha) &= \sqrt{\frac{2}{c^3 j_{l+1}(z_{ln})^2}}\;
            j_l\!\left(z_{ln}\tfrac{d}{c}\right) Y_l^0(\alpha)\; u\!\left(\tfrac{d}{c}\right)\\
        \text{"pyg"}:\quad a_{ln}(d, \alpha) &= \sqrt{\frac{2}{j_{l+1}(z_{ln})^2}}\;
            j_l\!\left(z_{ln}\tfrac{d}{c}\right) Y_l^0(\alpha)\;
            \frac{u(d/c)}{d/c}\\
        \text{"dig"}:\quad a_{ln}(d, \alpha) &= \sqrt{\frac{2}{j_{l+1}(z_{ln})^2}}\;
            j_l\!\left(z_{ln}\tfrac{d}{c}\right) Y_l^0(\alpha)

    with :math:`Y_l^0(\alpha) = \sqrt{(2l+1)/4\pi}\,P_l(\cos\alpha)`, :math:`z_{ln}` the n-th
    positive root of :math:`j_l`, and DimeNet's envelope
    :math:`u(x) = 1 - \frac{(p+1)(p+2)}{2} x^p + p(p+2) x^{p+1} - \frac{p(p+1)}{2} x^{p+2}`,
    ``p = envelope_exponent + 1`` (the code's ``envelope_exponent=5`` is the paper's p = 6).

    * ``"paper"`` is the DimeNet paper's formula: the basis orthonormal on the ball of radius
      ``c`` (the :math:`c^{-3/2}` makes it so in physical units) times the envelope
      :math:`u(d/c)`. It is finite at ``d = 0`` (:math:`u(0) = 1`, :math:`j_0(0) = 1`) and
      zero with two vanishing derivatives at and beyond the cutoff.
    * ``"pyg"`` is PyG's ``SphericalBasisLayer`` and the official DimeNet (TensorFlow) code: no
      :math:`c^{-3/2}`, and the envelope carries a factor :math:`1/x` (the code's ``Envelope``
      returns :math:`1/x + \ldots`, i.e. :math:`u(x)/x`). The l = 0 functions therefore diverge
      like :math:`c/d` at ``d = 0`` (``+inf`` there; the other degrees have their finite
      limits); zero for ``d >= c`` as in PyG.
    * ``"dig"`` is DIG SphereNet's ``angle_emb``: the code's normalisation and no envelope at
      all (DIG comments it out). ``j_l(z_ln) = 0`` makes it vanish at ``d = c``, but its slope
      does not; beyond the cutoff it continues as :math:`j_l` (evaluated exactly).

    The default is ``"paper"``: it is the published, smooth, everywhere-finite basis (finite
    values and gradients at every distance, twice continuously differentiable cutoff). Pass
    ``variant="pyg"`` or ``"dig"`` to get a library's numbers back, column for column.

    Which distance and angle to pass is the caller's (and the library's) choice: DIG SphereNet
    and DimeNet evaluate the radial part on the distance of the edge ``k -> j`` (``dist`` per
    edge and ``idx_kj`` per triplet); the angles of each library are in
    :mod:`equibasis.geometry`.

    Args:
        num_spherical: Number of degrees L (l = 0..L-1), >= 1. DimeNet/SphereNet use 7.
        num_radial: Number of roots R per degree (n = 1..R), >= 1; no upper limit (the peers
            stop at 64).
        cutoff: Cutoff radius ``c`` > 0, in the length unit of ``dist``.
        variant: ``"paper"`` (default), ``"pyg"`` or ``"dig"``; see above.
        envelope_exponent: DimeNet's ``envelope_exponent`` (p - 1) for ``"paper"`` and
            ``"pyg"``, >= 0; default 5.

    Shapes:
        ``forward(dist, angle, idx_kj=None)``:

        * without ``idx_kj``: ``dist`` and ``angle`` of one shape ``(...)``; returns
          ``(..., L * R)``;
        * with ``idx_kj``: ``dist`` of shape ``(E,)`` (per edge), ``angle`` and ``idx_kj`` of
          shape ``(T,)``; the radial part is computed per edge and gathered per triplet
          (``rbf[idx_kj]`` as PyG and DIG do); returns ``(T, L * R)``.

        Columns are l-major, n fastest (column ``l * R + n``), the order of DIG and PyG;
        dtype and device of ``dist`` (float32 or float64). Lengths in the unit of ``cutoff``,
        angles in radians.

    Raises:
        TypeError: On non-integer sizes, non-float inputs or mixed dtypes.
        ValueError: On sizes < 1, ``cutoff <= 0``, an unknown variant, mismatched shapes or a
            negative / non-finite distance.

    Example:
        >>> basis = AngleBasis(num_spherical=7, num_radial=6, cutoff=5.0, variant="pyg")
        >>> dist, angle = torch.tensor([1.0, 2.5]), torch.tensor([0.5, 2.0])
        >>> basis(dist, angle).shape
        torch.Size([2, 42])
        >>> basis(torch.tensor([6.0]), torch.tensor([1.0])).abs().max().item()  # beyond c
        0.0

    References:
        Gasteiger, Groß, Günnemann, "Directional Message Passing for Molecular Graphs",
        ICLR 2020, Sec. 4 (spherical Fourier-Bessel basis and envelope);
        PyG ``torch_geometric.nn.models.dimenet.SphericalBasisLayer``; DIG
        ``dig/threedgraph/method/spherenet/features.py`` (``angle_emb``).
    """

    def __init__(
        self,
        num_spherical: int = 7,
        num_radial: int = 6,
        cutoff: float = 5.0,
        variant: str = "paper",
        envelope_exponent: int = 5,
    ) -> None:
        super().__init__()
        num_spherical, num_radial, cutoff = _check_args(num_spherical, num_radial, cutoff)
        self.variant = check_choice("variant", variant, ANGLE_VARIANTS)
        self.envelope_exponent = check_int("envelope_exponent", envelope_exponent, 0)
        self.num_spherical, self.num_radial, self.cutoff = num_spherical, num_radial, cutoff
        normalization = "orthonormal" if variant == "paper" else "dimenet"
        envelope = {"paper": "paper", "pyg": "pyg", "dig": "none"}[variant]
        self.radial = _SphericalBesselRadial(
            num_spherical, num_radial, cutoff, normalization, envelope, envelope_exponent
        )

    def forward(
        self, dist: torch.Tensor, angle: torch.Tensor, idx_kj: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Evaluate the basis; see the class docstring for shapes."""
        flat, idx_kj, shape = _check_inputs(dist, idx_kj, angle=angle)
        dtype = _working_dtype(dist)
        flat, angle_flat = flat.to(dtype), angle.reshape(-1).to(dtype)
        out = _composed_angle(self.radial, flat, angle_flat, idx_kj)
        return out.reshape(*shape, self.num_spherical * self.num_radial).to(dist.dtype)

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f"num_spherical={self.num_spherical}, num_radial={self.num_radial}, "
            f"cutoff={self.cutoff}, variant={self.variant!r}"
        )


def _torsion_product(
    basis: torch.nn.Module,
    dist: torch.Tensor,
    theta: torch.Tensor,
    phi: torch.Tensor,
    idx_kj: torch.Tensor | None,
) -> torch.Tensor:
    """Shared forward of the torsion bases: radial part x harmonics, paired by ``basis.degree``.

    ``basis`` carries ``num_spherical``, ``num_radial``, ``cutoff``, ``radial``, ``columns``
    (which harmonics, in which order and sign) and ``degree`` (the radial degree of each one).
    """
    flat, idx_kj, shape = _check_inputs(dist, idx_kj, theta=theta, phi=phi)
    dtype = _working_dtype(dist)
    flat, theta, phi = flat.to(dtype), theta.reshape(-1).to(dtype), phi.reshape(-1).to(dtype)
    out = _composed_torsion(basis, flat, theta, phi, idx_kj)
    return out.reshape(*shape, out.shape[-1]).to(dist.dtype)


def _composed_torsion(
    basis: torch.nn.Module,
    dist: torch.Tensor,
    theta: torch.Tensor,
    phi: torch.Tensor,
    idx_kj: torch.Tensor | None,
) -> torch.Tensor:
    """The torsion basis ``(T, F * R)`` from the radial module, the harmonics and the product."""
    n, k = basis.num_spherical, basis.num_radial
    radial = _gathered_radial(basis.radial, dist / basis.cutoff, idx_kj)
    harmonics = _angular_harmonics(n, theta, phi, basis.columns)
    if not values_known(dist):  # plain operations: autograd differentiates a recorded graph
        out = harmonics.unsqueeze(-1) * radial.view(-1, n, k).index_select(1, basis.degree)
    else:
        out = _DegreeProduct.apply(harmonics, radial.view(-1, n, k), basis.degree)
    return out.reshape(out.shape[0], out.shape[1] * out.shape[2])


class TorsionBasis(PolarInput):
    r"""SphereNet torsion basis: spherical Bessel times real spherical harmonics, all m.

    .. math::

        \text{"consistent"}:\quad t_{lmn}(d, \theta, \varphi) =
            \sqrt{\frac{2}{c^3 j_{l+1}(z_{ln})^2}}\;
            j_l\!\left(z_{ln}\tfrac{d}{c}\right) Y_{lm}(\theta, \varphi)

    with :math:`Y_{lm}` the orthonormal real harmonics (Wikipedia / sphericart; with the polar
    angle :math:`\theta` from the local z axis these are also e3nn's values and e3nn's m order
    -l..l). Columns: l, then m = -l..l, then n (column ``(l*l + l + m) * R + n``). This is the
    spherical Fourier-Bessel basis, orthonormal on the ball of radius ``c``: every radial order
    meets every harmonic of its own degree. No envelope; beyond the cutoff the functions
    continue as :math:`j_l` (evaluated exactly).

    ``"dig"`` reproduces DIG SphereNet's ``torsion_emb`` column for column, quirks included:

    * its harmonics are listed per degree as m = 0, +1..+l, -l..-1 (``-m`` standing for the
      :math:`\sin(m\varphi)` function), with the Condon-Shortley phase kept: the DIG harmonic is
      :math:`(-1)^m Y_{lm}` (``convert_sh(..., "sphericart", "dig")``);
    * ``rbf.view(-1, 1, n, k) * cbf.view(-1, n, n, 1)`` multiplies the harmonic at flat index
      ``f`` (of ``n * n``) with the radial functions of degree ``f mod n`` -- not with its own
      degree. With ``n = num_spherical = 7`` only 8 of the 49 harmonics meet their own degree.
      Column ``f * R + q`` holds :math:`\tilde Y_f(\theta, \varphi)\,
      \sqrt{2 / j_{(f \bmod n)+1}^2}\; j_{f \bmod n}(z_{(f \bmod n) q}\, d / c)`.
    * normalisation ``sqrt(2 / j_{l+1}(z_ln)^2)`` (no :math:`c^{-3/2}`), no envelope.

    The default is ``"consistent"``, the mathematically meaningful basis; use ``"dig"`` to load
    SphereNet weights or compare with DIG.

    Args:
        num_spherical: Number of degrees L (l = 0..L-1), >= 1 (DIG SphereNet's default: 7).
        num_radial: Number of roots R per degree, >= 1 (no upper limit).
        cutoff: Cutoff radius ``c`` > 0, in the length unit of ``dist``.
        variant: ``"consistent"`` (default) or ``"dig"``.

    Shapes:
        ``forward(dist, theta, phi, idx_kj=None)``: ``theta`` (polar angle, radians, DIG
        passes the triplet angle) and ``phi`` (azimuth / torsion, radians) of shape ``(T,)``;
        ``dist`` of shape ``(T,)`` without ``idx_kj`` or ``(E,)`` with it (gathered per
        triplet). Returns ``(T, L * L * R)`` with the dtype and device of ``dist``.

    Raises:
        TypeError: On non-integer sizes, non-float inputs or mixed dtypes.
        ValueError: On sizes < 1, ``cutoff <= 0``, an unknown variant, mismatched shapes or a
            negative / non-finite distance.

    Example:
        >>> basis = TorsionBasis(num_spherical=3, num_radial=6, cutoff=5.0, variant="dig")
        >>> dist, theta, phi = torch.tensor([1.5]), torch.tensor([1.0]), torch.tensor([2.0])
        >>> basis(dist, theta, phi).shape
        torch.Size([1, 54])

    References:
        Liu et al., "Spherical Message Passing for 3D Molecular Graphs", ICLR 2022, Sec. 3-4;
        DIG ``dig/threedgraph/method/spherenet/features.py`` (``torsion_emb``); Gasteiger et
        al., DimeNet, ICLR 2020, Sec. 4 (the spherical Fourier-Bessel basis).
    """

    _torsion = True

    def __init__(
        self,
        num_spherical: int = 3,
        num_radial: int = 6,
        cutoff: float = 5.0,
        variant: str = "consistent",
    ) -> None:
        super().__init__()
        num_spherical, num_radial, cutoff = _check_args(num_spherical, num_radial, cutoff)
        self.variant = check_choice("variant", variant, TORSION_VARIANTS)
        self.num_spherical, self.num_radial, self.cutoff = num_spherical, num_radial, cutoff
        normalization = "orthonormal" if variant == "consistent" else "dimenet"
        self.radial = _SphericalBesselRadial(
            num_spherical, num_radial, cutoff, normalization, "none"
        )
        if variant == "dig":
            # DIG's harmonic f is sign[f] * standard[perm[f]]: computed straight in that order
            perm, sign = _signed_permutation(num_spherical, "dig")
            self.columns = list(zip(perm.tolist(), sign.tolist(), strict=True))
            # DIG pairs the harmonic at flat index f with the radial degree f mod L
            degree = torch.arange(num_spherical * num_spherical) % num_spherical
        else:
            self.columns = None
            degree = _paired_degrees(num_spherical)
        self.register_buffer("degree", degree, persistent=False)

    def forward(
        self,
        dist: torch.Tensor,
        theta: torch.Tensor,
        phi: torch.Tensor,
        idx_kj: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Evaluate the basis; see the class docstring for shapes."""
        return _torsion_product(self, dist, theta, phi, idx_kj)

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f"num_spherical={self.num_spherical}, num_radial={self.num_radial}, "
            f"cutoff={self.cutoff}, variant={self.variant!r}"
        )


class ComENetAngleBasis(AngleBasis):
    r"""DIG ComENet's ``AngleEmbedding``: spherical Bessel times zonal harmonic, per edge.

    .. math:: a_{ln}(d, \tau) = \sqrt{\frac{2}{j_{l+1}(z_{ln})^2}}\;
              j_l\!\left(z_{ln}\tfrac{d}{c}\right) Y_l^0(\tau)

    the same functions as ``AngleBasis(variant="dig")`` (no envelope; beyond the cutoff the
    functions continue as :math:`j_l`), evaluated on one distance per input (ComENet passes the
    edge length ``d_ji`` and its folded torsion ``tau``, see
    :func:`equibasis.geometry.comenet_angles`). Columns l-major, n fastest.

    The defaults are those of the ComENet model (``num_spherical=2``, ``num_radial=3``,
    ``cutoff=8.0``); note that DIG's feature class takes ``(num_radial, num_spherical,
    cutoff)`` positionally, while this class keeps the SphereNet order
    ``(num_spherical, num_radial, cutoff)``: pass keywords when porting code.

    Args:
        num_spherical: Number of degrees L, >= 1 (ComENet: 2).
        num_radial: Number of roots R per degree, >= 1 (ComENet: 3).
        cutoff: Cutoff radius ``c`` > 0 (ComENet: 8.0).

    Shapes:
        ``forward(dist, angle)``: both ``(...)``; returns ``(..., L * R)``, dtype and device
        of ``dist``.

    Raises:
        TypeError: On non-integer sizes, non-float inputs or mixed dtypes.
        ValueError: On sizes < 1, ``cutoff <= 0``, mismatched shapes or a negative distance.

    Example:
        >>> ComENetAngleBasis()(torch.tensor([1.2, 3.4]), torch.tensor([0.3, 2.9])).shape
        torch.Size([2, 6])

    References:
        Wang et al., "ComENet: Towards Complete and Efficient Message Passing for 3D Molecular
        Graphs", NeurIPS 2022; DIG ``dig/threedgraph/method/comenet/features.py``
        (``AngleEmbedding``).
    """

    _gathers = False  # one distance per angle

    def __init__(self, num_spherical: int = 2, num_radial: int = 3, cutoff: float = 8.0) -> None:
        # DIG ComENet's angle_emb computes the same functions as SphereNet's: AngleBasis "dig"
        super().__init__(num_spherical, num_radial, cutoff, variant="dig")

    def forward(self, dist: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Evaluate the basis; see the class docstring for shapes (one distance per angle)."""
        return super().forward(dist, angle)


class ComENetTorsionBasis(PolarInput):
    r"""DIG ComENet's ``TorsionEmbedding``: spherical Bessel times real harmonics, degree-paired.

    .. math:: t_{lmn}(d, \theta, \varphi) = \sqrt{\frac{2}{j_{l+1}(z_{ln})^2}}\;
              j_l\!\left(z_{ln}\tfrac{d}{c}\right) Y_{lm}(\theta, \varphi)

    with the standard real harmonics :math:`Y_{lm}` (no Condon-Shortley phase: ComENet's
    :math:`(-1)^m` cancels the one in its Legendre functions), listed per degree as
    m = 0, +1..+l, -l..-1 (``-m`` = the :math:`\sin(m\varphi)` function) and, unlike SphereNet,
    each paired with the radial functions of its own degree (``repeat_interleave`` by 2l+1):
    column ``f * R + n`` for the f-th harmonic in that order. No envelope.

    Defaults are the ComENet model's (``num_spherical=2``, ``num_radial=3``, ``cutoff=8.0``),
    in the SphereNet keyword order (DIG's class takes ``(num_radial, num_spherical, cutoff)``).

    Args:
        num_spherical: Number of degrees L, >= 1 (ComENet: 2).
        num_radial: Number of roots R per degree, >= 1 (ComENet: 3).
        cutoff: Cutoff radius ``c`` > 0 (ComENet: 8.0).

    Shapes:
        ``forward(dist, theta, phi)``: all ``(...)`` (ComENet passes the edge length, its
        exterior angle and folded torsion); returns ``(..., L * L * R)``.

    Raises:
        TypeError: On non-integer sizes, non-float inputs or mixed dtypes.
        ValueError: On sizes < 1, ``cutoff <= 0``, mismatched shapes or a negative distance.

    Example:
        >>> basis = ComENetTorsionBasis()
        >>> basis(torch.tensor([1.2]), torch.tensor([0.3]), torch.tensor([1.0])).shape
        torch.Size([1, 12])

    References:
        Wang et al., ComENet, NeurIPS 2022; DIG ``dig/threedgraph/method/comenet/features.py``
        (``TorsionEmbedding``).
    """

    _torsion, _gathers = True, False

    def __init__(self, num_spherical: int = 2, num_radial: int = 3, cutoff: float = 8.0) -> None:
        super().__init__()
        num_spherical, num_radial, cutoff = _check_args(num_spherical, num_radial, cutoff)
        self.num_spherical, self.num_radial, self.cutoff = num_spherical, num_radial, cutoff
        self.radial = _SphericalBesselRadial(num_spherical, num_radial, cutoff, "dimenet", "none")
        self.columns = [(index, 1.0) for index in _comenet_permutation(num_spherical).tolist()]
        self.register_buffer("degree", _paired_degrees(num_spherical), persistent=False)

    def forward(self, dist: torch.Tensor, theta: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
        """Evaluate the basis; see the class docstring for shapes."""
        return _torsion_product(self, dist, theta, phi, None)

    def extra_repr(self) -> str:  # noqa: D102
        return (
            f"num_spherical={self.num_spherical}, num_radial={self.num_radial}, "
            f"cutoff={self.cutoff}"
        )
