"""Deterministic test structures: the shipped molecules, clusters of them, periodic crystals.

Everything here is plain numpy and depends only on a seed, so the hypothesis strategies
(:mod:`equibasis.testing.strategies`), ``equibasis check`` and the tests build the same structure
from the same numbers. Lengths are in Angstrom.
"""

import functools
import json
import math
from collections.abc import Sequence
from importlib import resources
from typing import NamedTuple

import numpy as np

__all__ = ["MoleculeRow", "assemble_cluster", "make_crystal", "molecule_table"]

CLUSTER_GAP = 2.0
"""Smallest distance (Angstrom) between atoms of different molecules of a cluster."""

_CLUSTER_DENSITY = 0.03  # atoms per cubic Angstrom: ~15 neighbours within 5 A, a third of water
_FILLER = 18  # argon: the 1 or 2 atoms a cluster still needs when no molecule is that small


class MoleculeRow(NamedTuple):
    """One molecule of ``equibasis/data/molecules.json``."""

    name: str
    numbers: tuple[int, ...]
    positions: np.ndarray
    chiral: bool


@functools.cache
def molecule_table() -> tuple[MoleculeRow, ...]:
    """The shipped molecules (G2 set plus a few chiral ones), smallest first."""
    text = resources.files("equibasis").joinpath("data", "molecules.json").read_text()
    return tuple(
        MoleculeRow(
            m["name"],
            tuple(m["numbers"]),
            np.asarray(m["positions"], dtype=np.float64),
            bool(m.get("chiral", False)),
        )
        for m in json.loads(text)["molecules"]
    )


def rotation_matrix(rng: np.random.Generator) -> np.ndarray:
    """A Haar-uniform rotation from a normalised Gaussian quaternion, float64 ``(3, 3)``."""
    w, x, y, z = rng.standard_normal(4)
    n = math.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / n, x / n, y / n, z / n
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def _min_distance(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 or len(b) == 0:
        return math.inf
    return float(np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min())


def assemble_cluster(
    num_atoms: int,
    seed: int,
    pool: Sequence[MoleculeRow] | None = None,
    gap: float = CLUSTER_GAP,
) -> tuple[str, np.ndarray, np.ndarray]:
    """A cluster of exactly ``num_atoms`` atoms: shipped molecules, each rotated and placed.

    Molecules are drawn from ``pool`` (default: all shipped ones) among those that still fit,
    rotated by a proper rotation (so a chiral molecule keeps its handedness), and dropped at a
    random point of a cube sized for about 0.03 atoms per cubic Angstrom; a placement closer than
    ``gap`` to an atom already there is retried (the cube grows by 10% after 100 failures). When
    fewer atoms are missing than the smallest molecule has, argon atoms fill the count.

    Args:
        num_atoms: Number of atoms (>= 1).
        seed: Seed of the numpy generator: the same seed gives the same cluster.
        pool: Molecules to draw from.
        gap: Smallest distance between atoms of different molecules, in Angstrom.

    Returns:
        ``(name, numbers (N,) int64, positions (N, 3) float64)``, centred at the origin.
    """
    rng = np.random.default_rng(seed)
    pool = list(molecule_table() if pool is None else pool)
    edge = max(6.0, (num_atoms / _CLUSTER_DENSITY) ** (1.0 / 3.0))
    numbers: list[int] = []
    placed: list[np.ndarray] = []
    names: list[str] = []
    positions = np.zeros((0, 3))
    while len(numbers) < num_atoms:
        missing = num_atoms - len(numbers)
        fits = [row for row in pool if len(row.numbers) <= missing]
        if fits:
            row = fits[int(rng.integers(len(fits)))]
            z, xyz, label = list(row.numbers), row.positions, row.name
            xyz = (xyz - xyz.mean(0)) @ rotation_matrix(rng).T
        else:
            z, xyz, label = [_FILLER], np.zeros((1, 3)), "Ar"
        attempt = 0
        while True:  # the cube grows until the molecule fits: this ends
            shifted = xyz + rng.uniform(-edge / 2, edge / 2, size=3)
            if _min_distance(shifted, positions) >= gap:
                break
            attempt += 1
            if attempt % 100 == 0:
                edge *= 1.1
        numbers += z
        placed.append(shifted)
        names.append(label)
        positions = np.concatenate(placed)
    positions = positions - positions.mean(0)
    name = f"cluster of {len(names)} molecules ({num_atoms} atoms, seed {seed})"
    return name, np.asarray(numbers, dtype=np.int64), positions


def cell_matrix(lengths: Sequence[float], angles: Sequence[float]) -> np.ndarray:
    """Lattice vectors as rows from lengths ``a, b, c`` and angles ``alpha, beta, gamma`` (deg).

    ``a`` along x, ``b`` in the xy plane (the crystallographic standard orientation).
    """
    a, b, c = lengths
    al, be, ga = (math.radians(t) for t in angles)
    cx = c * math.cos(be)
    cy = c * (math.cos(al) - math.cos(be) * math.cos(ga)) / math.sin(ga)
    cz = math.sqrt(max(c * c - cx * cx - cy * cy, 0.0))
    return np.array(
        [[a, 0.0, 0.0], [b * math.cos(ga), b * math.sin(ga), 0.0], [cx, cy, cz]], dtype=np.float64
    )


def min_image_distance(positions: np.ndarray, cell: np.ndarray) -> float:
    """Smallest distance between two atoms or an atom and an image, over the 26 nearest cells."""
    shifts = np.array(
        [(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)], dtype=np.float64
    )
    images = (positions[None, :, :] + (shifts @ cell)[:, None, :]).reshape(-1, 3)
    d = np.sqrt(((positions[:, None, :] - images[None, :, :]) ** 2).sum(-1))
    d[d < 1e-12] = math.inf  # an atom and itself (shift 0)
    return float(d.min())


def make_crystal(
    num_atoms: int,
    seed: int,
    min_distance: float = 1.5,
    elements: Sequence[int] = (1, 3, 6, 8, 11, 14),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random periodic crystal: a triclinic cell and ``num_atoms`` atoms inside it.

    Cell lengths are uniform in ``[3.5, 6] * (num_atoms / 4)^(1/3)`` Angstrom and angles in
    ``[70, 110]`` degrees; fractional coordinates are uniform and rejected while an atom comes
    closer than ``min_distance`` to another atom or to a periodic image of any atom (itself
    included).

    Args:
        num_atoms: Atoms in the cell (>= 1).
        seed: Seed of the numpy generator.
        min_distance: Smallest distance between atoms and images, Angstrom.
        elements: Atomic numbers to draw from.

    Returns:
        ``(numbers (N,) int64, positions (N, 3), cell (3, 3))``: lattice vectors are the rows of
        ``cell``, positions are Cartesian and inside the cell.
    """
    rng = np.random.default_rng(seed)
    scale = max(1.0, num_atoms / 4.0) ** (1.0 / 3.0)
    while True:
        cell = cell_matrix(rng.uniform(3.5, 6.0, 3) * scale, rng.uniform(70.0, 110.0, 3))
        if abs(np.linalg.det(cell)) < 0.3 * np.prod(np.linalg.norm(cell, axis=1)):
            continue  # too flat a cell
        frac = np.zeros((0, 3))
        for _ in range(num_atoms):
            for _attempt in range(200):
                trial = np.concatenate([frac, rng.uniform(0.0, 1.0, (1, 3))])
                if min_image_distance(trial @ cell, cell) >= min_distance:
                    frac = trial
                    break
            else:
                break
        if len(frac) == num_atoms:
            numbers = rng.choice(np.asarray(elements, dtype=np.int64), size=num_atoms)
            return numbers, frac @ cell, cell
