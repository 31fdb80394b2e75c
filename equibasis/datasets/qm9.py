r"""QM9: 130,831 small organic molecules (C, H, O, N, F; up to 9 heavy atoms), B3LYP energies.

Two sources, one container (:class:`~equibasis.datasets.MolecularDataset`, energies in eV):

* ``source="embedded"`` (default): a subset of 4,000 molecules shipped inside equibasis
  (``equibasis/data/qm9_subset.npz``, about 0.9 MB), so a benchmark runs on a fresh machine.
  Selection rule: ``numpy.random.default_rng(0).choice(130831, 4000, replace=False)`` over the
  molecules in the order of qm9pack's CSV files (ascending QM9 index), stored sorted by index.
  Positions are stored as float32 (1e-7 Å), energies exactly as in the CSV (hartree).
  Rebuild it with ``python -m equibasis.datasets qm9-subset --out equibasis/data/qm9_subset.npz``
  (needs the ``data`` extra).
* ``source="qm9pack"``: every molecule, read from the CSV files inside the installed
  ``qm9pack`` package (``pip install equibasis[data]``; the wheel is about 104 MB, nothing is
  downloaded at run time).

The target is the internal energy at 0 K, :math:`U_0` (``InternalEnergy_0K_au``, hartree),
converted to eV with 1 Ha = 27.211386245988 eV (CODATA 2018). Geometries are the B3LYP/6-31G(2df,p)
equilibrium structures (``XYZ_Ang``, Å), so there are no forces.

Source and licence: Ramakrishnan, Dral, Rupp, von Lilienfeld, "Quantum chemistry structures and
properties of 134 kilo molecules", Sci. Data 1, 140022 (2014) (CC0 data), as packaged by
R. Ramakrishnan in ``qm9pack`` (MIT licence).
"""

import argparse
import csv
import importlib.util
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch

from equibasis.datasets._dataset import HARTREE_TO_EV, MolecularDataset

__all__ = ["QM9_SIZE", "load_qm9", "qm9pack_data_dir", "read_qm9pack", "subset_indices"]

QM9_SIZE = 130_831  # molecules in qm9pack (133,885 minus the 3,054 that failed the check)
SUBSET_SIZE = 4000
SUBSET_SEED = 0
_ELEMENTS = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}
_FILES = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
_SOURCE = (
    "QM9 (Ramakrishnan et al., Sci. Data 1, 140022, 2014; CC0), B3LYP/6-31G(2df,p) U0, "
    "from the qm9pack package (MIT)"
)


def _embedded_path() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "qm9_subset.npz"


def qm9pack_data_dir() -> Path:
    """The folder of QM9 CSV files inside the installed ``qm9pack`` package.

    The package is located without importing it (its ``__init__`` needs pandas and
    ``pkg_resources``, which equibasis does not).

    Raises:
        ImportError: If qm9pack is not installed, naming the extra that brings it.
    """
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "QM9 from qm9pack needs the 'data' extra: pip install 'equibasis[data]' "
            "(or load the embedded subset with source='embedded')"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    missing = [name for name in _FILES if not (folder / name).is_file()]
    if missing:
        raise ImportError(f"qm9pack is installed but lacks {', '.join(missing)} in {folder}")
    return folder


def _parse_row(row: list[str], header: dict[str, int]) -> "_Row":
    """(QM9 index, atomic numbers, positions (n, 3) in Å, U0 in hartree) of one CSV row."""
    symbols = row[header["Elements"]].strip("[]").replace("'", "").split(",")
    z = np.array([_ELEMENTS[s.strip()] for s in symbols], dtype=np.int64)
    xyz = row[header["XYZ_Ang"]].replace("[", "").replace("]", "").split(",")
    pos = np.array(xyz, dtype=np.float64).reshape(-1, 3)
    if pos.shape[0] != z.shape[0] or int(row[header["N_atoms"]]) != z.shape[0]:
        raise ValueError(f"malformed QM9 row {row[header['Index']]}: atom counts disagree")
    return int(row[header["Index"]]), z, pos, float(row[header["InternalEnergy_0K_au"]])


_Row = tuple[int, np.ndarray, np.ndarray, float]


def _rows(folder: Path, wanted: set[int] | None) -> Iterator[_Row]:
    """Stream the parsed rows (all, or those whose QM9 index is in ``wanted``) in file order."""
    remaining = None if wanted is None else set(wanted)
    for name in _FILES:
        with open(folder / name, newline="", encoding="utf-8") as handle:
            header_row = next(csv.reader([handle.readline()]))
            header = {key: i for i, key in enumerate(header_row)}
            for line in handle:
                if remaining is not None:
                    # the index is the second field, before any quoted comma: a cheap look first
                    if int(line.split(",", 2)[1]) not in remaining:
                        continue
                row = next(csv.reader([line]))
                parsed = _parse_row(row, header)
                yield parsed
                if remaining is not None:
                    remaining.discard(parsed[0])
                    if not remaining:
                        return


def read_qm9pack(indices: Iterable[int] | None = None) -> MolecularDataset:
    """Read QM9 molecules from the installed qm9pack CSV files (energies U0 in eV).

    Args:
        indices: QM9 indices (1..133885, the number in ``dsgdb9nsd_XXXXXX.xyz``) to read, or
            None for all 130,831 molecules (about a minute of parsing).

    Returns:
        A :class:`MolecularDataset` named ``"qm9"``, molecules in ascending QM9 index, no forces.

    Raises:
        ImportError: If qm9pack is not installed.
        KeyError: If a requested index is not in QM9.
    """
    folder = qm9pack_data_dir()
    wanted = None if indices is None else {int(i) for i in indices}
    ids, numbers, positions, energies = [], [], [], []
    for index, z, pos, u0 in _rows(folder, wanted):
        ids.append(index)
        numbers.append(z)
        positions.append(pos)
        energies.append(u0 * HARTREE_TO_EV)
    if wanted is not None and len(ids) != len(wanted):
        raise KeyError(f"QM9 has no molecule with index {sorted(wanted - set(ids))[:5]}")
    order = np.argsort(ids, kind="stable")
    pick = lambda items: [items[i] for i in order]  # noqa: E731
    return MolecularDataset.from_molecules(
        "qm9", pick(numbers), pick(positions), pick(energies), ids=pick(ids), source=_SOURCE
    )


def subset_indices(size: int = SUBSET_SIZE, seed: int = SUBSET_SEED) -> np.ndarray:
    """Row numbers (0-based, in qm9pack's file order) of the embedded subset's selection rule."""
    rows = np.random.default_rng(seed).choice(QM9_SIZE, size, replace=False)
    return np.sort(rows)


def load_qm9(source: str = "embedded") -> MolecularDataset:
    """QM9 molecules with U0 energies in eV (see the module docstring for both sources).

    Args:
        source: ``"embedded"`` (the shipped 4,000-molecule subset) or ``"qm9pack"`` (all
            130,831 molecules from the ``data`` extra).

    Returns:
        A :class:`MolecularDataset` (``"qm9-subset"`` or ``"qm9"``), positions in Å, energies
        in eV, no forces.

    Raises:
        ValueError: On an unknown source.
        ImportError: For ``"qm9pack"`` when the extra is missing.

    Example:
        >>> qm9 = load_qm9()
        >>> len(qm9), qm9.units["energy"], qm9.has_forces
        (4000, 'eV', False)
    """
    if source == "qm9pack":
        return read_qm9pack()
    if source != "embedded":
        raise ValueError(f"source must be 'embedded' or 'qm9pack', received {source!r}")
    with np.load(_embedded_path()) as data:
        counts = torch.from_numpy(data["counts"].astype(np.int64))
        return MolecularDataset(
            "qm9-subset",
            torch.from_numpy(data["z"].astype(np.int64)),
            torch.from_numpy(data["pos"].astype(np.float64)),
            torch.cat([torch.zeros(1, dtype=torch.int64), torch.cumsum(counts, 0)]),
            torch.from_numpy(data["u0_hartree"]) * HARTREE_TO_EV,
            None,
            torch.from_numpy(data["index"].astype(np.int64)),
            _SOURCE + f"; embedded subset of {counts.numel()} (seeded rule, see docs)",
        )


def _write_subset(out: Path, size: int, seed: int) -> None:
    """Apply the selection rule to the qm9pack CSV files and write the compact npz."""
    rows = set(subset_indices(size, seed).tolist())
    index, numbers, positions, u0 = [], [], [], []
    for row, (i, z, pos, energy) in enumerate(_rows(qm9pack_data_dir(), None)):
        if row in rows:
            index.append(i)
            numbers.append(z)
            positions.append(pos)
            u0.append(energy)
    if row + 1 != QM9_SIZE:
        raise RuntimeError(f"expected {QM9_SIZE} molecules in qm9pack, read {row + 1}")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        index=np.array(index, dtype=np.int32),
        counts=np.array([len(z) for z in numbers], dtype=np.uint8),
        z=np.concatenate(numbers).astype(np.uint8),
        pos=np.concatenate(positions).astype(np.float32),
        u0_hartree=np.array(u0, dtype=np.float64),
    )
    print(f"wrote {out}: {len(index)} molecules, {out.stat().st_size / 1e6:.2f} MB")


def main(argv: list[str] | None = None) -> int:
    """``python -m equibasis.datasets qm9-subset``: rebuild the embedded subset from qm9pack."""
    parser = argparse.ArgumentParser(description="Rebuild the embedded QM9 subset from qm9pack.")
    parser.add_argument("--out", type=Path, default=_embedded_path(), help="npz file to write")
    parser.add_argument("--size", type=int, default=SUBSET_SIZE, help="molecules (4000)")
    parser.add_argument("--seed", type=int, default=SUBSET_SEED, help="selection seed (0)")
    args = parser.parse_args(argv)
    _write_subset(args.out, args.size, args.seed)
    return 0
