"""How :func:`~equibasis.testing.check_model` calls a model and reads what it returns.

``_Spec`` is one declared output (its key, label and kind: irreps, a single scalar, a Cartesian
2-tensor, positions, or fixed) and ``_parse_output`` builds it from the user's type. ``_Run``
holds the model, the adapter of its example and the float64 reference outputs; it runs the model
on a moved example (``moved_outputs``, with the ``forces_from`` gradient when asked) and moves a
reference output the way its type says (``expected``: ``rho(h) f(x)``).
"""

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from e3nn import o3

from equibasis.testing._examples import Adapter, Motion
from equibasis.testing._group import _apply_wigner, _WignerCache
from equibasis.testing._results import POINTS

TENSOR2 = "cartesian 2-tensor"
"""Output type of rank-2 Cartesian tensors ``(..., 3, 3)`` (stress, virial): ``T -> g T g^T``."""

_TENSOR2_NAMES = {TENSOR2, "cartesian_2_tensor", "cartesian 2 tensor", "2-tensor", "rank-2"}
_DEFAULT_OUTPUTS = {"energy": "0e", "forces": "1o"}


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
                y = _apply_wigner(y, spec.irreps, _WignerCache(motion.g))
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
