"""Molecular data sets for the benchmark: QM9 (equilibrium energies) and MD sets (forces).

Units everywhere: positions in Å, energies in eV, forces in eV/Å.
"""

from equibasis.datasets._dataset import UNITS, Batch, MolecularDataset
from equibasis.datasets.baseline import CompositionBaseline
from equibasis.datasets.md import generate_md, load_ethanol, load_md
from equibasis.datasets.qm9 import load_qm9, read_qm9pack

__all__ = [
    "UNITS",
    "Batch",
    "CompositionBaseline",
    "MolecularDataset",
    "generate_md",
    "load_dataset",
    "load_ethanol",
    "load_md",
    "load_qm9",
    "read_qm9pack",
]


def load_dataset(name: str) -> MolecularDataset:
    """Load a data set by its benchmark name.

    Args:
        name: ``"qm9"`` (the embedded subset), ``"qm9-full"`` (qm9pack, the ``data`` extra) or
            ``"ethanol"`` (the shipped GFN2-xTB MD frames).
    """
    if name == "qm9":
        return load_qm9("embedded")
    if name == "qm9-full":
        return load_qm9("qm9pack")
    if name == "ethanol":
        return load_ethanol()
    raise ValueError(f"unknown dataset {name!r}; expected 'qm9', 'qm9-full' or 'ethanol'")
