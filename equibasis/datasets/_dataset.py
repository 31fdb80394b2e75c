"""The container every loader returns: molecules stored flat, with energies and forces.

Units: positions in Å, energies in eV, forces in eV/Å (``MolecularDataset.units``).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["UNITS", "Batch", "MolecularDataset"]

UNITS = {"length": "Å", "energy": "eV", "forces": "eV/Å"}
HARTREE_TO_EV = 27.211386245988  # CODATA 2018 (the value ASE uses)


@dataclass(frozen=True)
class Batch:
    """Several molecules concatenated atom by atom (PyG's layout).

    Attributes:
        z: Atomic numbers, shape ``(A,)``, int64.
        pos: Positions in Å, shape ``(A, 3)``, float64.
        batch: Molecule of each atom, shape ``(A,)``, int64 in ``0..B-1``.
        energy: Energies in eV, shape ``(B,)``, float64.
        forces: Forces in eV/Å, shape ``(A, 3)``, float64, or None where the set has none.
    """

    z: torch.Tensor
    pos: torch.Tensor
    batch: torch.Tensor
    energy: torch.Tensor
    forces: torch.Tensor | None

    @property
    def num_molecules(self) -> int:
        """B, the number of molecules."""
        return int(self.energy.shape[0])

    def to(self, dtype: torch.dtype | None = None, device: torch.device | str | None = None):
        """A copy with float tensors in ``dtype`` and every tensor on ``device``."""

        def move(t: torch.Tensor | None, floating: bool) -> torch.Tensor | None:
            if t is None:
                return None
            return t.to(device=device, dtype=dtype if floating else None)

        return Batch(
            move(self.z, False),
            move(self.pos, True),
            move(self.batch, False),
            move(self.energy, True),
            move(self.forces, True),
        )


@dataclass(frozen=True)
class MolecularDataset:
    r"""Molecules with reference energies (and forces), stored flat.

    Molecule ``m`` owns the atoms ``ptr[m]:ptr[m+1]`` of ``z``, ``pos`` and ``forces``.

    Attributes:
        name: Short name (``"qm9-subset"``, ``"qm9"``, ``"ethanol"``).
        z: Atomic numbers, shape ``(A,)``, int64.
        pos: Positions in Å, shape ``(A, 3)``, float64.
        ptr: Offsets, shape ``(M + 1,)``, int64, ``ptr[0] = 0``, ``ptr[-1] = A``.
        energy: Reference energy of each molecule in eV, shape ``(M,)``, float64.
        forces: Forces in eV/Å, shape ``(A, 3)``, float64, or None (equilibrium geometries).
        ids: An identifier per molecule, shape ``(M,)``, int64 (the QM9 index, the MD frame).
        source: Where the numbers come from (method, package, licence).
        units: ``{"length": "Å", "energy": "eV", "forces": "eV/Å"}``.

    Example:
        >>> ds = MolecularDataset.from_molecules(
        ...     "toy", [[1, 1]], [[[0.0, 0.0, 0.0], [0.74, 0.0, 0.0]]], [-31.7], source="made up")
        >>> len(ds), ds.num_atoms, ds[0]["energy"]
        (1, 2, -31.7)
    """

    name: str
    z: torch.Tensor
    pos: torch.Tensor
    ptr: torch.Tensor
    energy: torch.Tensor
    forces: torch.Tensor | None
    ids: torch.Tensor
    source: str = ""
    units: dict[str, str] = field(default_factory=lambda: dict(UNITS))

    def __post_init__(self) -> None:
        m, a = self.energy.shape[0], self.z.shape[0]
        if self.ptr.shape != (m + 1,) or int(self.ptr[0]) != 0 or int(self.ptr[-1]) != a:
            raise ValueError(f"ptr must have shape ({m + 1},) from 0 to {a}")
        if self.pos.shape != (a, 3):
            raise ValueError(f"pos must have shape ({a}, 3), received {tuple(self.pos.shape)}")
        if self.forces is not None and self.forces.shape != (a, 3):
            raise ValueError(f"forces must have shape ({a}, 3), received {self.forces.shape}")
        if self.ids.shape != (m,):
            raise ValueError(f"ids must have shape ({m},), received {tuple(self.ids.shape)}")

    @classmethod
    def from_molecules(
        cls,
        name: str,
        numbers: Sequence[Sequence[int]],
        positions: Sequence,
        energies: Sequence[float],
        forces: Sequence | None = None,
        ids: Sequence[int] | None = None,
        source: str = "",
    ) -> "MolecularDataset":
        """Build from one entry per molecule (atomic numbers, positions in Å, energy in eV)."""
        counts = [len(n) for n in numbers]
        ptr = torch.tensor(np.concatenate([[0], np.cumsum(counts)]), dtype=torch.int64)
        flat = lambda parts: torch.tensor(  # noqa: E731
            np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, 3) for p in parts]),
            dtype=torch.float64,
        )
        z = torch.tensor(np.concatenate([np.asarray(n) for n in numbers]), dtype=torch.int64)
        return cls(
            name,
            z,
            flat(positions),
            ptr,
            torch.tensor(np.asarray(energies, dtype=np.float64)),
            None if forces is None else flat(forces),
            torch.arange(len(counts)) if ids is None else torch.as_tensor(ids, dtype=torch.int64),
            source,
        )

    def __len__(self) -> int:
        return int(self.energy.shape[0])

    @property
    def num_atoms(self) -> int:
        """A, the total number of atoms."""
        return int(self.z.shape[0])

    @property
    def has_forces(self) -> bool:
        """Whether the set has reference forces."""
        return self.forces is not None

    @property
    def atom_counts(self) -> torch.Tensor:
        """Atoms per molecule, shape ``(M,)``."""
        return self.ptr[1:] - self.ptr[:-1]

    def __getitem__(self, m: int) -> dict[str, object]:
        """Molecule ``m`` as a dict: ``z``, ``pos`` (Å), ``energy`` (eV), ``forces``, ``id``."""
        if not -len(self) <= m < len(self):
            raise IndexError(f"molecule {m} out of range for {len(self)} molecules")
        m = m % len(self)
        a, b = int(self.ptr[m]), int(self.ptr[m + 1])
        return {
            "z": self.z[a:b],
            "pos": self.pos[a:b],
            "energy": float(self.energy[m]),
            "forces": None if self.forces is None else self.forces[a:b],
            "id": int(self.ids[m]),
        }

    def _atoms_of(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The atom rows of molecules ``index`` and the molecule (0..len-1) of each row."""
        counts = self.atom_counts[index]
        mol = torch.repeat_interleave(torch.arange(index.numel()), counts)
        first = torch.cumsum(counts, 0) - counts
        rows = self.ptr[index][mol] + torch.arange(int(counts.sum())) - first[mol]
        return rows, mol

    def subset(self, index: Sequence[int] | torch.Tensor, name: str | None = None):
        """The molecules ``index`` (in that order) as a new dataset."""
        index = torch.as_tensor(index, dtype=torch.int64).reshape(-1)
        rows, _ = self._atoms_of(index)
        counts = self.atom_counts[index]
        return MolecularDataset(
            name or self.name,
            self.z[rows],
            self.pos[rows],
            torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(counts, 0)]),
            self.energy[index],
            None if self.forces is None else self.forces[rows],
            self.ids[index],
            self.source,
            dict(self.units),
        )

    def batch(self, index: Sequence[int] | torch.Tensor) -> Batch:
        """Molecules ``index`` concatenated into one :class:`Batch` (float64)."""
        index = torch.as_tensor(index, dtype=torch.int64).reshape(-1)
        rows, mol = self._atoms_of(index)
        return Batch(
            self.z[rows],
            self.pos[rows],
            mol,
            self.energy[index],
            None if self.forces is None else self.forces[rows],
        )

    def split_indices(
        self, n_train: int, n_val: int, n_test: int, seed: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Molecule indices of :meth:`split`'s train, validation and test sets."""
        if min(n_train, n_val, n_test) < 0 or n_train + n_val + n_test > len(self):
            raise ValueError(
                f"n_train + n_val + n_test = {n_train + n_val + n_test} must be <= "
                f"{len(self)} molecules (and each >= 0)"
            )
        perm = torch.from_numpy(np.random.default_rng(seed).permutation(len(self)))
        test = perm[len(self) - n_test :]
        val = perm[len(self) - n_test - n_val : len(self) - n_test]
        return perm[:n_train], val, test

    def split(
        self, n_train: int, n_val: int, n_test: int, seed: int = 0
    ) -> tuple["MolecularDataset", "MolecularDataset", "MolecularDataset"]:
        """Random disjoint train / validation / test sets (a seeded permutation).

        The permutation depends on ``seed`` only, and the test set is taken from its end (the
        validation set just before it), so the same seed gives the same test set for every
        ``n_train`` (learning curves compare models on one test set).

        Raises:
            ValueError: If the three sizes add up to more than ``len(self)``.
        """
        train, val, test = self.split_indices(n_train, n_val, n_test, seed)
        return self.subset(train), self.subset(val), self.subset(test)

    def __repr__(self) -> str:
        forces = ", forces" if self.has_forces else ""
        return (
            f"MolecularDataset({self.name!r}, {len(self)} molecules, {self.num_atoms} atoms"
            f"{forces}; energy in eV)"
        )
