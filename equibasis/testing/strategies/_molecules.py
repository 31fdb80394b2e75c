"""Strategies of structures: real molecules (and clusters of them), batches, periodic crystals.

Each structure is a shipped or seeded one (:mod:`equibasis.testing._structures`) moved by a rigid
motion drawn from :mod:`equibasis.testing.strategies._geometry`; molecules shrink to water in its
reference orientation, batches to two waters, crystals to one atom in the cell of seed 0.
"""

from collections.abc import Sequence

import numpy as np
import torch
from hypothesis import strategies as st

from equibasis._validation import check_int, check_positive
from equibasis.testing._structures import assemble_cluster, make_crystal, molecule_table
from equibasis.testing.strategies._geometry import orthogonal_matrices, rotations, translations
from equibasis.testing.strategies._records import (
    Crystal,
    DeviceLike,
    Molecule,
    MoleculeBatch,
    _check_dtype,
    _tensor,
)

__all__ = ["crystals", "molecule_batches", "molecules"]


def _rigid_motions(
    rigid_motion: bool, reflections: bool, max_translation: float
) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    if not rigid_motion:
        return st.just((np.eye(3), np.zeros(3)))
    rot = orthogonal_matrices() if reflections else rotations()
    return st.tuples(
        rot.map(lambda m: m.numpy()), translations(max_translation).map(lambda t: t.numpy())
    )


def molecules(
    names: Sequence[str] | None = None,
    max_atoms: int | None = None,
    rigid_motion: bool = True,
    reflections: bool = False,
    max_translation: float = 10.0,
    dtype: torch.dtype = torch.float64,
    device: DeviceLike = "cpu",
    *,
    min_atoms: int | None = None,
    chiral: bool | None = None,
) -> st.SearchStrategy[Molecule]:
    """Real molecular geometries (see :func:`load_molecules`) and clusters of them, moved rigidly.

    Each draw picks a shipped molecule and, with ``rigid_motion``, applies a rotation from
    :func:`rotations` (an element of :func:`orthogonal_matrices` with ``reflections``) and a
    translation from :func:`translations`. Sizes beyond the shipped set (more than 15 atoms, e.g.
    ``min_atoms=30`` or ``max_atoms=300``) are **clusters**: shipped molecules rotated and packed
    at random, at least 2 Angstrom apart, about 0.03 atoms per cubic Angstrom (argon atoms fill
    the last one or two places when no molecule is small enough); their name says
    ``"cluster of k molecules (N atoms, seed s)"``. Size-dependent bugs (a ``cdist`` that switches
    algorithm above 25 atoms, a neighbour list capped at 32 neighbours) only show there. Shrinks
    to water in its reference orientation (or to the smallest cluster of seed 0).

    Args:
        names: Restrict to these molecule names (default: all 48, and clusters when the sizes
            ask for them; with names, no clusters).
        max_atoms: Largest number of atoms (default: 15, the largest shipped molecule, or
            ``2 * min_atoms`` when ``min_atoms`` is larger).
        rigid_motion: Apply a random rotation and translation.
        reflections: Also draw improper motions (mirror images), only with ``rigid_motion``.
        max_translation: Bound on each translation component, in Angstrom.
        dtype: Floating dtype of the positions.
        device: Device of the tensors.
        min_atoms: Smallest number of atoms (default 1).
        chiral: True: chiral molecules only (clusters are made of them); False: the others;
            None: all. A cluster of achiral molecules is still, as a whole, not superimposable on
            its mirror image in general.

    Returns:
        A strategy of :class:`Molecule`.

    Raises:
        ValueError: If a name is unknown or no molecule is left after filtering.

    Example:
        >>> from hypothesis import find
        >>> find(molecules(), lambda mol: len(mol.numbers) > 5).name  # unrotated, untranslated
        'C2H4'
        >>> len(find(molecules(min_atoms=30), lambda mol: True).numbers)
        30
    """
    _check_dtype(dtype)
    table = molecule_table()
    known = [row.name for row in table]
    if names is not None:
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise ValueError(f"names contains unknown molecules {unknown}; known: {known}")
        table = tuple(row for row in table if row.name in set(names))
    if chiral is not None:
        table = tuple(row for row in table if row.chiral == bool(chiral))
    pool = table
    low = 1 if min_atoms is None else check_int("min_atoms", min_atoms, minimum=1)
    largest = max((len(row.numbers) for row in pool), default=0)
    if max_atoms is None:
        high = largest if low <= largest else 2 * low
    else:
        high = check_int("max_atoms", max_atoms, minimum=1)
    if high < low:
        raise ValueError(f"max_atoms ({high}) must be >= min_atoms ({low})")
    table = tuple(row for row in table if low <= len(row.numbers) <= high)
    clusters = names is None and bool(pool) and high > largest
    if not table and not clusters:
        raise ValueError(
            "no molecule is left after filtering by names, chiral, min_atoms and max_atoms"
        )
    motion = _rigid_motions(rigid_motion, reflections, max_translation)

    def build(args: tuple) -> Molecule:
        (name, numbers, pos), (g, t) = args
        return Molecule(
            name,
            torch.as_tensor(np.asarray(numbers, dtype=np.int64)).to(device),
            _tensor(pos @ g.T + t, dtype, device),
        )

    choices = []
    if table:
        choices.append(st.sampled_from(table).map(lambda row: row[:3]))
    if clusters:
        sizes = st.integers(max(low, largest + 1), high)
        seeds = st.integers(0, 2**32 - 1)
        choices.append(st.tuples(sizes, seeds).map(lambda ns: assemble_cluster(ns[0], ns[1], pool)))
    return st.tuples(st.one_of(choices), motion).map(build)


def molecule_batches(
    min_molecules: int = 2,
    max_molecules: int = 4,
    max_atoms: int | None = None,
    reflections: bool = False,
    max_translation: float = 3.0,
    dtype: torch.dtype = torch.float64,
    device: DeviceLike = "cpu",
    *,
    min_atoms: int | None = None,
    chiral: bool | None = None,
) -> st.SearchStrategy[MoleculeBatch]:
    """Batches of several molecules, each drawn by :func:`molecules` and moved on its own.

    The molecules overlap in space (each within ``max_translation`` of the origin), so a model
    that lets atoms of different molecules interact (a radius graph that ignores ``batch``) is
    caught. Shrinks to ``min_molecules`` waters.

    Args:
        min_molecules: Fewest molecules (>= 1).
        max_molecules: Most molecules (>= min_molecules).
        max_atoms: Largest molecule (see :func:`molecules`).
        reflections: Also draw mirror images.
        max_translation: Bound on each translation component, Angstrom.
        dtype: Floating dtype of the positions.
        device: Device of the tensors.
        min_atoms: Smallest molecule (see :func:`molecules`).
        chiral: Filter on chirality (see :func:`molecules`).

    Returns:
        A strategy of :class:`MoleculeBatch`.

    Example:
        >>> from hypothesis import find
        >>> b = find(molecule_batches(), lambda b: True)
        >>> b.names, b.batch.tolist()
        (('H2O', 'H2O'), [0, 0, 0, 1, 1, 1])
    """
    min_molecules = check_int("min_molecules", min_molecules, minimum=1)
    max_molecules = check_int("max_molecules", max_molecules, minimum=min_molecules)
    one = molecules(
        max_atoms=max_atoms,
        reflections=reflections,
        max_translation=max_translation,
        dtype=dtype,
        device=device,
        min_atoms=min_atoms,
        chiral=chiral,
    )

    def join(mols: list[Molecule]) -> MoleculeBatch:
        batch = torch.cat(
            [torch.full((len(m.numbers),), k, dtype=torch.int64) for k, m in enumerate(mols)]
        ).to(device)
        return MoleculeBatch(
            tuple(m.name for m in mols),
            torch.cat([m.numbers for m in mols]),
            torch.cat([m.positions for m in mols]),
            batch,
        )

    return st.lists(one, min_size=min_molecules, max_size=max_molecules).map(join)


def crystals(
    min_atoms: int = 1,
    max_atoms: int = 6,
    min_distance: float = 1.5,
    rigid_motion: bool = True,
    reflections: bool = False,
    dtype: torch.dtype = torch.float64,
    device: DeviceLike = "cpu",
) -> st.SearchStrategy[Crystal]:
    """Random periodic crystals: a triclinic cell and atoms at least ``min_distance`` apart.

    Cell lengths are 3.5 to 6 Angstrom (scaled by ``(N / 4)^(1/3)``), angles 70 to 110 degrees;
    no atom comes closer than ``min_distance`` to another atom or a periodic image (see
    :func:`equibasis.testing._structures.make_crystal`). With ``rigid_motion`` the cell and the
    atoms are rotated together and the atoms translated (then no longer inside the cell: a
    model must wrap them). Shrinks to ``min_atoms`` atoms in the cell of seed 0.

    Args:
        min_atoms: Fewest atoms in the cell (>= 1).
        max_atoms: Most atoms (>= min_atoms).
        min_distance: Smallest distance between atoms and images (> 0), Angstrom.
        rigid_motion: Rotate (and translate) the crystal.
        reflections: Also draw improper motions.
        dtype: Floating dtype of positions and cell.
        device: Device of the tensors.

    Returns:
        A strategy of :class:`Crystal`.

    Example:
        >>> from hypothesis import find
        >>> c = find(crystals(), lambda c: True)
        >>> tuple(c.positions.shape), tuple(c.cell.shape)
        ((1, 3), (3, 3))
    """
    _check_dtype(dtype)
    min_atoms = check_int("min_atoms", min_atoms, minimum=1)
    max_atoms = check_int("max_atoms", max_atoms, minimum=min_atoms)
    min_distance = check_positive("min_distance", min_distance)
    motion = _rigid_motions(rigid_motion, reflections, 5.0)

    def build(args: tuple) -> Crystal:
        (n, seed), (g, t) = args
        numbers, pos, cell = make_crystal(n, seed, min_distance)
        return Crystal(
            torch.as_tensor(numbers).to(device),
            _tensor(pos @ g.T + t, dtype, device),
            _tensor(cell @ g.T, dtype, device),
        )

    sizes = st.tuples(st.integers(min_atoms, max_atoms), st.integers(0, 2**32 - 1))
    return st.tuples(sizes, motion).map(build)
