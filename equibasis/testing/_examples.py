"""Adapters between :func:`~equibasis.testing.check_model` and the inputs models take.

An example is what a model is called with: a PyG ``Data``/``Batch`` (or any object with
attributes), a dict (MACE, e3nn's ``gate_points_2101``), an ASE ``Atoms`` (with or without a
calculator), or a tuple of positional arguments. Each adapter knows how to read the example's
fields, how to build a transformed copy (positions and cell rotated, reflected, translated or
shifted by lattice vectors; per-atom fields permuted together; atom-index fields relabelled) and
how to call the model with it. Neither torch_geometric nor ase is imported here: they are
recognised by duck typing (``to_dict``/``clone``; ``get_positions``/``get_cell``).
"""

import copy
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from equibasis.testing._group import _apply_wigner, _WignerCache

__all__ = ["Adapter", "Motion", "make_adapter"]

_POSITION_NAMES = ("pos", "positions", "R")
_INDEX_NAMES = ("senders", "receivers", "edge_src", "edge_dst")


@dataclass(frozen=True)
class Motion:
    """One group element acting on an example (all parts float64 on the CPU, or None).

    Attributes:
        g: Orthogonal matrix applied to positions, cell and declared fields (``x -> x @ g.T``).
        translation: Added to every position, shape ``(3,)``.
        shift: Integer lattice shift of each atom, shape ``(N, 3)``: position ``+= n @ cell``.
        permutation: New order of the atoms, shape ``(N,)``: atom ``k`` of the new example is
            atom ``permutation[k]`` of the old one.
    """

    g: torch.Tensor | None = None
    translation: torch.Tensor | None = None
    shift: torch.Tensor | None = None
    permutation: torch.Tensor | None = None


def _is_atoms(example: object) -> bool:
    return all(hasattr(example, a) for a in ("get_positions", "get_cell", "get_pbc", "numbers"))


def _is_calculator(model: object) -> bool:
    return hasattr(model, "get_property") and hasattr(model, "calculate")


def _to64(x: object) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach().to(torch.float64)
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def _like(y: torch.Tensor, x: object) -> object:
    """``y`` (float64) back in the type, dtype and device of ``x``."""
    if isinstance(x, torch.Tensor):
        return y.to(device=x.device, dtype=x.dtype)
    return y.cpu().numpy().astype(np.asarray(x).dtype, copy=False)


def _leading(x: object) -> int | None:
    shape = getattr(x, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) >= 1 else None


def _is_integer(x: object) -> bool:
    if isinstance(x, torch.Tensor):
        return not x.is_floating_point() and not x.is_complex() and x.dtype != torch.bool
    return isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.integer)


def _index(x: object, perm: torch.Tensor) -> object:
    if isinstance(x, torch.Tensor):
        return x[perm.to(x.device)]
    return np.asarray(x)[perm.numpy()]


def _relabel(x: object, inverse: torch.Tensor) -> object:
    if isinstance(x, torch.Tensor):
        return inverse.to(x.device)[x]
    return inverse.numpy()[np.asarray(x)]


class Adapter:
    """Read, transform and run one example (the base class serves field-based examples).

    Attributes:
        kind: ``"object"``, ``"dict"``, ``"args"`` or ``"atoms"``.
        example: The example as given.
        positions: Key of the positions field.
        cell: Key of the cell field, or None (not periodic).
        num_atoms: Number of atoms N.
    """

    kind = "fields"

    def __init__(
        self,
        example: object,
        positions: object,
        cell: object,
        fields: Mapping[object, object] | None,
        index_fields: Sequence[object] | None,
    ) -> None:
        from e3nn import o3

        self.example = example
        values = self.fields()
        self.positions = self._find_positions(values, positions)
        pos = values[self.positions]
        if getattr(pos, "ndim", 0) != 2 or pos.shape[-1] != 3:
            raise ValueError(
                f"positions field {self.positions!r} must have shape (N, 3), received "
                f"{tuple(getattr(pos, 'shape', ()))}"
            )
        self.num_atoms = int(pos.shape[0])
        self.cell = self._find_cell(values, cell)
        self.irreps = {}
        for key, spec in (fields or {}).items():
            if key not in values:
                raise ValueError(f"fields names {key!r}, which the example does not have")
            self.irreps[key] = o3.Irreps(spec)
        if index_fields is None:
            index_fields = [
                k
                for k, v in values.items()
                if _is_integer(v)
                and isinstance(k, str)
                and (k == "edge_index" or k.endswith("_index") or k in _INDEX_NAMES)
            ]
        self.index_fields = tuple(index_fields)
        batch = values.get("batch") if isinstance(values, dict) else None
        self.batch = (
            batch.detach().cpu() if isinstance(batch, torch.Tensor) and _is_integer(batch) else None
        )
        if self.batch is not None and tuple(self.batch.shape) != (self.num_atoms,):
            self.batch = None

    # -- reading -------------------------------------------------------------------------
    def fields(self) -> dict:
        """The example's fields, key -> value."""
        raise NotImplementedError

    def _find_positions(self, values: dict, positions: object) -> object:
        if positions is not None:
            if positions not in values:
                raise ValueError(
                    f"positions={positions!r} is not a field of the example; its fields are "
                    f"{list(values)}"
                )
            return positions
        found = [k for k in _POSITION_NAMES if k in values]
        if len(found) == 1:
            return found[0]
        raise ValueError(
            f"cannot tell which field holds the positions (fields: {list(values)}): name it, "
            f"e.g. positions={next(iter(values), 'pos')!r}"
        )

    def _find_cell(self, values: dict, cell: object) -> object:
        if isinstance(cell, (torch.Tensor, np.ndarray)):
            raise TypeError(
                "cell must name the example's cell field (the model has to receive the cell "
                "to be rotated with it), not be a tensor: put it in the example, e.g. "
                "{'pos': ..., 'cell': cell}"
            )
        if cell is False:
            return None
        if cell is None or cell is True:
            if "cell" in values and values["cell"] is not None:
                return "cell"
            if cell is True:
                raise ValueError("cell=True but the example has no field named 'cell'")
            return None
        if cell not in values:
            raise ValueError(f"cell={cell!r} is not a field of the example ({list(values)})")
        return cell

    def describe(self) -> str:
        """E.g. ``"dict example, 12 atoms, periodic"``."""
        periodic = ", periodic (cell field " + repr(self.cell) + ")" if self.cell else ""
        return f"{self.kind} example, {self.num_atoms} atoms{periodic}"

    def cell_per_atom(self, values: dict) -> torch.Tensor:
        """The cell of each atom's structure, float64 ``(N, 3, 3)``."""
        cell = _to64(values[self.cell])
        if cell.shape == (3, 3):
            return cell.expand(self.num_atoms, 3, 3)
        if cell.ndim == 2 and cell.shape[1] == 3 and cell.shape[0] % 3 == 0:
            cell = cell.reshape(-1, 3, 3)  # MACE and PyG stack the cells of a batch as (3B, 3)
        if cell.ndim == 3 and self.batch is not None:
            return cell[self.batch.to(cell.device)]
        if cell.ndim == 3 and cell.shape[0] == 1:
            return cell.expand(self.num_atoms, 3, 3)
        raise ValueError(
            f"cell field {self.cell!r} has shape {tuple(cell.shape)}: expected (3, 3), or "
            "(B, 3, 3) / (3B, 3) with a per-atom 'batch' field"
        )

    # -- transforming --------------------------------------------------------------------
    def moved_fields(self, motion: Motion) -> dict:
        """The fields after ``motion`` (only the changed ones)."""
        values = self.fields()
        out = {}
        pos = _to64(values[self.positions])
        g = motion.g
        if motion.shift is not None:
            cell = self.cell_per_atom(values).to(pos.device)
            pos = pos + torch.einsum("nk,nkc->nc", motion.shift.to(pos.device), cell)
        if g is not None:
            pos = pos @ g.to(pos.device).T
            if self.cell is not None:
                out[self.cell] = _like(
                    _to64(values[self.cell]) @ g.to(pos.device).T, values[self.cell]
                )
            wigner = _WignerCache(g)
            for key, irreps in self.irreps.items():
                out[key] = _like(_apply_wigner(_to64(values[key]), irreps, wigner), values[key])
        if motion.translation is not None:
            pos = pos + motion.translation.to(pos.device)
        original = values[self.positions]
        out[self.positions] = _like(pos, original)
        perm = motion.permutation
        if perm is not None:
            inverse = torch.empty_like(perm)
            inverse[perm] = torch.arange(len(perm))
            for key, value in values.items():
                current = out.get(key, value)
                if key in self.index_fields:
                    out[key] = _relabel(current, inverse)
                elif key != self.cell and _leading(current) == self.num_atoms:
                    out[key] = _index(current, perm)
        if isinstance(original, torch.Tensor) and original.requires_grad:
            # a model that differentiates with respect to its input positions needs a leaf
            out[self.positions] = out[self.positions].detach().requires_grad_(True)
        return out

    def moved(self, motion: Motion) -> object:
        """A new example: this one after ``motion``."""
        raise NotImplementedError

    def with_grad(self, example: object) -> tuple[object, torch.Tensor]:
        """A copy of ``example`` whose positions are a leaf that requires grad, and them."""
        pos = self._read(example)[self.positions]
        if not isinstance(pos, torch.Tensor) or not pos.is_floating_point():
            raise TypeError("forces_from needs the positions to be a floating torch tensor")
        pos = pos.detach().requires_grad_(True)
        return self._replace(example, {self.positions: pos}), pos

    # -- running -------------------------------------------------------------------------
    def call(self, model: Callable, example: object, wanted: Sequence[object]) -> object:
        """Run ``model`` on ``example`` (by fields when its signature asks for them)."""
        names = _required_parameters(model)
        values = self._read(example)
        if names and all(n in values for n in names):
            params = _parameters(model)
            return model(**{k: v for k, v in values.items() if k in params})
        return model(example)

    def _read(self, example: object) -> dict:
        raise NotImplementedError

    def _replace(self, example: object, changes: dict) -> object:
        raise NotImplementedError


def _parameters(model: Callable) -> dict:
    target = model.forward if isinstance(model, torch.nn.Module) else model
    try:
        return dict(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        return {}


def _required_parameters(model: Callable) -> list[str]:
    return [
        name
        for name, p in _parameters(model).items()
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


class _DictAdapter(Adapter):
    kind = "dict"

    def fields(self) -> dict:
        return dict(self.example)

    def _read(self, example: object) -> dict:
        return dict(example)

    def _replace(self, example: object, changes: dict) -> object:
        return {**example, **changes}

    def moved(self, motion: Motion) -> object:
        return self._replace(self.example, self.moved_fields(motion))


class _ObjectAdapter(Adapter):
    kind = "object"

    def fields(self) -> dict:
        return self._read(self.example)

    def _read(self, example: object) -> dict:
        to_dict = getattr(example, "to_dict", None)
        if callable(to_dict):  # PyG Data / Batch
            return dict(to_dict())
        return {k: v for k, v in vars(example).items() if not k.startswith("_")}

    def _replace(self, example: object, changes: dict) -> object:
        clone = getattr(example, "clone", None)
        new = clone() if callable(clone) else copy.copy(example)
        for key, value in changes.items():
            setattr(new, key, value)
        return new

    def moved(self, motion: Motion) -> object:
        return self._replace(self.example, self.moved_fields(motion))


class _ArgsAdapter(Adapter):
    kind = "args"

    def fields(self) -> dict:
        return dict(enumerate(self.example))

    def _find_positions(self, values: dict, positions: object) -> object:
        if positions is not None:
            return super()._find_positions(values, positions)
        found = [
            k
            for k, v in values.items()
            if isinstance(v, torch.Tensor)
            and v.is_floating_point()
            and v.ndim == 2
            and v.shape[-1] == 3
        ]
        if len(found) == 1:
            return found[0]
        raise ValueError(
            "cannot tell which positional argument holds the positions (one floating (N, 3) "
            f"tensor expected, found {len(found)}): pass positions=<its index>"
        )

    def _find_cell(self, values: dict, cell: object) -> object:
        if cell is None or cell is False:
            return None  # positional arguments have no names: a cell is given by its index
        return super()._find_cell(values, cell)

    def _read(self, example: object) -> dict:
        return dict(enumerate(example))

    def _replace(self, example: object, changes: dict) -> object:
        return tuple(changes.get(i, v) for i, v in enumerate(example))

    def moved(self, motion: Motion) -> object:
        return self._replace(self.example, self.moved_fields(motion))

    def call(self, model: Callable, example: object, wanted: Sequence[object]) -> object:
        return model(*example)


class _AtomsAdapter(Adapter):
    """ASE ``Atoms``: positions and cell found by ASE's accessors; a calculator is run by ASE."""

    kind = "atoms"

    def __init__(self, example: object, positions: object, cell: object, fields, index_fields):
        if positions not in (None, "positions"):
            raise ValueError("for ASE Atoms the positions are atoms.positions; leave positions")
        if fields:
            raise ValueError("fields= is not supported for ASE Atoms (only positions and cell)")
        self.example = example
        self.positions = "positions"
        self.num_atoms = len(example)
        periodic = bool(np.any(example.get_pbc()))
        if cell is True and not periodic:
            raise ValueError("cell=True but the Atoms have pbc=False in every direction")
        self.cell = "cell" if (periodic and cell is not False) else None
        self.irreps, self.index_fields, self.batch = {}, (), None

    def fields(self) -> dict:
        out = {"positions": self.example.get_positions(), "numbers": self.example.numbers}
        if self.cell:
            out["cell"] = np.asarray(self.example.get_cell())
        return out

    def cell_per_atom(self, values: dict) -> torch.Tensor:
        return _to64(values["cell"]).expand(self.num_atoms, 3, 3)

    def moved(self, motion: Motion) -> object:
        atoms = self.example.copy()
        atoms.calc = None
        pos = _to64(atoms.get_positions())
        if motion.shift is not None:
            pos = pos + motion.shift @ _to64(np.asarray(atoms.get_cell()))
        if motion.g is not None:
            pos = pos @ motion.g.T
            atoms.set_cell(np.asarray(atoms.get_cell()) @ motion.g.numpy().T, scale_atoms=False)
        if motion.translation is not None:
            pos = pos + motion.translation
        atoms.set_positions(pos.numpy())
        if motion.permutation is not None:
            atoms = atoms[motion.permutation.numpy()]
        return atoms

    def with_grad(self, example: object) -> tuple[object, torch.Tensor]:
        raise TypeError(
            "forces_from does not apply to ASE Atoms (no autograd through ASE): ask the "
            "calculator for 'forces' in outputs instead"
        )

    def call(self, model: Callable, example: object, wanted: Sequence[object]) -> object:
        if not _is_calculator(model):
            return model(example)
        if hasattr(model, "reset"):
            model.reset()  # ASE caches results per Atoms; never reuse the previous geometry's
        example = example.copy()  # the user's Atoms keep their own calculator
        example.calc = model
        out = {}
        for name in wanted:
            value = np.asarray(model.get_property(name, example))
            if name == "stress" and value.shape == (6,):  # Voigt xx yy zz yz xz xy
                xx, yy, zz, yz, xz, xy = value
                value = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
            out[name] = value
        return out


def make_adapter(
    example: object,
    positions: object = None,
    cell: object = None,
    fields: Mapping[object, object] | None = None,
    index_fields: Sequence[object] | None = None,
) -> Adapter:
    """The adapter for ``example``: ASE Atoms, a dict, a tuple/list, or an attribute object.

    Raises:
        TypeError: If ``example`` is none of these (e.g. a bare tensor).
    """
    if _is_atoms(example):
        return _AtomsAdapter(example, positions, cell, fields, index_fields)
    if isinstance(example, Mapping):
        return _DictAdapter(example, positions, cell, fields, index_fields)
    if isinstance(example, (tuple, list)):
        return _ArgsAdapter(example, positions, cell, fields, index_fields)
    if isinstance(example, torch.Tensor) or isinstance(example, np.ndarray):
        raise TypeError(
            "example must be what the model takes (a PyG Data/Batch or attribute object, a "
            "dict, an ASE Atoms, or a tuple of positional arguments); for a bare positions "
            "tensor pass (pos,) or use assert_invariant / assert_equivariant"
        )
    if callable(getattr(example, "to_dict", None)) or hasattr(example, "__dict__"):
        return _ObjectAdapter(example, positions, cell, fields, index_fields)
    raise TypeError(f"example of type {type(example).__name__} is not supported")
