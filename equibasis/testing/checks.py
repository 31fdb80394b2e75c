r"""Equivariance and invariance checks that say which irrep broke, by how much, and under which g.

A function :math:`f` is equivariant when, for every :math:`g \in O(3)` (and translation ``t`` of
positions, and permutation of atoms when asked),

.. math:: f(D_\text{in}(g)\, x) = D_\text{out}(g)\, f(x),

where :math:`D(g)` is the (block-diagonal) Wigner matrix of the irreps, e3nn's
``Irrep.D_from_matrix`` (so the real basis, signs and order of every ``l`` are e3nn's) computed
from e3nn's generators to rounding (see ``_wigner_d``: e3nn's own is off by up to 2e-10). Positions
(``"cartesian_points"``, as in e3nn) move as :math:`x \mapsto g x + t`; invariants
(:func:`assert_invariant`) must not move at all.

The error of each output irrep block ``mul x (l, p)`` is measured in float64 as

.. math:: \epsilon_\text{abs} = \max |f(g \cdot x) - D(g) f(x)|, \qquad
          \epsilon_\text{rel} = \epsilon_\text{abs} / \max(|f(g \cdot x)|, |D(g) f(x)|),

and a block passes when :math:`\epsilon_\text{abs} \le \text{atol} + \text{rtol} \cdot \max|f|`
(both default to :func:`tolerance_for` of the output's dtype). Unlike e3nn's checker, a block that
is (numerically) zero, at the inputs and at randomly perturbed inputs, fails unless
``allow_zero=True``: all-zero output passes any equivariance test trivially, which usually hides
a bug. NaN or infinite output always fails.

Wigner matrices are computed in float64 with torch's default dtype temporarily set to float64:
e3nn builds its generators in the default dtype, and a float32 default limits D to ~1e-6.
"""

import contextlib
import functools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import torch
from e3nn import o3

from equibasis._validation import check_float_tensor, check_int, check_last_dim

__all__ = [
    "POINTS",
    "EquivarianceResult",
    "IrrepError",
    "assert_equivariant",
    "assert_invariant",
    "equivariance_error",
    "forces_from",
    "quaternion_to_matrix",
    "random_rotation",
    "tolerance_for",
]

POINTS = "cartesian_points"
"""Input/output type of positions: ``x -> x @ g.T + t`` (the e3nn name)."""

_TOLERANCES = {
    torch.float64: 1e-9,  # e3nn's; a float64 model is typically good to 1e-13
    torch.float32: 1e-4,  # ~1000 ulp: deep float32 models stay below, planted bugs are O(1)
    torch.float16: 1e-2,
    torch.bfloat16: 5e-2,
}

_INVARIANT = "invariant (0e)"

Spec = o3.Irreps | str | None


def tolerance_for(dtype: torch.dtype) -> float:
    """Default absolute and relative tolerance of the checks for a floating dtype.

    ``1e-9`` for float64 (as e3nn), ``1e-4`` for float32, ``1e-2`` for float16 and ``5e-2`` for
    bfloat16. A check passes when ``error <= atol + rtol * max|f|`` with ``atol = rtol`` equal
    to this value unless told otherwise.

    Args:
        dtype: A floating torch dtype.

    Returns:
        The tolerance as a Python float.

    Raises:
        TypeError: If ``dtype`` is not a floating torch dtype.

    Example:
        >>> tolerance_for(torch.float32), tolerance_for(torch.float64)
        (0.0001, 1e-09)
    """
    if not isinstance(dtype, torch.dtype) or dtype not in _TOLERANCES:
        raise TypeError(
            f"dtype must be one of {tuple(str(d) for d in _TOLERANCES)}, received {dtype!r}"
        )
    return _TOLERANCES[dtype]


@dataclass(frozen=True)
class IrrepError:
    r"""Equivariance error of one ``mul x ir`` block of one output.

    Attributes:
        output: Index of the output (0 for a function returning one tensor).
        index: Index of the block in that output's irreps (-1 for positions / invariants).
        irrep: The block, e.g. ``"2x1o"``, ``"cartesian_points"`` or ``"invariant (0e)"``.
        components: The block's slice of the last dimension, as ``(start, stop)``.
        abs_error: :math:`\max |f(g x) - D(g) f(x)|` over the block (inf if not finite).
        rel_error: ``abs_error / scale`` (0 when both are 0).
        scale: :math:`\max(|f(g x)|, |D(g) f(x)|)` over the block.
        finite: False if either evaluation has NaN or infinite entries in the block.
        worst: Where the largest error sits: the index into the output tensor.
    """

    output: int
    index: int
    irrep: str
    components: tuple[int, int]
    abs_error: float
    rel_error: float
    scale: float
    finite: bool
    worst: tuple[int, ...]

    def where(self) -> str:
        """Describe the block, e.g. ``"output 0, irrep 1x2e (block 1, components 1:6)"``."""
        if self.index < 0:
            return f"output {self.output}, {self.irrep}"
        start, stop = self.components
        block = f"block {self.index}, components {start}:{stop}"
        return f"output {self.output}, irrep {self.irrep} ({block})"


@dataclass(frozen=True)
class EquivarianceResult:
    """Errors of every output block under one group element.

    Attributes:
        g: The orthogonal matrix, ``(3, 3)`` float64 on the CPU.
        translation: The translation ``(3,)`` applied to positions, or None.
        permutation: The permutation of atoms ``(N,)``, or None.
        errors: One :class:`IrrepError` per output block, in output order.
    """

    g: torch.Tensor
    translation: torch.Tensor | None = None
    permutation: torch.Tensor | None = None
    errors: tuple[IrrepError, ...] = field(default_factory=tuple)

    @property
    def max_abs_error(self) -> float:
        """Largest absolute error over all blocks."""
        return max((e.abs_error for e in self.errors), default=0.0)

    @property
    def max_rel_error(self) -> float:
        """Largest relative error over all blocks."""
        return max((e.rel_error for e in self.errors), default=0.0)

    def describe(self) -> str:
        """Describe the group element in words (rotation angle and axis, det, t, permutation)."""
        return describe_group_element(self.g, self.translation, self.permutation)


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


def _parse_specs(name: str, spec: object, fn: object) -> list[Spec]:
    if spec is None:
        spec = getattr(fn, name, None)
        if spec is None:
            raise ValueError(
                f"{name} was not given and {fn!r} has no attribute {name}; pass it explicitly "
                f"(a list with one entry per argument/output, None for untransformed ones)"
            )
    if isinstance(spec, o3.Irreps) or isinstance(spec, str):
        spec = [spec]
    elif isinstance(spec, (list, tuple)):
        spec = list(spec)
    else:
        spec = [spec]
    parsed: list[Spec] = []
    for i, s in enumerate(spec):
        if s is None or s == POINTS:
            parsed.append(s)
            continue
        try:
            parsed.append(o3.Irreps(s))
        except (ValueError, TypeError, AssertionError) as err:
            raise ValueError(
                f"{name}[{i}] must be e3nn irreps (e.g. '1x0e + 1x1o'), {POINTS!r} or None, "
                f"received {s!r}"
            ) from err
    return parsed


def _as_outputs(value: object) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, torch.Tensor) for v in value):
        return list(value)
    raise TypeError(
        f"fn must return a tensor or a tuple/list of tensors, received {type(value).__name__}"
    )


def _module_tensor(fn: object) -> torch.Tensor | None:
    if isinstance(fn, torch.nn.Module):
        for t in [*fn.parameters(), *fn.buffers()]:
            if t.is_floating_point():
                return t
    return None


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


def _random_permutation(n: int, generator: torch.Generator | None) -> torch.Tensor:
    perm = torch.randperm(n, generator=generator)
    if n > 1 and bool((perm == torch.arange(n)).all()):
        perm = torch.roll(perm, 1)  # never the identity: it would test nothing
    return perm


class _Problem:
    """Parsed specs, inputs and the reference outputs f(x) of one check."""

    def __init__(
        self,
        fn: Callable,
        irreps_in: object,
        irreps_out: object,
        inputs: Sequence | None,
        num_points: int,
        dtype: torch.dtype | None,
        device: torch.device | str | None,
        no_grad: bool,
        generator: torch.Generator | None,
        out_labels: dict[int, str] | None = None,
        reference: list[torch.Tensor] | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable (a function or an nn.Module), received {fn!r}")
        self.fn = fn
        self.no_grad = no_grad
        self.generator = generator
        self._perturbed: list[torch.Tensor] | None = None
        self.specs_in = _parse_specs("irreps_in", irreps_in, fn)
        self.specs_out = _parse_specs("irreps_out", irreps_out, fn)
        self.out_labels = out_labels or {}
        ref = _module_tensor(fn)
        if inputs is None:
            missing = [i for i, s in enumerate(self.specs_in) if s is None]
            if missing:
                raise ValueError(
                    f"inputs must be given when an argument is untransformed (irreps_in entries "
                    f"{missing} are None): they cannot be sampled"
                )
            dtype = dtype or (ref.dtype if ref is not None else torch.get_default_dtype())
            device = device or (ref.device if ref is not None else "cpu")
            inputs = []
            for s in self.specs_in:
                dim = 3 if s == POINTS else s.dim
                x = torch.randn(num_points, dim, dtype=torch.float64, generator=generator)
                inputs.append(x.to(device=device, dtype=dtype))
        else:
            if isinstance(inputs, torch.Tensor):
                inputs = [inputs]
            inputs = list(inputs)
            if len(inputs) != len(self.specs_in):
                raise ValueError(
                    f"irreps_in has {len(self.specs_in)} entries but {len(inputs)} inputs "
                    "were given"
                )
            if dtype is not None or device is not None:
                inputs = [
                    x.to(device=device, dtype=dtype if x.is_floating_point() else x.dtype)
                    if isinstance(x, torch.Tensor)
                    else x
                    for x in inputs
                ]
        for i, (s, x) in enumerate(zip(self.specs_in, inputs, strict=True)):
            if s is None:
                continue
            dim = 3 if s == POINTS else s.dim
            if not isinstance(x, torch.Tensor) or not x.is_floating_point():
                raise TypeError(f"input {i} ({s}) must be a floating tensor, received {type(x)}")
            if x.ndim == 0 or x.shape[-1] != dim:
                raise ValueError(
                    f"input {i} must have shape (..., {dim}) for {s}, received {tuple(x.shape)}"
                )
        self.inputs = inputs
        # number of atoms: leading size of the first positions input, else of the first tensor
        lead = [
            x for s, x in zip(self.specs_in, inputs, strict=True) if s == POINTS and x.ndim >= 2
        ]
        lead += [x for x in inputs if isinstance(x, torch.Tensor) and x.ndim >= 1]
        self.num_atoms = int(lead[0].shape[0]) if lead else 0
        self.has_points = POINTS in self.specs_in
        self.reference = self._reference_call(inputs) if reference is None else reference
        if len(self.reference) != len(self.specs_out):
            raise ValueError(
                f"fn returned {len(self.reference)} output(s) but irreps_out has "
                f"{len(self.specs_out)} entries"
            )
        for i, (s, y) in enumerate(zip(self.specs_out, self.reference, strict=True)):
            if s is None:
                continue
            dim = 3 if s == POINTS else s.dim
            if y.ndim == 0 or y.shape[-1] != dim:
                raise ValueError(
                    f"output {i} must have shape (..., {dim}) for {s}, received {tuple(y.shape)}"
                )

    def perturbed_scale(self, e: IrrepError) -> float:
        """Max |f| of a block at randomly perturbed inputs (inf if fn fails there).

        A block that is zero at the given inputs may be zero by coincidence (a spring at rest,
        features that hypothesis shrank to zero); one that stays zero when the positions and
        irreps inputs are perturbed is zero identically, which is what the zero check is after.
        """
        if self._perturbed is None:
            moved = []
            for s, x in zip(self.specs_in, self.inputs, strict=True):
                if s is not None and isinstance(x, torch.Tensor):
                    noise = torch.randn(x.shape, dtype=torch.float64, generator=self.generator)
                    size = max(1.0, float(x.detach().abs().max())) if x.numel() else 1.0
                    x = x + (0.1 * size * noise).to(device=x.device, dtype=x.dtype)
                moved.append(x)
            try:
                self._perturbed = self._call(moved)
            except Exception:  # fn may reject the perturbed input: not what is being checked
                self._perturbed = []
        if not self._perturbed:
            return math.inf
        y = self._perturbed[e.output]
        start, stop = e.components
        block = y[..., start:stop] if y.ndim else y
        return float(block.abs().max()) if block.numel() else 0.0

    def _reference_call(self, inputs: Sequence) -> list[torch.Tensor]:
        try:
            return self._call(inputs)
        except TypeError as err:
            if "argument" not in str(err):
                raise
            # the signature does not match one input per irreps_in entry: say so, not the model
            raise TypeError(
                f"calling fn with {len(inputs)} input(s) (irreps_in {self.specs_in}) failed: "
                f"{err}. Give irreps_in (and inputs) for every positional argument of fn, or, "
                "for a model that takes positions with graphs, dicts or Data objects, use "
                "check_model(model, example)"
            ) from err

    def _call(self, inputs: Sequence) -> list[torch.Tensor]:
        ctx = torch.no_grad() if self.no_grad else contextlib.nullcontext()
        with ctx:
            out = _as_outputs(self.fn(*inputs))
        return [y.detach() for y in out]

    def _permuted(self, x: object, perm: torch.Tensor | None) -> object:
        if perm is None or not isinstance(x, torch.Tensor) or x.ndim == 0:
            return x
        if x.shape[0] != self.num_atoms:
            return x
        return x[perm.to(x.device)]

    def _act(
        self,
        spec: Spec,
        x: object,
        wigner: _WignerCache,
        t: torch.Tensor | None,
        perm: torch.Tensor | None,
        dtype: torch.dtype | None,
    ) -> object:
        """Apply (g, t, perm) to one argument; computed in float64, cast to ``dtype``."""
        if isinstance(x, torch.Tensor) and spec is not None:
            out_dtype = dtype or x.dtype
            y = x.to(torch.float64)
            if spec == POINTS:
                y = y @ wigner.g.to(y.device).T
                if t is not None:
                    y = y + t.to(y.device)
            else:
                blocks = []
                start = 0
                for mul, ir in spec:
                    block = y[..., start : start + mul * ir.dim]
                    block = block.reshape(*y.shape[:-1], mul, ir.dim) @ wigner(ir, y.device).T
                    blocks.append(block.reshape(*y.shape[:-1], mul * ir.dim))
                    start += mul * ir.dim
                y = torch.cat(blocks, dim=-1) if blocks else y
            x = y.to(out_dtype)
        elif isinstance(x, torch.Tensor) and dtype is not None and x.is_floating_point():
            x = x.to(dtype)
        return self._permuted(x, perm)

    def result(
        self, g: torch.Tensor, t: torch.Tensor | None, perm: torch.Tensor | None
    ) -> EquivarianceResult:
        wigner = _WignerCache(g)
        moved = [
            self._act(s, x, wigner, t, perm, None)
            for s, x in zip(self.specs_in, self.inputs, strict=True)
        ]
        actual = self._call(moved)
        if len(actual) != len(self.specs_out):
            raise ValueError(
                f"fn returned {len(actual)} output(s) on the transformed input, "
                f"{len(self.specs_out)} expected"
            )
        errors = []
        for i, (s, y_ref, y_g) in enumerate(
            zip(self.specs_out, self.reference, actual, strict=True)
        ):
            expected = self._act(s, y_ref, wigner, t, perm, torch.float64)
            got = y_g.to(torch.float64)
            if got.shape != expected.shape:
                raise ValueError(
                    f"output {i} changed shape under the transformation: "
                    f"{tuple(expected.shape)} -> {tuple(got.shape)}"
                )
            if s is None or s == POINTS:
                label = self.out_labels.get(i, "untransformed" if s is None else POINTS)
                blocks = [(-1, label, 0, got.shape[-1] if got.ndim else 1)]
            else:
                blocks = []
                start = 0
                for k, mul_ir in enumerate(s):
                    blocks.append((k, str(mul_ir), start, start + mul_ir.dim))
                    start += mul_ir.dim
            for k, label, start, stop in blocks:
                a = got[..., start:stop] if got.ndim else got
                b = expected[..., start:stop] if expected.ndim else expected
                errors.append(_block_error(i, k, label, (start, stop), a, b))
        return EquivarianceResult(g=g, translation=t, permutation=perm, errors=tuple(errors))


def _block_error(
    output: int,
    index: int,
    label: str,
    components: tuple[int, int],
    got: torch.Tensor,
    expected: torch.Tensor,
) -> IrrepError:
    if got.numel() == 0:
        return IrrepError(output, index, label, components, 0.0, 0.0, 0.0, True, ())
    finite = bool(torch.isfinite(got).all()) and bool(torch.isfinite(expected).all())
    diff = (got - expected).abs()
    if not finite:
        diff = torch.where(torch.isfinite(diff), diff, torch.full_like(diff, math.inf))
    flat = int(torch.argmax(diff.reshape(-1)))
    worst = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), diff.shape))
    if index >= 0 and worst:  # index into the whole output, not the block
        worst = (*worst[:-1], worst[-1] + components[0])
    abs_error = float(diff.reshape(-1)[flat])
    scale = max(float(got.abs().max()), float(expected.abs().max())) if finite else math.inf
    if abs_error == 0.0:
        rel_error = 0.0
    else:
        rel_error = abs_error / scale if scale > 0 and math.isfinite(scale) else math.inf
    return IrrepError(output, index, label, components, abs_error, rel_error, scale, finite, worst)


def equivariance_error(
    fn: Callable,
    irreps_in: object = None,
    irreps_out: object = None,
    inputs: Sequence | None = None,
    *,
    g: torch.Tensor | None = None,
    translation: bool | torch.Tensor = False,
    permutation: bool | torch.Tensor = False,
    num_points: int = 6,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    no_grad: bool = False,
    generator: torch.Generator | None = None,
) -> EquivarianceResult:
    r"""Per-output-irrep equivariance errors of ``fn`` under one element of O(3) (x T x S_N).

    Evaluates ``fn(*inputs)`` and ``fn(*(g . inputs))`` and compares the second with
    ``g . fn(*inputs)`` block by block (see the module docstring for the formulas).

    Argument types (``irreps_in``, one entry per positional argument of ``fn``, a list for
    several; ``irreps_out`` likewise for its outputs):

    - e3nn irreps (``o3.Irreps`` or a string such as ``"0e + 1o"``): a tensor ``(..., dim)``
      transformed by the block-diagonal Wigner matrix ``D(g)``;
    - ``"cartesian_points"``: positions ``(..., 3)``, moved as ``x @ g.T + t``;
    - ``None``: not transformed (atomic numbers, a cutoff, an invariant output).

    When ``fn`` is an ``nn.Module`` with ``irreps_in`` / ``irreps_out`` attributes (e3nn's
    convention), those are used if the arguments are None.

    Permutation of atoms acts on dimension 0 of every tensor input and output whose size there is
    the number of atoms N (the leading size of the first positions input, else of the first
    tensor input): per-atom quantities are permuted, per-molecule ones must be unchanged.

    Args:
        fn: Callable or ``nn.Module``.
        irreps_in: Types of the inputs (see above).
        irreps_out: Types of the outputs (see above).
        inputs: The inputs; sampled when None (``num_points`` rows of standard normal entries per
            argument, which requires every type to be irreps or positions).
        g: Orthogonal ``(3, 3)`` matrix; None samples one uniformly from O(3) (Haar rotation
            times a random sign).
        translation: A translation ``(3,)`` for positions, True to sample one (5 * standard
            normal), or False.
        permutation: A permutation of the N atoms ``(N,)``, True to sample one, or False.
        num_points: Leading size of sampled inputs.
        dtype: Floating dtype of sampled or given inputs (default: the given inputs' dtype, else
            the module's parameters', else torch's default dtype).
        device: Device of sampled or given inputs (default: theirs, else the module's, else CPU).
        no_grad: Evaluate ``fn`` under ``torch.no_grad()``.
        generator: Random generator (CPU) for reproducible sampling.

    Returns:
        An :class:`EquivarianceResult`: g, translation, permutation and one :class:`IrrepError`
        per output block (absolute and relative maximum errors).

    Raises:
        ValueError: On a malformed irreps spec, a non-orthogonal ``g``, or inputs/outputs whose
            shapes do not match their irreps.
        TypeError: If ``fn`` is not callable or returns something other than tensors.

    Example:
        >>> def sh(x):
        ...     return o3.spherical_harmonics("0e + 1o + 2e", x, normalize=True)
        >>> result = equivariance_error(sh, "1o", "0e + 1o + 2e", dtype=torch.float64)
        >>> [(e.irrep, e.abs_error < 1e-12) for e in result.errors]
        [('1x0e', True), ('1x1o', True), ('1x2e', True)]
    """
    problem = _Problem(
        fn, irreps_in, irreps_out, inputs, num_points, dtype, device, no_grad, generator
    )
    t, perm = _resolve_translation_permutation(problem, translation, permutation, generator)
    if g is None:
        g = random_rotation(generator)
        if bool(torch.rand((), generator=generator) < 0.5):
            g = -g
    return problem.result(_check_orthogonal(g), t, perm)


def _resolve_translation_permutation(
    problem: _Problem,
    translation: bool | torch.Tensor,
    permutation: bool | torch.Tensor,
    generator: torch.Generator | None,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    if isinstance(translation, torch.Tensor):
        t = translation.detach().to("cpu", torch.float64).reshape(-1)
        if t.shape != (3,):
            raise ValueError(
                f"translation must have shape (3,), received {tuple(translation.shape)}"
            )
    elif translation is True:
        t = 5.0 * torch.randn(3, dtype=torch.float64, generator=generator)
    elif translation is False or translation is None:
        t = None
    else:
        raise TypeError(f"translation must be a bool or a (3,) tensor, received {translation!r}")
    if isinstance(permutation, torch.Tensor):
        perm = permutation.detach().to("cpu", torch.int64)
        if sorted(perm.tolist()) != list(range(problem.num_atoms)):
            raise ValueError(
                f"permutation must be a permutation of range({problem.num_atoms}), "
                f"received {perm.tolist()}"
            )
    elif permutation is True:
        perm = _random_permutation(problem.num_atoms, generator)
    elif permutation is False or permutation is None:
        perm = None
    else:
        raise TypeError(f"permutation must be a bool or a (N,) tensor, received {permutation!r}")
    return t, perm


def _cases(
    problem: _Problem,
    g: torch.Tensor | None,
    parity: bool,
    translation: bool | torch.Tensor,
    permutation: bool | torch.Tensor,
    ntrials: int,
    generator: torch.Generator | None,
) -> list[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]]:
    """The group elements to test: rotations, reflections, translations, permutations apart."""
    # ntrials=0 would test nothing and pass: refuse it even when a fixed g makes it unused
    if check_int("ntrials", ntrials, minimum=-(2**62)) < 1:
        raise ValueError(
            f"ntrials must be >= 1, received {ntrials}: with no trial nothing would be tested "
            "and the check would pass whatever fn does"
        )
    eye = torch.eye(3, dtype=torch.float64)
    cases = []
    if g is not None:
        cases.append((_check_orthogonal(g), None, None))
    else:
        for _ in range(ntrials):
            R = random_rotation(generator)
            cases.append((R, None, None))
            if parity:
                cases.append((-R, None, None))
    for _ in range(1 if g is not None else ntrials):
        if problem.has_points and translation is not False and translation is not None:
            t, _ = _resolve_translation_permutation(problem, translation, False, generator)
            cases.append((eye, t, None))
        if permutation is not False and permutation is not None and problem.num_atoms > 1:
            _, perm = _resolve_translation_permutation(problem, False, permutation, generator)
            cases.append((eye, None, perm))
    return cases


def _locate(problem: _Problem, e: IrrepError) -> str:
    """Name the copy and m (e3nn's order, m = -l..l) of the worst entry of an irrep block."""
    if e.index < 0 or not e.worst:
        return ""
    mul_ir = problem.specs_out[e.output][e.index]
    offset = e.worst[-1] - e.components[0]
    copy, m = divmod(offset, mul_ir.ir.dim)
    return f" = copy {copy}, m = {m - mul_ir.ir.l} of {mul_ir.ir}"


def _judge(
    problem: _Problem,
    result: EquivarianceResult,
    atol: float | None,
    rtol: float | None,
    allow_zero: bool,
    caller: str,
) -> None:
    __tracebackhide__ = True
    lines = []
    for e in result.errors:
        dtype = problem.reference[e.output].dtype
        dtype = dtype if dtype in _TOLERANCES else torch.float64
        a = tolerance_for(dtype) if atol is None else float(atol)
        r = tolerance_for(dtype) if rtol is None else float(rtol)
        bound = a + r * (e.scale if math.isfinite(e.scale) else 0.0)
        where = f"worst entry at index {e.worst}{_locate(problem, e)}"
        if not e.finite:
            lines.append(f"{e.where()} has NaN or infinite values ({where})")
        elif e.abs_error > bound:
            moved = "D(g) f(x)" if e.index >= 0 else "g.f(x)" if e.irrep == POINTS else "f(x)"
            lines.append(
                f"{e.where()} is not {'invariant' if e.irrep == _INVARIANT else 'equivariant'}: "
                f"max |f(g.x) - {moved}| = {e.abs_error:.3e} > tolerance {bound:.3e} "
                f"(atol {a:.1e} + rtol {r:.1e} * max|f| {e.scale:.3e}); relative error "
                f"{e.rel_error:.3e}; {where}"
            )
        elif (
            not allow_zero
            and e.scale <= a
            and e.components[1] > e.components[0]
            and problem.perturbed_scale(e) <= a
        ):
            lines.append(
                f"{e.where()} is (numerically) zero, here and at randomly perturbed inputs: "
                f"max |f| = {e.scale:.3e} <= atol {a:.1e}, so the check would pass whatever fn "
                f"does; pass allow_zero=True if zero is correct (e.g. a 0o output of a single "
                f"vector)"
            )
    if lines:
        table = ", ".join(
            (f"output {e.output} " if len(problem.specs_out) > 1 else "")
            + f"{e.irrep}: {e.abs_error:.2e}"
            for e in result.errors
        )
        raise AssertionError(
            f"{caller} failed under g = {result.describe()}\n  "
            + "\n  ".join(lines)
            + f"\n  (max abs error of every block: {table})"
        )


def _assert_cases(
    problem: "_Problem",
    g: torch.Tensor | None,
    parity: bool,
    translation: bool | torch.Tensor,
    permutation: bool | torch.Tensor,
    ntrials: int,
    generator: torch.Generator | None,
    atol: float | None,
    rtol: float | None,
    allow_zero: bool,
    caller: str,
) -> list[EquivarianceResult]:
    """Measure every group element of the trial and judge each (raises on the first failure)."""
    __tracebackhide__ = True
    results = []
    for g_, t, perm in _cases(problem, g, parity, translation, permutation, ntrials, generator):
        result = problem.result(g_, t, perm)
        _judge(problem, result, atol, rtol, allow_zero, caller)
        results.append(result)
    return results


def assert_equivariant(
    fn: Callable,
    irreps_in: object = None,
    irreps_out: object = None,
    inputs: Sequence | None = None,
    *,
    g: torch.Tensor | None = None,
    parity: bool = True,
    translation: bool | torch.Tensor = True,
    permutation: bool | torch.Tensor = False,
    ntrials: int = 1,
    atol: float | None = None,
    rtol: float | None = None,
    allow_zero: bool = False,
    num_points: int = 6,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    no_grad: bool = False,
    generator: torch.Generator | None = None,
) -> list[EquivarianceResult]:
    r"""Assert that ``fn`` is O(3)-equivariant (and translation/permutation-equivariant if asked).

    Like e3nn's ``assert_equivariant``: ``irreps_in`` gives one type per positional argument of
    ``fn`` (irreps, ``"cartesian_points"`` or None; a list for several), ``irreps_out`` one per
    output; inputs are sampled when not given. Each trial tests a random rotation ``R`` and,
    with ``parity``, the improper ``-R`` (so a 1e/1o mix-up and a model that is only
    SO(3)-equivariant are caught); translations and permutations are tested as separate elements
    so the message says which symmetry broke. With ``g`` (e.g. drawn by hypothesis), that element
    alone is tested.

    Forces: ``-dE/dx`` of an invariant energy rotates as ``1o`` per atom; check them with
    ``assert_equivariant(forces_from(energy), ["cartesian_points", None], "1o", [pos, z])``.

    Args:
        fn: Callable or ``nn.Module`` (use ``.eval()`` if it has dropout).
        irreps_in: Types of the inputs (see :func:`equivariance_error`).
        irreps_out: Types of the outputs.
        inputs: Inputs, or None to sample them.
        g: A fixed element of O(3) to test, or None for random ones.
        parity: Also test improper elements (O(3)); False checks SO(3) only.
        translation: Test a translation of ``"cartesian_points"`` inputs (True: random; a
            ``(3,)`` tensor: that one; False: none).
        permutation: Test a permutation of atoms (True: random; a tensor: that one).
        ntrials: Number of random rotations (each with its reflection), >= 1.
        atol: Absolute tolerance (default :func:`tolerance_for` of each output's dtype).
        rtol: Relative tolerance, multiplying the block's ``max |f|`` (same default).
        allow_zero: Accept blocks that are numerically zero (below ``atol``) at the inputs and
            at randomly perturbed inputs (zero by coincidence at the given inputs is accepted).
        num_points: Leading size of sampled inputs.
        dtype: Floating dtype of the inputs (see :func:`equivariance_error`).
        device: Device of the inputs.
        no_grad: Evaluate ``fn`` under ``torch.no_grad()``.
        generator: Random generator (CPU) for reproducible sampling.

    Returns:
        The :class:`EquivarianceResult` of every element tested.

    Raises:
        AssertionError: Naming the output, the irrep block, the error, the tolerance and g.
        ValueError: If ``ntrials < 1`` (which would test nothing), or on malformed specs.
        TypeError: If ``ntrials`` is not an int.

    Example:
        >>> def sh(x):
        ...     return o3.spherical_harmonics("0e + 1o + 2e", x, normalize=True)
        >>> _ = assert_equivariant(sh, "1o", "0e + 1o + 2e", dtype=torch.float64)
        >>> _ = assert_equivariant(sh, "1o", "0e + 1e + 2e", dtype=torch.float64)
        Traceback (most recent call last):
        ...
        AssertionError: assert_equivariant failed under g = inversion x rotation ...
          output 0, irrep 1x1e (block 1, components 1:4) is not equivariant: ...
    """
    __tracebackhide__ = True
    problem = _Problem(
        fn, irreps_in, irreps_out, inputs, num_points, dtype, device, no_grad, generator
    )
    return _assert_cases(
        problem,
        g,
        parity,
        translation,
        permutation,
        ntrials,
        generator,
        atol,
        rtol,
        allow_zero,
        "assert_equivariant",
    )


def assert_invariant(
    fn: Callable,
    pos: torch.Tensor,
    *args: object,
    g: torch.Tensor | None = None,
    parity: bool = True,
    translation: bool | torch.Tensor = True,
    permutation: bool | torch.Tensor = False,
    ntrials: int = 1,
    atol: float | None = None,
    rtol: float | None = None,
    allow_zero: bool = False,
    no_grad: bool = False,
    generator: torch.Generator | None = None,
) -> list[EquivarianceResult]:
    r"""Assert that ``fn(pos, *args)`` is unchanged when the atoms are rotated, reflected, moved.

    Tests a random rotation, its improper partner ``-R`` (unless ``parity=False``: SO(3) only), a
    random translation and, with ``permutation``, a permutation of the atoms (which also permutes
    every tensor in ``args`` whose leading size is the number of atoms N, e.g. atomic numbers;
    outputs with leading size N are compared permuted, the others as they are). ``args`` are not
    rotated: they must be invariant quantities; for vectors use :func:`assert_equivariant`.

    Args:
        fn: Callable or ``nn.Module``: ``fn(pos, *args)`` -> tensor or tuple of tensors.
        pos: Positions, shape ``(N, 3)`` (or ``(..., 3)``).
        *args: Extra arguments, held fixed (atomic numbers, a batch vector, ...).
        g: A fixed element of O(3) (e.g. drawn by hypothesis), or None for random ones.
        parity: Also require invariance under reflections.
        translation: True (random), a ``(3,)`` tensor, or False.
        permutation: True (random), an ``(N,)`` permutation, or False.
        ntrials: Number of random rotations (each with its reflection), >= 1.
        atol: Absolute tolerance (default :func:`tolerance_for` of the output's dtype).
        rtol: Relative tolerance (same default).
        allow_zero: Accept an output that is numerically zero at ``pos`` and at randomly
            perturbed positions.
        no_grad: Evaluate ``fn`` under ``torch.no_grad()``.
        generator: Random generator (CPU) for reproducible sampling.

    Returns:
        The :class:`EquivarianceResult` of every element tested.

    Raises:
        AssertionError: Naming the output, the error, the tolerance and the group element.
        ValueError: If ``ntrials < 1`` (which would test nothing).

    Example:
        >>> pos = torch.randn(5, 3, dtype=torch.float64)
        >>> _ = assert_invariant(lambda p: torch.pdist(p), pos)
        >>> _ = assert_invariant(lambda p: p[:, 0].sum(), pos)
        Traceback (most recent call last):
        ...
        AssertionError: assert_invariant failed under g = rotation by ...
          output 0, invariant (0e) is not invariant: ...
    """
    __tracebackhide__ = True
    check_last_dim("pos", check_float_tensor("pos", pos), 3)
    ctx = torch.no_grad() if no_grad else contextlib.nullcontext()
    with ctx:
        probe = [y.detach() for y in _as_outputs(fn(pos, *args))]
    labels = dict.fromkeys(range(len(probe)), _INVARIANT)
    problem = _Problem(
        fn,
        [POINTS] + [None] * len(args),
        [None] * len(probe),
        [pos, *args],
        0,
        None,
        None,
        no_grad,
        generator,
        out_labels=labels,
        reference=probe,
    )
    return _assert_cases(
        problem,
        g,
        parity,
        translation,
        permutation,
        ntrials,
        generator,
        atol,
        rtol,
        allow_zero,
        "assert_invariant",
    )


def forces_from(energy: Callable) -> Callable:
    r"""Wrap an energy ``E(pos, *args)`` into forces :math:`F = -\partial E / \partial \text{pos}`.

    If ``E`` is invariant, ``F`` is equivariant as ``1o`` per atom (and translation invariant),
    which :func:`assert_equivariant` checks::

        assert_equivariant(forces_from(model), ["cartesian_points", None], "1o", [pos, z])

    The gradient is taken with ``torch.enable_grad()``, so it works under ``no_grad=True`` too.

    Args:
        energy: Callable returning the energy (any shape; the sum is differentiated).

    Returns:
        A callable ``forces(pos, *args)`` -> tensor shaped like ``pos``.

    Example:
        >>> energy = lambda p: (torch.pdist(p) - 1.0).pow(2).sum()  # springs of rest length 1
        >>> pos = torch.randn(4, 3, dtype=torch.float64)
        >>> _ = assert_equivariant(forces_from(energy), POINTS, "1o", [pos])
    """

    def forces(pos: torch.Tensor, *args: object) -> torch.Tensor:
        with torch.enable_grad():
            pos = pos.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(energy(pos, *args).sum(), pos)
        return -grad

    forces.__name__ = f"forces_from({getattr(energy, '__name__', type(energy).__name__)})"
    return forces
