r"""Check a whole model, called the way it is really called, under rotations, mirrors and more.

:func:`check_model` takes the model and one **example** of its input (a PyG ``Data``/``Batch``
or any object with attributes, a dict, an ASE ``Atoms``, or a tuple of positional arguments),
moves the example by a group element :math:`h`, runs the model on the moved example and compares
each declared output with the reference output moved the same way:

.. math:: \epsilon = \max \left| f(h \cdot x) - \rho_\text{out}(h)\, f(x) \right|

block by block (every ``mul x ir`` of an output's irreps), in float64. The group elements are:

- ``rotation``: a random :math:`R \in SO(3)` (positions, cell and declared ``fields`` rotate);
- ``reflection``: :math:`-R` (det -1), unless ``parity=False``;
- ``translation``: every position moved by the same random vector (outputs unchanged);
- ``lattice shift`` (periodic examples): each atom moved by its own random lattice vector
  :math:`n_i \cdot \text{cell}` (outputs unchanged: the same crystal);
- ``permutation``: the atoms relabelled (within each molecule of a batch); every per-atom field
  (leading size N) is permuted together, atom-index fields (``edge_index``, ...) are relabelled,
  and per-atom outputs must come back permuted.

Output types: e3nn irreps (``"0e"``, ``"1o"``, ``"8x0e + 4x1o"``; a single ``0e``/``0o`` may have
any shape, e.g. one energy per molecule), ``"cartesian 2-tensor"`` (``(..., 3, 3)``, moving as
:math:`g T g^\top`: stress, virial, polarisability), ``"cartesian_points"`` (predicted positions)
and ``None`` (anything that must not change at all).
"""

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from e3nn import o3

from equibasis._validation import check_int
from equibasis.testing._examples import Adapter, Motion, _is_calculator, make_adapter
from equibasis.testing.checks import (
    POINTS,
    _WignerCache,
    describe_group_element,
    random_rotation,
    tolerance_for,
)

__all__ = ["TENSOR2", "ModelCheckError", "ModelCheckReport", "ModelCheckRow", "check_model"]

TENSOR2 = "cartesian 2-tensor"
"""Output type of rank-2 Cartesian tensors ``(..., 3, 3)`` (stress, virial): ``T -> g T g^T``."""

_TENSOR2_NAMES = {TENSOR2, "cartesian_2_tensor", "cartesian 2 tensor", "2-tensor", "rank-2"}
_DEFAULT_OUTPUTS = {"energy": "0e", "forces": "1o"}

_HINTS = {
    "translation": "changed under a translation only: does the model use absolute positions "
    "(positions as features, a fixed origin, a box it does not wrap into)?",
    "lattice shift": "changed when atoms moved by lattice vectors, the crystal being the same: "
    "does the model ignore the cell (no periodic images, no wrapping into the cell)?",
    "permutation": "changed when the atoms were relabelled: does the model depend on the atom "
    "order (index-based weights, a per-atom field it gets elsewhere than from the example, an "
    "output that is not per atom)?",
}


@dataclass(frozen=True)
class ModelCheckRow:
    """Worst error of one output block under one kind of transformation (over all trials).

    Attributes:
        output: The output's key (dict key, attribute, tuple index) as text.
        irrep: The block, e.g. ``"1x1o"``, ``"cartesian 2-tensor"``, ``"invariant"``.
        transformation: ``"rotation"``, ``"reflection"``, ``"translation"``,
            ``"lattice shift"`` or ``"permutation"``.
        abs_error: Largest ``max |f(h.x) - rho(h) f(x)|`` over the trials.
        rel_error: That error over ``max |f|`` of the block.
        tolerance: The bound it was compared with (``atol + rtol * max|f|``).
        ok: Whether every trial stayed within the tolerance (and was finite).
        element: The group element of the worst trial, in words.
    """

    output: str
    irrep: str
    transformation: str
    abs_error: float
    rel_error: float
    tolerance: float
    ok: bool
    element: str


@dataclass(frozen=True)
class ModelCheckReport:
    """What :func:`check_model` measured: one row per output block and transformation.

    Attributes:
        example: The example in words (kind, atoms, periodic or not).
        rows: One :class:`ModelCheckRow` per (output block, transformation).
    """

    example: str
    rows: tuple[ModelCheckRow, ...]

    @property
    def ok(self) -> bool:
        """True when every row passed."""
        return all(r.ok for r in self.rows)

    @property
    def failures(self) -> tuple[ModelCheckRow, ...]:
        """The rows that failed."""
        return tuple(r for r in self.rows if not r.ok)

    def error(self, output: object, transformation: str) -> float:
        """Largest absolute error of ``output`` (all its blocks) under ``transformation``."""
        errors = [
            r.abs_error
            for r in self.rows
            if r.output == str(output) and r.transformation == transformation
        ]
        if not errors:
            raise KeyError(f"no row for output {output!r} under {transformation!r}")
        return max(errors)

    def to_markdown(self) -> str:
        """The table: output, irrep block, transformation, errors, tolerance, ok."""
        lines = [
            f"check_model: {self.example}",
            "",
            "| output | irreps | transformation | max abs error | rel error | tolerance | ok |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in self.rows:
            lines.append(
                f"| {r.output} | {r.irrep} | {r.transformation} | {r.abs_error:.2e} | "
                f"{r.rel_error:.2e} | {r.tolerance:.1e} | {'yes' if r.ok else 'NO'} |"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()


class ModelCheckError(AssertionError):
    """Raised by :func:`check_model`; ``.report`` holds the full :class:`ModelCheckReport`."""

    def __init__(self, message: str, report: ModelCheckReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class _Spec:
    """One declared output: its key, the label used in messages, and how it transforms."""

    key: object
    label: str
    kind: str  # "irreps", "scalar", "tensor2", "points", "fixed"
    irreps: o3.Irreps | None = None

    @property
    def quoted(self) -> str:
        """The label as messages show it: quoted for names, bare for indices."""
        return repr(self.label) if isinstance(self.key, str) else self.label

    def blocks(self, y: torch.Tensor) -> list[tuple[str, slice | None, o3.Irreps | None]]:
        """(label, slice of the last dim or None for all, irreps of the block) per block."""
        if self.kind != "irreps":
            label = {"scalar": str(self.irreps), "tensor2": TENSOR2, "points": POINTS}
            return [(label.get(self.kind, "invariant"), None, self.irreps)]
        out, start = [], 0
        for mul_ir in self.irreps:
            out.append((str(mul_ir), slice(start, start + mul_ir.dim), o3.Irreps([mul_ir])))
            start += mul_ir.dim
        return out


def _parse_output(key: object, spec: object) -> _Spec:
    label = str(key)
    if spec is None or spec == "invariant":
        return _Spec(key, label, "fixed")
    if isinstance(spec, str) and spec.strip().lower() in _TENSOR2_NAMES:
        return _Spec(key, label, "tensor2")
    if spec == POINTS:
        return _Spec(key, label, "points")
    try:
        irreps = o3.Irreps(spec)
    except (ValueError, TypeError, AssertionError) as err:
        raise ValueError(
            f"outputs[{key!r}] must be e3nn irreps (e.g. '0e', '1o', '4x0e + 2x1o'), "
            f"{TENSOR2!r}, {POINTS!r} or None, received {spec!r}"
        ) from err
    if irreps.dim == 1:  # one scalar per entry, any shape: an energy per molecule, per atom
        return _Spec(key, label, "scalar", irreps)
    return _Spec(key, label, "irreps", irreps)


def _get(result: object, key: object) -> object:
    if isinstance(result, Mapping):
        if key not in result:
            raise KeyError(key)
        return result[key]
    if isinstance(result, (torch.Tensor, np.ndarray)):
        if key not in (None, 0):
            raise KeyError(key)
        return result
    if isinstance(result, (tuple, list)):
        if not isinstance(key, int) or not -len(result) <= key < len(result):
            raise KeyError(key)
        return result[key]
    if isinstance(key, str) and hasattr(result, key):
        return getattr(result, key)
    raise KeyError(key)


def _keys_of(result: object) -> list:
    if isinstance(result, Mapping):
        return list(result)
    if isinstance(result, (tuple, list)):
        return list(range(len(result)))
    if isinstance(result, (torch.Tensor, np.ndarray)):
        return [0]
    return [k for k in vars(result) if not k.startswith("_")] if hasattr(result, "__dict__") else []


def _as64(value: object, key: object) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().to(torch.float64)
    try:
        return torch.as_tensor(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"output {key!r} must be a tensor or array, received {type(value).__name__}"
        ) from err


def _dtype_of(value: object) -> torch.dtype:
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.dtype
    if isinstance(value, np.ndarray) and value.dtype == np.float32:
        return torch.float32
    return torch.float64


class _Run:
    """The model, its example and its reference outputs."""

    def __init__(
        self,
        model: Callable,
        adapter: Adapter,
        specs: list[_Spec] | None,
        forces_from: object,
        no_grad: bool,
    ) -> None:
        self.model = model
        self.adapter = adapter
        self.forces_from = forces_from
        self.no_grad = no_grad and forces_from is None
        raw = self._call(adapter.example, None if specs is None else [s.key for s in specs])
        self.specs = self._default_specs(raw) if specs is None else specs
        if forces_from is not None:
            grad = _Spec(("grad", forces_from), f"-grad {forces_from}", "irreps", o3.Irreps("1o"))
            self.specs = [*self.specs, grad]
        self.reference, self.dtypes = self._outputs(raw)

    def _default_specs(self, raw: tuple) -> list[_Spec]:
        result = raw[0]
        if isinstance(result, (torch.Tensor, np.ndarray)):
            irreps = getattr(self.model, "irreps_out", None)
            return [_parse_output(0, irreps if irreps is not None else "0e")]
        keys = [k for k in _DEFAULT_OUTPUTS if k in _keys_of(result)]
        if not keys:
            raise ValueError(
                f"the model returned {type(result).__name__} with keys {_keys_of(result)}; "
                "name the outputs to check and their irreps, e.g. "
                "outputs={'energy': '0e', 'forces': '1o'}"
            )
        return [_parse_output(k, _DEFAULT_OUTPUTS[k]) for k in keys]

    def _call(self, example: object, keys: list | None) -> tuple:
        """(model output, gradient of forces_from or None)."""
        adapter = self.adapter
        if self.forces_from is None:
            ctx = torch.no_grad() if self.no_grad else contextlib.nullcontext()
            with ctx:
                return (adapter.call(self.model, example, keys or list(_DEFAULT_OUTPUTS)), None)
        example, pos = adapter.with_grad(example)
        with torch.enable_grad():
            result = adapter.call(self.model, example, keys or list(_DEFAULT_OUTPUTS))
            try:
                energy = _get(result, self.forces_from)
            except KeyError:
                raise ValueError(
                    f"forces_from={self.forces_from!r} is not an output of the model (its "
                    f"outputs: {_keys_of(result)})"
                ) from None
            if not isinstance(energy, torch.Tensor) or not energy.requires_grad:
                raise ValueError(
                    f"forces_from={self.forces_from!r}: that output does not require grad, so "
                    "it cannot be differentiated with respect to the positions (is it detached, "
                    "or computed under torch.no_grad()?)"
                )
            (grad,) = torch.autograd.grad(energy.sum(), pos, allow_unused=True)
        if grad is None:
            grad = torch.zeros_like(pos)
        return result, -grad.detach()

    def _outputs(self, raw: tuple) -> tuple[list[torch.Tensor], list[torch.dtype]]:
        result, grad = raw
        values, dtypes = [], []
        for spec in self.specs:
            if spec.key == ("grad", self.forces_from) and grad is not None:
                value = grad
            else:
                try:
                    value = _get(result, spec.key)
                except KeyError:
                    raise ValueError(
                        f"output {spec.quoted} is not in what the model returned "
                        f"({type(result).__name__} with keys {_keys_of(result)})"
                    ) from None
            y = _as64(value, spec.label)
            self._check_shape(spec, y)
            values.append(y)
            dtypes.append(_dtype_of(value))
        return values, dtypes

    @staticmethod
    def _check_shape(spec: _Spec, y: torch.Tensor) -> None:
        if spec.kind == "irreps" and (y.ndim == 0 or y.shape[-1] != spec.irreps.dim):
            raise ValueError(
                f"output {spec.label!r} has shape {tuple(y.shape)} but its irreps "
                f"{spec.irreps} need a last dimension of {spec.irreps.dim}"
            )
        if spec.kind == "tensor2" and (y.ndim < 2 or tuple(y.shape[-2:]) != (3, 3)):
            raise ValueError(
                f"output {spec.label!r} is declared {TENSOR2!r} but has shape {tuple(y.shape)}; "
                "expected (..., 3, 3)"
            )
        if spec.kind == "points" and (y.ndim == 0 or y.shape[-1] != 3):
            raise ValueError(f"output {spec.label!r} ({POINTS}) must have shape (..., 3)")

    def moved_outputs(self, motion: Motion) -> list[torch.Tensor]:
        example = self.adapter.moved(motion)
        keys = [s.key for s in self.specs if s.key != ("grad", self.forces_from)]
        values, _ = self._outputs(self._call(example, keys))
        return values

    def expected(self, spec: _Spec, y: torch.Tensor, motion: Motion) -> torch.Tensor:
        """rho(h) f(x) for one output."""
        g = motion.g
        if g is not None:
            g = g.to(y.device)
            if spec.kind == "irreps":
                wigner = _WignerCache(motion.g)
                parts = []
                for _, sl, irreps in spec.blocks(y):
                    ((mul, ir),) = irreps
                    block = y[..., sl].reshape(*y.shape[:-1], mul, ir.dim)
                    parts.append((block @ wigner(ir, y.device).T).reshape(*y.shape[:-1], -1))
                y = torch.cat(parts, dim=-1)
            elif spec.kind == "scalar":
                ((_, ir),) = spec.irreps
                y = y * float(torch.linalg.det(motion.g)) ** (ir.p == -1)
            elif spec.kind == "tensor2":
                y = g @ y @ g.T
            elif spec.kind == "points":
                y = y @ g.T
        if spec.kind == "points" and motion.translation is not None:
            y = y + motion.translation.to(y.device)
        perm = motion.permutation
        if perm is not None and self.per_atom(spec, y):
            y = y[perm.to(y.device)]
        return y

    def per_atom(self, spec: _Spec, y: torch.Tensor) -> bool:
        """Whether an output has one entry per atom (permuted with them): leading size N.

        The entry itself takes the trailing dimensions (none for a scalar, one for irreps and
        points, two for a 2-tensor), so a (3, 3) stress of a 3-atom crystal is not per atom.
        """
        inner = {"scalar": 0, "fixed": 0, "irreps": 1, "points": 1, "tensor2": 2}[spec.kind]
        return y.ndim > inner and y.shape[0] == self.adapter.num_atoms


def _block_errors(
    got: torch.Tensor, expected: torch.Tensor, sl: slice | None
) -> tuple[float, float, bool, float]:
    """(abs error, scale = max|f|, finite, signed agreement of got with -expected)."""
    a = got if sl is None else got[..., sl]
    b = expected if sl is None else expected[..., sl]
    if a.numel() == 0:
        return 0.0, 0.0, True, math.inf
    finite = bool(torch.isfinite(a).all()) and bool(torch.isfinite(b).all())
    if not finite:
        return math.inf, math.inf, False, math.inf
    err = float((a - b).abs().max())
    scale = max(float(a.abs().max()), float(b.abs().max()))
    flipped = float((a + b).abs().max())
    return err, scale, True, flipped


def _flip_parity(irreps: o3.Irreps | None) -> str:
    if irreps is None:
        return ""
    return str(o3.Irreps([(mul, (ir.l, -ir.p)) for mul, ir in irreps]))


def _motions(
    adapter: Adapter,
    ntrials: int,
    parity: bool,
    translation: bool,
    lattice_shifts: bool,
    permutation: bool,
    generator: torch.Generator | None,
) -> list[tuple[str, Motion]]:
    out = []
    n = adapter.num_atoms
    for _ in range(ntrials):
        R = random_rotation(generator)
        out.append(("rotation", Motion(g=R)))
        if parity:
            out.append(("reflection", Motion(g=-R)))
        if translation:
            t = 5.0 * torch.randn(3, dtype=torch.float64, generator=generator)
            out.append(("translation", Motion(translation=t)))
        if lattice_shifts and adapter.cell is not None:
            shift = torch.randint(-1, 2, (n, 3), generator=generator).to(torch.float64)
            if not bool(shift.any()):
                shift[0, 0] = 1.0
            out.append(("lattice shift", Motion(shift=shift)))
        if permutation and n > 1:
            out.append(("permutation", Motion(permutation=_permutation(adapter, generator))))
    return out


def _permutation(adapter: Adapter, generator: torch.Generator | None) -> torch.Tensor:
    """A random relabelling that keeps every atom in its molecule (never the identity)."""
    n = adapter.num_atoms
    groups = (
        [torch.arange(n)]
        if adapter.batch is None
        else [torch.nonzero(adapter.batch == b).reshape(-1) for b in torch.unique(adapter.batch)]
    )
    perm = torch.arange(n)
    for idx in groups:
        if len(idx) > 1:
            order = torch.randperm(len(idx), generator=generator)
            if bool((order == torch.arange(len(idx))).all()):
                order = torch.roll(order, 1)
            perm[idx] = idx[order]
    return perm


def _hint(
    name: str,
    failed: set[str],
    irreps: o3.Irreps | None,
    flipped: float,
    err: float,
    rel: float,
    dtype: torch.dtype,
) -> str:
    """Likely cause of a failure under ``name``, given every transformation the block failed."""
    if dtype == torch.float64 and rel < 1e-5:
        return (
            f"small (relative {rel:.1e}) for a float64 output: float32 constants in the model, "
            "typically e3nn coefficients built under torch's default float32 (e3nn builds them "
            "in the default dtype, and .double() keeps their float32 values): build the model "
            "under torch.set_default_dtype(torch.float64), or loosen rtol"
        )
    if "rotation" in failed and "translation" in failed:
        return (
            "changes under every motion, even a pure translation: a step that depends on the "
            "coordinates' values or their round-off, typically the neighbour list (a cdist-based "
            "radius graph keeps self-loops where cdist's round-off leaves d(i, i) > 0, as "
            "torch.cdist does above 25 atoms), or absolute positions used as features"
        )
    if name in _HINTS and failed <= {name, "permutation", "lattice shift", "translation"}:
        return _HINTS[name]
    if name == "reflection":
        if "rotation" in failed:
            return "fails under proper rotations too: see the rotation failure"
        if flipped < 1e-3 * max(err, 1e-300) and irreps is not None:
            return (
                f"changed under det -1 only, by a sign: the output behaves as "
                f"{_flip_parity(irreps)}, not {irreps} (wrong parity declared or computed, e.g. "
                "a cross product); if the model is meant to be chiral, pass parity=False"
            )
        return (
            "changed under det -1 only: is the model chiral (a pseudoscalar term such as a "
            "triple product or a signed volume)? pass parity=False if it is meant to be"
        )
    if name == "rotation":
        return (
            "not equivariant under a proper rotation: check the declared irreps and the layers "
            "(raw coordinates used as features, a non-equivariant nonlinearity, a neighbour "
            "list that changes with orientation)"
        )
    return _HINTS.get(name, "")


def check_model(
    model: Callable,
    example: object,
    positions: object = None,
    outputs: Mapping[object, object] | None = None,
    cell: object = None,
    *,
    fields: Mapping[object, object] | None = None,
    index_fields: Sequence[object] | None = None,
    forces_from: object = None,
    parity: bool = True,
    translation: bool = True,
    lattice_shifts: bool = True,
    permutation: bool = True,
    ntrials: int = 1,
    atol: float | None = None,
    rtol: float | None = None,
    allow_zero: bool = False,
    no_grad: bool = False,
    generator: torch.Generator | None = None,
) -> ModelCheckReport:
    r"""Check a model as it is called: rotate, reflect, translate, shift and permute its example.

    ``example`` is what ``model`` takes; it is moved consistently by each group element (see the
    module docstring), the model is run on it, and every declared output is compared with the
    reference output moved the same way. How the model is called: ``model(*example)`` for a
    tuple; for a dict or an attribute object, ``model(**fields)`` when every required parameter
    of ``model`` (of ``forward`` for a Module) is a field name (PyG's ``SchNet(z, pos, batch)``
    on a ``Data``), else ``model(example)`` (MACE, e3nn's ``gate_points_2101.Network``); for
    ASE ``Atoms`` with an ASE calculator as model, ``calc.get_property(name, atoms)`` for each
    output (ASE's Voigt stress is expanded to ``(3, 3)``), else ``model(atoms)``. Neither
    torch_geometric nor ase is imported.

    Args:
        model: The model (``nn.Module``, function, ASE calculator). Put it in ``.eval()``.
        example: PyG ``Data``/``Batch`` or any object with attributes, a dict, an ASE
            ``Atoms``, or a tuple of positional arguments.
        positions: Key of the positions ``(N, 3)``: found automatically for ``Atoms``, for a
            single field named ``pos``, ``positions`` or ``R``, and for a tuple holding one
            floating ``(N, 3)`` tensor.
        outputs: Output key (dict key, attribute, tuple index; 0 for a bare tensor) -> type:
            e3nn irreps, ``"cartesian 2-tensor"``, ``"cartesian_points"`` or None (must not
            change). Default: ``{"energy": "0e", "forces": "1o"}`` (those the model returns),
            or for a bare tensor the model's ``irreps_out``, else ``"0e"``.
        cell: Key of the cell field (lattice vectors as rows, ``(3, 3)``, ``(B, 3, 3)`` or
            ``(3B, 3)``); None finds a field named ``cell`` (Atoms: when ``pbc`` is set),
            False ignores it. With a cell, rotations act on it and lattice shifts are tested.
        fields: Other fields that rotate, key -> irreps (node features ``"4x0e + 2x1o"``, edge
            vectors or MACE ``shifts`` ``"1o"``).
        index_fields: Fields holding atom indices, relabelled under permutations (default:
            integer fields named ``edge_index``, ``*_index``, ``senders``, ``receivers``,
            ``edge_src``, ``edge_dst``).
        forces_from: An invariant output (e.g. ``"energy"``) whose negative gradient with
            respect to the positions is also checked, as ``1o`` per atom.
        parity: Test reflections (det -1); False for chiral (SO(3)-only) models.
        translation: Test a translation.
        lattice_shifts: Test per-atom lattice shifts (periodic examples only).
        permutation: Test a relabelling of the atoms.
        ntrials: Random elements of each kind (>= 1).
        atol: Absolute tolerance (default :func:`tolerance_for` of each output's dtype).
        rtol: Relative tolerance, times ``max |f|`` of the block (same default).
        allow_zero: Accept an output block that is exactly zero at the example (which any
            check passes).
        no_grad: Run the model under ``torch.no_grad()`` (not with ``forces_from``).
        generator: Random generator (CPU) for reproducible group elements.

    Returns:
        A :class:`ModelCheckReport` (one row per output block and transformation).

    Raises:
        ModelCheckError: An ``AssertionError`` naming, for each failure, the output, the irrep
            block, the transformation and group element, the error and the tolerance, with a
            hint; its ``.report`` has the whole table.
        ValueError: If the positions, cell, outputs or shapes cannot be matched.
        TypeError: If ``example`` is of an unsupported type.

    Example:
        >>> def model(pos, z):
        ...     d = torch.cdist(pos, pos)
        ...     energy = (z[:, None] * z[None, :] * torch.exp(-d)).sum()
        ...     forces = -torch.autograd.grad(energy, pos, create_graph=True)[0]
        ...     return {"energy": energy, "forces": forces}
        >>> example = {"pos": torch.randn(5, 3, dtype=torch.float64).requires_grad_(),
        ...            "z": torch.tensor([1.0, 6.0, 8.0, 1.0, 1.0], dtype=torch.float64)}
        >>> report = check_model(model, example)
        >>> report.ok, sorted({r.transformation for r in report.rows})
        (True, ['permutation', 'reflection', 'rotation', 'translation'])
    """
    __tracebackhide__ = True
    if check_int("ntrials", ntrials, minimum=-(2**62)) < 1:
        raise ValueError(f"ntrials must be >= 1, received {ntrials}: nothing would be tested")
    if not callable(model) and not _is_calculator(model):
        raise TypeError(
            f"model must be callable or an ASE calculator, received {type(model).__name__}"
        )
    adapter = make_adapter(example, positions, cell, fields, index_fields)
    specs = None if outputs is None else [_parse_output(k, v) for k, v in outputs.items()]
    if specs is not None and not specs:
        raise ValueError("outputs is empty: name at least one output to check")
    run = _Run(model, adapter, specs, forces_from, no_grad)
    motions = _motions(
        adapter, ntrials, parity, translation, lattice_shifts, permutation, generator
    )
    zero_lines = [] if allow_zero else _zero_outputs(run)
    rows, failures = _measure(run, motions, atol, rtol)
    report = ModelCheckReport(
        adapter.describe(),
        tuple(
            ModelCheckRow(out, block, name, v[1], v[2], v[3], bool(v[0]), v[4])
            for (out, block, name), v in rows.items()
        ),
    )
    if failures or zero_lines:
        raise ModelCheckError(_message(failures, zero_lines, rows), report)
    return report


def _zero_outputs(run: _Run) -> list[str]:
    """A line per output block that is exactly zero at the example (any check of it passes)."""
    lines = []
    for spec, y in zip(run.specs, run.reference, strict=True):
        for label, sl, _ in spec.blocks(y):
            block = y if sl is None else y[..., sl]
            if block.numel() and float(block.abs().max()) == 0.0:
                lines.append(
                    f"output {spec.quoted} ({label}) is exactly zero at the example, so every "
                    "check of it passes whatever the model does; pass allow_zero=True if zero "
                    "is right"
                )
    return lines


def _measure(
    run: _Run, motions: list[tuple[str, Motion]], atol: float | None, rtol: float | None
) -> tuple[dict, list]:
    """Run every motion; the worst trial per (output, block, transformation), and failures.

    Rows map ``(output, block, transformation)`` to ``[ok, abs error, rel error, tolerance,
    element]``; each failure is ``(spec, block, transformation, motion, error, scale,
    tolerance, flipped, irreps, dtype)``.
    """
    rows: dict[tuple[str, str, str], list] = {}
    failures = []
    for name, motion in motions:
        element = describe_group_element(*_describe(motion))
        moved = run.moved_outputs(motion)
        for spec, y_ref, y_got, dtype in zip(
            run.specs, run.reference, moved, run.dtypes, strict=True
        ):
            expected = run.expected(spec, y_ref, motion)
            if y_got.shape != expected.shape:
                failures.append(
                    (spec, "shape", name, motion, math.inf, 0.0, math.inf, math.inf, None, dtype)
                )
                rows[(spec.label, "shape", name)] = [False, math.inf, math.inf, 0.0, element]
                continue
            a = tolerance_for(dtype) if atol is None else float(atol)
            r = tolerance_for(dtype) if rtol is None else float(rtol)
            for label, sl, irreps in spec.blocks(y_got):
                err, scale, finite, flipped = _block_errors(y_got, expected, sl)
                tol = a + r * (scale if math.isfinite(scale) else 0.0)
                ok = finite and err <= tol
                rel = 0.0 if err == 0.0 else (err / scale if 0 < scale < math.inf else math.inf)
                entry = rows.setdefault((spec.label, label, name), [True, -1.0, 0.0, tol, element])
                if err > entry[1] or (not ok and entry[0]):  # keep the worst trial
                    entry[1:] = [err, rel, tol, element]
                entry[0] = entry[0] and ok
                if not ok:
                    failures.append(
                        (spec, label, name, motion, err, scale, tol, flipped, irreps, dtype)
                    )
    return rows, failures


def _describe(motion: Motion) -> tuple:
    g = motion.g if motion.g is not None else torch.eye(3, dtype=torch.float64)
    return g, motion.translation, motion.permutation


def _message(failures: list, zero_lines: list, rows: dict) -> str:
    seen = set()
    lines = []
    failed = {k for k, v in rows.items() if not v[0]}
    for spec, label, name, motion, err, scale, tol, flipped, irreps, dtype in failures:
        key = (spec.label, label, name)
        if key in seen:
            continue
        seen.add(key)
        element = describe_group_element(*_describe(motion))
        if name == "lattice shift":
            element = "atoms moved by lattice vectors n_i . cell, n_i in {-1, 0, 1}^3"
        if label == "shape":
            lines.append(
                f"output {spec.quoted} changed shape under {name} ({element}): the model "
                "returned a different number of entries"
            )
            continue
        what = f"max |f(h.x) - rho(h) f(x)| = {err:.3e} > tolerance {tol:.3e}"
        if not math.isfinite(err):
            what = "NaN or infinite values"
        failed_here = {k[2] for k in failed if k[:2] == (spec.label, label)}
        rel = err / scale if 0 < scale < math.inf else math.inf
        hint = _hint(name, failed_here, irreps, flipped, err, rel, dtype)
        lines.append(
            f"output {spec.quoted}, irrep {label}, under {name}: {what} (relative error "
            f"{rel:.2e}, max|f| {scale:.2e})\n    h = {element}\n    hint: {hint}"
        )
    lines.extend(zero_lines)
    head = f"check_model failed: {len(failed)} of {len(rows)} checks"
    if zero_lines and not failed:
        head = "check_model failed: an output is zero"
    return head + "\n  " + "\n  ".join(lines)
