"""What :func:`~equibasis.testing.check_model` reports: the table, the error and the hints.

:class:`ModelCheckRow` is the worst error of one output block under one kind of transformation,
:class:`ModelCheckReport` the whole table (``.ok``, ``.failures``, ``.to_markdown()``) and
:class:`ModelCheckError` the ``AssertionError`` that carries it. ``_message`` writes the failure
message, with a likely cause per failure from ``_hint``. Re-exported by
:mod:`equibasis.testing.model_check` (their public home).
"""

import math
from dataclasses import dataclass

import torch
from e3nn import o3

from equibasis.testing._examples import Motion
from equibasis.testing._group import describe_group_element

__all__ = ["ModelCheckError", "ModelCheckReport", "ModelCheckRow"]

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


def _describe(motion: Motion) -> str:
    """The group element of a motion in words (the identity where it does not rotate)."""
    g = motion.g if motion.g is not None else torch.eye(3, dtype=torch.float64)
    return describe_group_element(g, motion.translation, motion.permutation)


def _flip_parity(irreps: o3.Irreps | None) -> str:
    if irreps is None:
        return ""
    return str(o3.Irreps([(mul, (ir.l, -ir.p)) for mul, ir in irreps]))


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


def _message(failures: list, zero_lines: list, rows: dict) -> str:
    seen = set()
    lines = []
    failed = {k for k, v in rows.items() if not v[0]}
    for spec, label, name, motion, err, scale, tol, flipped, irreps, dtype in failures:
        key = (spec.label, label, name)
        if key in seen:
            continue
        seen.add(key)
        element = _describe(motion)
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
