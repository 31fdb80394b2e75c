"""Input checks and the product of radial and angular parts shared by the polar bases."""

import math

import torch

from equibasis._runtime import recording_graph, records_grad, static, values_known
from equibasis._validation import (
    check_float_tensor,
    check_int,
    check_positive,
    check_same_device,
)
from equibasis.harmonics.conventions import convert_sh
from equibasis.harmonics.recurrence import _angular_harmonics
from equibasis.polar.radial import _SphericalBesselRadial
from equibasis.special import legendre


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
    if records_grad(*inputs) or recording_graph():
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
