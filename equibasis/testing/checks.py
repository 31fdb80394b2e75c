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
import math
from collections.abc import Callable, Sequence

import torch

from equibasis._validation import check_float_tensor, check_last_dim
from equibasis.testing._group import (
    _check_orthogonal,
    describe_group_element,
    quaternion_to_matrix,
    random_rotation,
)
from equibasis.testing._problem import (
    _as_outputs,
    _cases,
    _Plan,
    _Problem,
    _resolve_translation_permutation,
)
from equibasis.testing._results import (
    _INVARIANT,
    _TOLERANCES,
    POINTS,
    EquivarianceResult,
    IrrepError,
    tolerance_for,
)

__all__ = [
    "POINTS",
    "EquivarianceResult",
    "IrrepError",
    "assert_equivariant",
    "assert_invariant",
    "describe_group_element",
    "equivariance_error",
    "forces_from",
    "quaternion_to_matrix",
    "random_rotation",
    "tolerance_for",
]


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
        >>> from e3nn import o3
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


def _assert_cases(problem: _Problem, plan: _Plan, caller: str) -> list[EquivarianceResult]:
    """Measure every group element of the plan and judge each (raises on the first failure)."""
    __tracebackhide__ = True
    results = []
    for g, t, perm in _cases(problem, plan):
        result = problem.result(g, t, perm)
        _judge(problem, result, plan.atol, plan.rtol, plan.allow_zero, caller)
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
        >>> from e3nn import o3
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
    plan = _Plan(g, parity, translation, permutation, ntrials, generator, atol, rtol, allow_zero)
    return _assert_cases(problem, plan, "assert_equivariant")


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
    plan = _Plan(g, parity, translation, permutation, ntrials, generator, atol, rtol, allow_zero)
    return _assert_cases(problem, plan, "assert_invariant")


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
