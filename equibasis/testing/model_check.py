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

import math
from collections.abc import Callable, Mapping, Sequence

import torch

from equibasis._validation import check_int
from equibasis.testing._examples import Adapter, Motion, _is_calculator, make_adapter
from equibasis.testing._group import _random_permutation, random_rotation, random_translation
from equibasis.testing._model_report import (
    ModelCheckError,
    ModelCheckReport,
    ModelCheckRow,
    _describe,
    _message,
)
from equibasis.testing._model_run import TENSOR2, _parse_output, _Run
from equibasis.testing._results import tolerance_for

__all__ = ["TENSOR2", "ModelCheckError", "ModelCheckReport", "ModelCheckRow", "check_model"]


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
        element = _describe(motion)
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
            out.append(("translation", Motion(translation=random_translation(generator))))
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
            perm[idx] = idx[_random_permutation(len(idx), generator)]
    return perm
