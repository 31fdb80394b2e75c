r"""The group maths of the checks: elements of O(3) and their Wigner matrices.

- building elements: :func:`quaternion_to_matrix`, :func:`random_rotation` (Haar),
  ``random_translation``, ``_random_permutation`` (never the identity) and
  ``_check_orthogonal`` (validates a given ``g``, and snaps a float32 one to the nearest
  orthogonal matrix);
- describing them: :func:`describe_group_element` (angle, axis, det, translation, permutation);
- representing them: ``_WignerCache`` (one ``D(g)`` per irrep, float64 on the CPU, moved to
  devices on demand) and ``_wigner_d``, e3nn's ``Irrep.D_from_matrix`` to rounding (its own is
  off by up to 2e-10 in float64).

Everything returns float64 on the CPU; callers cast.
"""

import contextlib
import functools
import math
from collections.abc import Iterator, Sequence

import torch
from e3nn import o3

__all__ = ["describe_group_element", "quaternion_to_matrix", "random_rotation"]


def quaternion_to_matrix(q: Sequence[float]) -> torch.Tensor:
    """Rotation matrix (float64, CPU) of the quaternion ``q = (w, x, y, z)``, normalised first.

    Args:
        q: Four numbers, not all zero; ``q`` and ``-q`` give the same rotation.

    Returns:
        A float64 tensor of shape ``(3, 3)`` with determinant +1.

    Example:
        >>> quaternion_to_matrix([0.0, 0.0, 0.0, 1.0])  # half turn about z
        tensor([[-1.,  0.,  0.],
                [ 0., -1.,  0.],
                [ 0.,  0.,  1.]], dtype=torch.float64)
    """
    w, x, y, z = (torch.as_tensor(q, dtype=torch.float64) / math.hypot(*q)).tolist()
    return torch.tensor(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ],
        dtype=torch.float64,
    )


def random_rotation(generator: torch.Generator | None = None) -> torch.Tensor:
    """A Haar-uniform random rotation (float64, CPU): a normalised 4-D Gaussian quaternion.

    Args:
        generator: Optional ``torch.Generator`` for reproducible draws.

    Returns:
        A float64 tensor of shape ``(3, 3)`` in SO(3).
    """
    return quaternion_to_matrix(torch.randn(4, dtype=torch.float64, generator=generator).tolist())


def random_translation(generator: torch.Generator | None = None) -> torch.Tensor:
    """A random translation ``(3,)``: 5 times a standard normal vector (float64, CPU), Angstrom."""
    return 5.0 * torch.randn(3, dtype=torch.float64, generator=generator)


def _random_permutation(n: int, generator: torch.Generator | None) -> torch.Tensor:
    perm = torch.randperm(n, generator=generator)
    if n > 1 and bool((perm == torch.arange(n)).all()):
        perm = torch.roll(perm, 1)  # never the identity: it would test nothing
    return perm


def _check_orthogonal(g: torch.Tensor) -> torch.Tensor:
    if not isinstance(g, torch.Tensor) or tuple(g.shape) != (3, 3):
        raise ValueError(f"g must be a (3, 3) tensor, received {getattr(g, 'shape', g)!r}")
    g = g.detach().to("cpu", torch.float64)
    eye = torch.eye(3, dtype=torch.float64)
    if not bool(torch.isfinite(g).all()) or not torch.allclose(g @ g.T, eye, atol=1e-5):
        raise ValueError(f"g must be orthogonal (g @ g.T = I), received {g.tolist()}")
    if float((g @ g.T - eye).abs().max()) > 1e-14:
        # e.g. a float32 rotation: use the nearest orthogonal matrix (polar factor), so that the
        # float64 check is not polluted by the rounding of g itself
        u, _, vh = torch.linalg.svd(g)
        g = u @ vh
    return g


def describe_group_element(
    g: torch.Tensor,
    translation: torch.Tensor | None = None,
    permutation: torch.Tensor | None = None,
) -> str:
    """Say what ``g`` does: 'rotation by 1.234 rad about (x, y, z)', inversion, translation, ...

    Args:
        g: Orthogonal matrix, shape ``(3, 3)``.
        translation: Optional translation, shape ``(3,)``.
        permutation: Optional permutation of atoms, shape ``(N,)``.

    Returns:
        A one-line description followed by the matrix.

    Example:
        >>> print(describe_group_element(-torch.eye(3, dtype=torch.float64)))
        inversion (det -1) | g = [[-1, 0, 0], [0, -1, 0], [0, 0, -1]]
    """
    g = g.detach().to("cpu", torch.float64)
    det = float(torch.linalg.det(g))
    R = g * (1.0 if det > 0 else -1.0)
    cos = max(-1.0, min(1.0, (float(R.trace()) - 1.0) / 2.0))
    v = torch.stack([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    angle = math.atan2(float(v.norm()) / 2.0, cos)
    parts = []
    if angle < 1e-12:
        parts.append("identity" if det > 0 else "inversion")
    else:
        if angle > math.pi - 1e-6:  # axis from the symmetric part, v vanishes at pi
            axis = torch.sqrt(torch.clamp((R.diagonal() + 1.0) / 2.0, min=0.0))
            k = int(torch.argmax(axis))
            axis = torch.where(R[k] < 0, -axis, axis) if axis[k] > 0 else axis
        else:
            axis = v / v.norm()
        xyz = ", ".join(f"{float(a):+.4f}" for a in axis)
        prefix = "inversion x " if det < 0 else ""
        parts.append(
            f"{prefix}rotation by {angle:.4f} rad ({math.degrees(angle):.1f} deg) about ({xyz})"
        )
    if det < 0:
        parts[-1] += " (det -1)"
    if translation is not None:
        xyz = ", ".join(f"{float(a):+.4f}" for a in translation.detach().cpu().reshape(-1))
        parts.append(f"translation ({xyz})")
    if permutation is not None:
        perm = permutation.detach().cpu().tolist()
        shown = perm if len(perm) <= 16 else [*perm[:16], "..."]
        parts.append(f"permutation of atoms {shown}")
    rows = ", ".join("[" + ", ".join(f"{float(a) + 0.0:.6g}" for a in row) + "]" for row in g)
    return " | ".join(parts) + f" | g = [{rows}]"


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype) -> Iterator[None]:
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


class _WignerCache:
    """Wigner D of each distinct irrep for one g, float64 on the CPU, moved to devices on demand."""

    def __init__(self, g: torch.Tensor) -> None:
        self.g = g
        self._cache: dict[tuple[int, int, torch.device], torch.Tensor] = {}

    def __call__(self, ir: o3.Irrep, device: torch.device) -> torch.Tensor:
        key = (ir.l, ir.p, device)
        if key not in self._cache:
            cpu_key = (ir.l, ir.p, torch.device("cpu"))
            if cpu_key not in self._cache:
                # e3nn builds its generators in the default dtype: float64 here (PITFALLS)
                with _default_dtype(torch.float64):
                    self._cache[cpu_key] = _wigner_d(ir, self.g)
            self._cache[key] = self._cache[cpu_key].to(device)
        return self._cache[key]


def _apply_wigner(x: torch.Tensor, irreps: o3.Irreps, wigner: _WignerCache) -> torch.Tensor:
    """``x`` of shape ``(..., irreps.dim)`` moved by the block-diagonal ``D(g)`` of ``irreps``."""
    blocks, start = [], 0
    for mul, ir in irreps:
        block = x[..., start : start + mul * ir.dim]
        block = block.reshape(*x.shape[:-1], mul, ir.dim) @ wigner(ir, x.device).T
        blocks.append(block.reshape(*x.shape[:-1], mul * ir.dim))
        start += mul * ir.dim
    return torch.cat(blocks, dim=-1) if blocks else x


# Quarter turns taking e_x, e_y, e_z to e_y (the identity for e_y); see _wigner_d.
_TO_Y = (
    torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64),
    torch.eye(3, dtype=torch.float64),
    torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]], dtype=torch.float64),
)


def _expm(a: torch.Tensor) -> torch.Tensor:
    """Matrix exponential by scaling and squaring with a 24-term Taylor series (float64).

    ``torch.linalg.matrix_exp`` is off by up to 1.9e-10 in float64 for some small norms (a
    rotation by 0.047 rad about x, for one), which would be the error floor of every check.
    Scaled to norm <= 1/2 the series is exact to rounding; each squaring adds ~1 ulp.
    """
    norm = float(a.abs().sum(-1).max()) if a.numel() else 0.0
    steps = max(0, math.ceil(math.log2(norm)) + 1) if norm > 0.5 else 0
    b = a / (2.0**steps)
    term = torch.eye(a.shape[-1], dtype=a.dtype)
    out = term.clone()
    for k in range(1, 25):
        term = term @ b / k
        out = out + term
    for _ in range(steps):
        out = out @ out
    return out


def _wigner_d(ir: o3.Irrep, g: torch.Tensor) -> torch.Tensor:
    """``ir.D_from_matrix(g)`` to ~1e-14 in float64 for every g (e3nn's: up to ~2e-10).

    Two losses are avoided. e3nn exponentiates its generators with ``torch.linalg.matrix_exp``
    (see :func:`_expm`). And its Euler angle ``beta = acos((g e_y)_y)`` is ill-conditioned when
    ``g e_y`` is near ``+-e_y``: so ``g = s R2 R1`` with ``s = det g`` and ``R1`` the quarter turn
    taking ``e_k`` to ``e_y`` for the ``k`` of the smallest ``|g[1, k]|`` (at most
    ``1/sqrt(3)``), whence ``(R2 e_y)_y = s g[1, k]`` is far from +-1, and
    ``D(g) = p^{(1 - s)/2} D(R2) D(R1)`` with ``D(R) = exp(a X_y) exp(b X_x) exp(c X_y)``.
    """
    if not hasattr(o3, "so3_generators"):  # an e3nn without public generators: its own D
        return ir.D_from_matrix(g)
    s = 1.0 if float(torch.linalg.det(g)) > 0 else -1.0
    proper = s * g
    k = int(torch.argmin(proper[1].abs()))
    d = _d_proper(ir.l, proper @ _TO_Y[k].T) @ _d_quarter_turn(ir.l, k)
    return d * (ir.p if s < 0 else 1)


@functools.cache
def _generators(l: int) -> torch.Tensor:
    with _default_dtype(torch.float64):
        return o3.so3_generators(l).to(torch.float64)  # (x, y, z), in e3nn's basis


def _d_proper(l: int, rotation: torch.Tensor) -> torch.Tensor:
    gen = _generators(l)
    a, b, c = (float(t) for t in o3.matrix_to_angles(rotation))
    return _expm(a * gen[1]) @ _expm(b * gen[0]) @ _expm(c * gen[1])


@functools.cache
def _d_quarter_turn(l: int, k: int) -> torch.Tensor:
    return _d_proper(l, _TO_Y[k])
