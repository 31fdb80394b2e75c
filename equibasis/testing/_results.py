"""What a check measures and returns: the position type, the tolerances, the error records.

:data:`POINTS` names positions (``x -> x @ g.T + t``), :func:`tolerance_for` gives the default
tolerance of a dtype, :class:`IrrepError` holds the error of one output block and
:class:`EquivarianceResult` those of every block under one group element. Re-exported by
:mod:`equibasis.testing.checks` (their public home).
"""

from dataclasses import dataclass, field

import torch

from equibasis.testing._group import describe_group_element

__all__ = ["POINTS", "EquivarianceResult", "IrrepError", "tolerance_for"]

POINTS = "cartesian_points"
"""Input/output type of positions: ``x -> x @ g.T + t`` (the e3nn name)."""

_TOLERANCES = {
    torch.float64: 1e-9,  # e3nn's; a float64 model is typically good to 1e-13
    torch.float32: 1e-4,  # ~1000 ulp: deep float32 models stay below, planted bugs are O(1)
    torch.float16: 1e-2,
    torch.bfloat16: 5e-2,
}

_INVARIANT = "invariant (0e)"


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
