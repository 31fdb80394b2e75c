r"""Per-element reference energies from a composition fit: the baseline every model must beat.

.. math:: E(m) \approx \sum_{Z} n_Z(m)\, \varepsilon_Z

with :math:`n_Z(m)` the number of atoms of element Z in molecule m and :math:`\varepsilon_Z`
fitted by least squares on the training set (minimum-norm solution where the compositions are
degenerate: for an MD set of one molecule the fit is the mean energy). Models are trained on
:math:`E - \sum_Z n_Z \varepsilon_Z` and the fit's own error is reported beside them.
"""

from dataclasses import dataclass

import numpy as np
import torch

from equibasis.datasets._dataset import MolecularDataset

__all__ = ["CompositionBaseline"]


@dataclass(frozen=True)
class CompositionBaseline:
    r"""Fitted per-element energies (eV per atom).

    Attributes:
        elements: Atomic numbers fitted, ascending, shape ``(K,)``, int64.
        atom_energy: :math:`\varepsilon_Z` in eV, shape ``(K,)``, float64.

    Example:
        >>> ds = MolecularDataset.from_molecules(
        ...     "toy", [[1, 1], [1, 8, 1]], [[[0.0] * 3] * 2, [[0.0] * 3] * 3], [-2.0, -13.0])
        >>> fit = CompositionBaseline.fit(ds)
        >>> [round(e, 6) for e in fit.atom_energy.tolist()], fit.mae(ds) < 1e-9
        ([-1.0, -11.0], True)
    """

    elements: torch.Tensor
    atom_energy: torch.Tensor

    @classmethod
    def fit(cls, dataset: MolecularDataset) -> "CompositionBaseline":
        """Least-squares fit of per-element energies to ``dataset.energy`` (eV)."""
        if len(dataset) == 0:
            raise ValueError("cannot fit a composition baseline to an empty dataset")
        elements = torch.unique(dataset.z)
        counts = _counts(dataset, elements).numpy()
        solution, *_ = np.linalg.lstsq(counts, dataset.energy.numpy(), rcond=None)
        return cls(elements, torch.from_numpy(solution))

    def table(self, max_z: int = 100) -> torch.Tensor:
        r"""The fitted :math:`\varepsilon_Z` as a table indexed by Z, shape ``(max_z + 1,)``.

        Elements not fitted hold 0.
        """
        table = torch.zeros(max_z + 1, dtype=torch.float64)
        table[self.elements] = self.atom_energy
        return table

    def predict(self, dataset: MolecularDataset) -> torch.Tensor:
        """Baseline energy of every molecule in eV, shape ``(M,)``.

        Raises:
            ValueError: If the dataset holds an element the fit has not seen.
        """
        unseen = set(torch.unique(dataset.z).tolist()) - set(self.elements.tolist())
        if unseen:
            raise ValueError(f"elements {sorted(unseen)} were not in the fitted training set")
        return _counts(dataset, self.elements) @ self.atom_energy

    def mae(self, dataset: MolecularDataset) -> float:
        """Mean absolute error of the baseline on ``dataset``, in eV."""
        return float((self.predict(dataset) - dataset.energy).abs().mean())


def _counts(dataset: MolecularDataset, elements: torch.Tensor) -> torch.Tensor:
    """Composition matrix ``(M, K)``: atoms of each element in each molecule (float64)."""
    column = torch.searchsorted(elements, dataset.z)
    mol = torch.repeat_interleave(torch.arange(len(dataset)), dataset.atom_counts)
    counts = torch.zeros(len(dataset), elements.numel(), dtype=torch.float64)
    counts.index_put_((mol, column), torch.ones(mol.numel(), dtype=torch.float64), accumulate=True)
    return counts
