"""What every public module shares for deployment: e3nn's compile mark and example inputs.

:class:`Deployable` is the base class of equibasis' public modules. It

* marks the class ``compile_mode("trace")`` for :func:`e3nn.util.jit.compile` (the modules
  validate their inputs in Python, which TorchScript cannot script; traced, they record only
  torch operations: see :mod:`equibasis._runtime`);
* registers an empty, non-persistent buffer first, in torch's default dtype: e3nn traces a
  module in the dtype of its first floating buffer, and without it that would be the float64
  of the bases' constants, whatever dtype the model runs in. It follows ``.to()`` /
  ``.double()`` / ``.float()``, as the model's own parameters do;
* builds random example inputs of the right shapes (:meth:`Deployable.example_inputs`), used
  by e3nn's tracing (``_make_tracing_inputs``) and by the deployment tests and docs.
"""

import math

import torch
from e3nn.util.jit import compile_mode

__all__ = ["Deployable"]


@compile_mode("trace")
class Deployable(torch.nn.Module):
    """Base of the public modules (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("_tracing_dtype", torch.empty(0), persistent=False)

    def example_inputs(self, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Random inputs of ``forward`` (sizes vary with ``seed``), in the module's dtype."""
        raise NotImplementedError

    def _make_tracing_inputs(self, n: int) -> list[dict[str, tuple[torch.Tensor, ...]]]:
        # e3nn.util.jit's hook: ``n`` sets of forward arguments
        return [{"forward": self.example_inputs(seed)} for seed in range(n)]

    def _generator(self, seed: int) -> torch.Generator:
        return torch.Generator().manual_seed(1234 + seed)

    def _uniform(self, gen: torch.Generator, size: int, low: float, high: float) -> torch.Tensor:
        """``size`` numbers uniform in ``[low, high)``, in the module's dtype and device."""
        probe = self._tracing_dtype
        values = low + (high - low) * torch.rand(size, generator=gen, dtype=torch.float64)
        return values.to(dtype=probe.dtype, device=probe.device)

    def _vectors(self, gen: torch.Generator, size: int, scale: float) -> torch.Tensor:
        probe = self._tracing_dtype
        values = scale * torch.randn(size, 3, generator=gen, dtype=torch.float64)
        return values.to(dtype=probe.dtype, device=probe.device)

    def _index(self, gen: torch.Generator, size: int, high: int) -> torch.Tensor:
        return torch.randint(0, high, (size,), generator=gen).to(self._tracing_dtype.device)


class DistanceInput(Deployable):
    """Modules whose ``forward`` takes distances ``r`` of any shape (radial bases, cutoffs)."""

    def example_inputs(self, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Distances in ``[0, 1.2 cutoff)``: beyond the cutoff too."""
        gen = self._generator(seed)
        cutoff = float(getattr(self, "cutoff", 1.0))
        return (self._uniform(gen, 40 + 13 * seed, 0.0, 1.2 * cutoff),)


class PolarInput(Deployable):
    """Angle and torsion bases: ``forward(dist, angle[, phi][, idx_kj])``."""

    _torsion = False  # takes (theta, phi) instead of one angle
    _gathers = True  # takes idx_kj (a distance per edge, gathered per triplet)

    def example_inputs(self, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Distances beyond the cutoff too, angles in ``[0, pi]``, torsions in ``[-pi, pi)``."""
        gen = self._generator(seed)
        edges = 30 + 7 * seed
        triplets = 2 * edges + 5 if self._gathers else edges
        dist = self._uniform(gen, edges, 0.05, 1.2 * float(self.cutoff))
        angles = [self._uniform(gen, triplets, 0.0, math.pi)]
        if self._torsion:
            angles.append(self._uniform(gen, triplets, -math.pi, math.pi))
        if self._gathers:
            return (dist, *angles, self._index(gen, triplets, edges))
        return (dist, *angles)
