"""The machinery behind :mod:`equibasis.testing.checks`: one parsed check, and its group elements.

``_Problem`` parses the argument and output types (e3nn irreps, :data:`POINTS` or None), samples
or validates the inputs, evaluates the reference ``f(x)``, moves inputs and outputs by
``(g, t, perm)`` and measures the error of every output block (``_block_error``, float64).
``_cases`` lists the group elements a ``_Plan`` asks for (rotations, reflections, translations and
permutations apart, so a message says which symmetry broke).
"""

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from e3nn import o3

from equibasis._validation import check_int
from equibasis.testing._group import (
    _apply_wigner,
    _check_orthogonal,
    _random_permutation,
    _WignerCache,
    random_rotation,
    random_translation,
)
from equibasis.testing._results import POINTS, EquivarianceResult, IrrepError

Spec = o3.Irreps | str | None


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
                y = _apply_wigner(y, spec, wigner)
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
        t = random_translation(generator)
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


@dataclass(frozen=True)
class _Plan:
    """How an ``assert_*`` check runs: the group elements it tests and how it judges them.

    ``g`` (a fixed element, else ``ntrials`` random rotations, each with ``-R`` when ``parity``),
    ``translation`` and ``permutation`` as the public checks take them; ``atol``, ``rtol`` and
    ``allow_zero`` for the judgement.
    """

    g: torch.Tensor | None
    parity: bool
    translation: bool | torch.Tensor
    permutation: bool | torch.Tensor
    ntrials: int
    generator: torch.Generator | None
    atol: float | None
    rtol: float | None
    allow_zero: bool


def _cases(
    problem: _Problem, plan: _Plan
) -> list[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]]:
    """The group elements to test: rotations, reflections, translations, permutations apart."""
    g, ntrials, generator = plan.g, plan.ntrials, plan.generator
    translation, permutation = plan.translation, plan.permutation
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
            if plan.parity:
                cases.append((-R, None, None))
    for _ in range(1 if g is not None else ntrials):
        if problem.has_points and translation is not False and translation is not None:
            t, _ = _resolve_translation_permutation(problem, translation, False, generator)
            cases.append((eye, t, None))
        if permutation is not False and permutation is not None and problem.num_atoms > 1:
            _, perm = _resolve_translation_permutation(problem, False, permutation, generator)
            cases.append((eye, None, perm))
    return cases
