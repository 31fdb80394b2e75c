r"""Hypothesis strategies for rotation tests: rotations, point clouds, molecules, irreps, features.

Every strategy draws bounded floats with ``allow_nan=False`` and returns torch tensors in the
requested ``dtype`` and on the requested ``device``. The geometry is built in float64 and cast at
the end, so float64 draws are exact to rounding (orthogonality and determinant to ~1e-15).

Each strategy shrinks towards a simple case, so a failing property test reports a small example:

- :func:`rotations` shrinks to the identity, then to rotations by :math:`\pi` (or
  :math:`\pi/2`) about a coordinate axis; near-identity rotations are drawn on purpose;
- :func:`orthogonal_matrices` shrinks to proper rotations, and among reflections to the
  inversion :math:`-I`;
- :func:`point_clouds` shrinks to few points close to the origin;
- :func:`molecules` shrinks to water, the first molecule of the shipped set, unrotated (or,
  asked for more atoms than the shipped set has, to the smallest cluster of them);
- :func:`molecule_batches` shrinks to two waters; :func:`crystals` to one atom in a cell;
- :func:`irreps` shrinks to ``1x0e``.

Example:
    >>> from hypothesis import given
    >>> from equibasis.testing.strategies import rotations
    >>> @given(R=rotations())
    ... def test_orthogonal(R):
    ...     assert torch.allclose(R @ R.T, torch.eye(3, dtype=R.dtype), atol=1e-12)
    >>> test_orthogonal()
"""

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from e3nn import o3
from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from equibasis._validation import check_choice, check_int, check_positive
from equibasis.testing._structures import assemble_cluster, make_crystal, molecule_table
from equibasis.testing.checks import quaternion_to_matrix

__all__ = [
    "Crystal",
    "Molecule",
    "MoleculeBatch",
    "cluster",
    "crystals",
    "distances",
    "features",
    "irreps",
    "load_molecules",
    "molecule_batches",
    "molecules",
    "orthogonal_matrices",
    "point_clouds",
    "rotations",
    "translations",
    "unit_vectors",
]

DeviceLike = str | torch.device

# (w, x, y, z) unit quaternions of "simple" rotations, simplest first: the identity, half turns
# about the axes (e3nn's D matrices are signed permutations there, where sign slips hide), quarter
# turns, a half turn about a face diagonal and the 3-fold turn about the body diagonal.
_H = math.sqrt(0.5)
_SPECIAL_QUATERNIONS = (
    (1.0, 0.0, 0.0, 0.0),
    (0.0, 1.0, 0.0, 0.0),
    (0.0, 0.0, 1.0, 0.0),
    (0.0, 0.0, 0.0, 1.0),
    (_H, _H, 0.0, 0.0),
    (_H, 0.0, _H, 0.0),
    (_H, 0.0, 0.0, _H),
    (0.0, _H, _H, 0.0),
    (0.5, 0.5, 0.5, 0.5),
)

# Directions for unit_vectors(), simplest first: the axes, then a diagonal.
_S3 = 1.0 / math.sqrt(3.0)
_SPECIAL_DIRECTIONS = (
    (0.0, 0.0, 1.0),
    (1.0, 0.0, 0.0),
    (0.0, 1.0, 0.0),
    (0.0, 0.0, -1.0),
    (-1.0, 0.0, 0.0),
    (0.0, -1.0, 0.0),
    (_S3, _S3, _S3),
)

_DEGENERATE = ("collinear", "planar")

# Unit interval with the floats hypothesis likes to shrink to (0 first).
_UNIT = st.floats(min_value=0.0, max_value=1.0, allow_nan=False, allow_infinity=False)


def _tensor(value: object, dtype: torch.dtype, device: DeviceLike) -> torch.Tensor:
    # "+ 0.0" turns -0.0 (from negating a matrix) into 0.0, for tidy printing
    return torch.as_tensor(np.asarray(value, dtype=np.float64) + 0.0).to(dtype=dtype, device=device)


def _check_dtype(dtype: object) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, received {dtype!r}")
    return dtype


def _direction(u: float, v: float) -> tuple[float, float, float]:
    # Archimedes: z uniform in [-1, 1] and an azimuth uniform in [0, 2 pi) is uniform on S^2.
    z = 1.0 - 2.0 * u
    s = math.sqrt(max(0.0, 1.0 - z * z))
    return (s * math.cos(2 * math.pi * v), s * math.sin(2 * math.pi * v), z)


@st.composite
def _directions(draw: st.DrawFn) -> tuple[float, float, float]:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(_SPECIAL_DIRECTIONS))
    return _direction(draw(_UNIT), draw(_UNIT))


@st.composite
def _quaternions(draw: st.DrawFn, max_angle: float) -> tuple[float, float, float, float]:
    kind = draw(st.integers(0, 9))  # shrinks to 0: the special rotations
    if kind == 0:
        specials = [
            q for q in _SPECIAL_QUATERNIONS if 2 * math.acos(min(1.0, abs(q[0]))) <= max_angle
        ]
        return draw(st.sampled_from(specials))
    if kind == 1 or max_angle < math.pi:
        # near the identity (kind 1), or any rotation when the angle is bounded
        limit = 1e-3 if kind == 1 else max_angle
        angle = draw(st.floats(0.0, min(limit, max_angle), allow_nan=False))
        axis = draw(_directions())
        s = math.sin(angle / 2)
        return (math.cos(angle / 2), s * axis[0], s * axis[1], s * axis[2])
    # Haar-uniform: a normalised 4D Gaussian quaternion. Hypothesis biases the floats it draws
    # towards 0 and the bounds, so the Gaussians come from a generator seeded by hypothesis;
    # the smallest seeds stand for the special rotations, so that shrinking the seed of a
    # failing generic rotation reaches a simple one.
    seed = draw(st.integers(0, 2**63 - 1))
    if seed < len(_SPECIAL_QUATERNIONS):  # small seeds are simple: shrinking reaches them
        return _SPECIAL_QUATERNIONS[seed]
    q = np.random.default_rng(seed).standard_normal(4)
    return tuple(float(c) for c in q / np.linalg.norm(q))


def rotations(
    dtype: torch.dtype = torch.float64,
    device: DeviceLike = "cpu",
    max_angle: float = math.pi,
) -> st.SearchStrategy[torch.Tensor]:
    r"""Rotation matrices :math:`R \in SO(3)`: :math:`R^\top R = I`, :math:`\det R = 1`.

    Most draws (about two in three) are uniform (Haar) rotations from normalised Gaussian
    quaternions; the others are special rotations (identity, half and quarter turns about the
    axes, a face diagonal and the body diagonal) or near-identity rotations (angle below 1e-3
    rad), which is where sign and ordering slips hide. Shrinks to the identity, then to axis
    half-turns.

    Args:
        dtype: Floating dtype of the matrices (built in float64, then cast).
        device: Device of the matrices.
        max_angle: Largest rotation angle in radians, in (0, pi]. Below pi, rotations are drawn
            as uniform angle about a uniform axis (no longer Haar).

    Returns:
        A strategy of ``(3, 3)`` tensors; a vector ``v`` (row) rotates as ``v @ R.T``.

    Raises:
        TypeError: If ``dtype`` is not a floating dtype.
        ValueError: If ``max_angle`` is not in (0, pi].

    Example:
        >>> from hypothesis import find
        >>> R = find(rotations(), lambda R: R[0, 0] < 0)  # shrinks to a half-turn about an axis
        >>> R.diagonal().sum().item(), R.abs().sum().item()
        (-1.0, 3.0)
    """
    _check_dtype(dtype)
    max_angle = check_positive("max_angle", max_angle)
    if max_angle > math.pi:
        raise ValueError(f"max_angle must be in (0, pi], received {max_angle}")
    return _quaternions(max_angle).map(
        lambda q: _tensor(quaternion_to_matrix(q).numpy(), dtype, device)
    )


def orthogonal_matrices(
    dtype: torch.dtype = torch.float64, device: DeviceLike = "cpu"
) -> st.SearchStrategy[torch.Tensor]:
    r"""Orthogonal matrices :math:`g \in O(3)`: rotations and, half of the time, reflections.

    An improper element is drawn as :math:`-R` (the inversion times a rotation), which covers every
    reflection: the mirror through the plane normal to ``n`` is :math:`-R_n(\pi)`. Shrinks to
    proper rotations (see :func:`rotations`), and among improper ones to the inversion :math:`-I`.

    Args:
        dtype: Floating dtype of the matrices.
        device: Device of the matrices.

    Returns:
        A strategy of ``(3, 3)`` tensors with determinant +1 or -1.

    Example:
        >>> from hypothesis import find
        >>> find(orthogonal_matrices(), lambda g: torch.linalg.det(g) < 0)
        tensor([[-1.,  0.,  0.],
                [ 0., -1.,  0.],
                [ 0.,  0., -1.]], dtype=torch.float64)
    """
    _check_dtype(dtype)
    return st.tuples(_quaternions(math.pi), st.booleans()).map(
        lambda qs: _tensor(
            (-1.0 if qs[1] else 1.0) * quaternion_to_matrix(qs[0]).numpy(), dtype, device
        )
    )


def unit_vectors(
    dtype: torch.dtype = torch.float64, device: DeviceLike = "cpu"
) -> st.SearchStrategy[torch.Tensor]:
    """Unit vectors, uniform on the sphere (Archimedes' z, azimuth), with the axes mixed in.

    Args:
        dtype: Floating dtype.
        device: Device.

    Returns:
        A strategy of ``(3,)`` tensors of norm 1 (to rounding). Shrinks to ``(0, 0, 1)``.

    Example:
        >>> from hypothesis import find
        >>> find(unit_vectors(), lambda v: True)
        tensor([0., 0., 1.], dtype=torch.float64)
    """
    _check_dtype(dtype)
    return _directions().map(lambda v: _tensor(v, dtype, device))


def translations(
    max_abs: float = 10.0, dtype: torch.dtype = torch.float64, device: DeviceLike = "cpu"
) -> st.SearchStrategy[torch.Tensor]:
    """Translation vectors with each component in ``[-max_abs, max_abs]``.

    Args:
        max_abs: Bound on each component, in the length unit of the positions (Angstrom).
        dtype: Floating dtype.
        device: Device.

    Returns:
        A strategy of ``(3,)`` tensors. Shrinks to the zero vector.

    Example:
        >>> from hypothesis import find
        >>> find(translations(max_abs=5.0), lambda t: True)
        tensor([0., 0., 0.], dtype=torch.float64)
    """
    _check_dtype(dtype)
    max_abs = check_positive("max_abs", max_abs)
    component = st.floats(-max_abs, max_abs, allow_nan=False, allow_infinity=False)
    return st.tuples(component, component, component).map(lambda t: _tensor(t, dtype, device))


def distances(
    max_value: float,
    min_value: float = 0.0,
    dtype: torch.dtype = torch.float64,
    device: DeviceLike = "cpu",
) -> st.SearchStrategy[torch.Tensor]:
    """Scalar distances in ``[min_value, max_value]`` (e.g. up to twice a basis' cutoff).

    Args:
        max_value: Largest distance (> 0).
        min_value: Smallest distance (>= 0); 0 by default, so ``r = 0`` is reachable.
        dtype: Floating dtype.
        device: Device.

    Returns:
        A strategy of 0-d tensors. Shrinks to ``min_value``.

    Raises:
        ValueError: If ``min_value < 0`` or ``min_value > max_value``.

    Example:
        >>> from hypothesis import find
        >>> find(distances(5.0), lambda r: r > 1)
        tensor(2., dtype=torch.float64)
    """
    _check_dtype(dtype)
    max_value = check_positive("max_value", max_value)
    if not 0.0 <= float(min_value) <= max_value:
        raise ValueError(f"min_value must be in [0, max_value], received {min_value}")
    return st.floats(float(min_value), max_value, allow_nan=False).map(
        lambda r: _tensor(r, dtype, device)
    )


def _far_enough(p: np.ndarray, points: list, min_distance: float) -> bool:
    return all(float(np.linalg.norm(p - q)) >= min_distance for q in points)


@st.composite
def _clouds(
    draw: st.DrawFn,
    min_points: int,
    max_points: int,
    min_distance: float,
    box: float,
    kinds: tuple[str, ...],
) -> np.ndarray:
    kind = draw(st.sampled_from(kinds))
    n = draw(st.integers(min_points, max_points))
    half = box / 2
    coord = st.floats(-half, half, allow_nan=False, allow_infinity=False)
    if kind != "generic":
        # a line or a plane through the centre, drawn inside the ball of radius box/2
        u = np.array(draw(_directions()))
        helper = np.eye(3)[int(np.argmin(np.abs(u)))]
        v = np.cross(u, helper)
        v /= np.linalg.norm(v)
    points: list[np.ndarray] = []
    for _ in range(n):
        for _attempt in range(20):  # rejection sampling of the minimum pair distance
            if kind == "generic":
                p = np.array([draw(coord), draw(coord), draw(coord)])
            elif kind == "collinear":
                p = draw(coord) * u
            else:
                a, b = draw(coord), draw(coord)
                if a * a + b * b > half * half:
                    continue
                p = a * u + b * v
            if _far_enough(p, points, min_distance):
                points.append(p)
                break
        else:
            break  # the box is (locally) full: keep what we have
    if len(points) < min_points:
        reject()
    return np.stack(points)


def point_clouds(
    min_points: int = 1,
    max_points: int = 12,
    min_distance: float = 0.5,
    box: float = 6.0,
    degenerate: bool | str = False,
    dtype: torch.dtype = torch.float64,
    device: DeviceLike = "cpu",
) -> st.SearchStrategy[torch.Tensor]:
    """Point clouds (atom positions) with a minimum pair distance, inside a cube.

    Points are placed one at a time by rejection, so every pair is at least ``min_distance``
    apart; a point that finds no room after 20 tries ends the cloud early (never below
    ``min_points``). With ``degenerate``, collinear clouds (points on a line through the centre)
    and planar clouds (in a plane through the centre) are drawn too: the cases where frames,
    cross products and torsions become undefined. Shrinks to ``min_points`` points near the
    origin.

    Args:
        min_points: Fewest points (>= 1).
        max_points: Most points (>= min_points).
        min_distance: Minimum distance between any two points (>= 0; 0 allows coincident
            points), in the length unit of ``box`` (Angstrom).
        box: Edge of the cube ``[-box/2, box/2]^3`` that holds the points (> 0).
        degenerate: False for generic clouds only; True to mix in collinear and planar clouds;
            "collinear" or "planar" for that kind only.
        dtype: Floating dtype.
        device: Device.

    Returns:
        A strategy of ``(N, 3)`` tensors, ``min_points <= N <= max_points``.

    Raises:
        ValueError: If the sizes are inconsistent, or ``min_points`` points cannot fit.

    Example:
        >>> from hypothesis import find
        >>> clouds = point_clouds(min_points=3, max_points=3, min_distance=1.0)
        >>> pos = find(clouds, lambda pos: True)
        >>> pos.shape, torch.pdist(pos).min().item()  # shrunk to 3 points, 1.0 apart
        (torch.Size([3, 3]), 1.0)
    """
    _check_dtype(dtype)
    min_points = check_int("min_points", min_points, minimum=1)
    max_points = check_int("max_points", max_points, minimum=min_points)
    if isinstance(min_distance, bool) or not (float(min_distance) >= 0.0):
        raise ValueError(f"min_distance must be >= 0, received {min_distance}")
    min_distance = float(min_distance)
    box = check_positive("box", box)
    if degenerate is True:
        kinds = ("generic", *_DEGENERATE)
    elif degenerate is False:
        kinds = ("generic",)
    else:
        kinds = (check_choice("degenerate", degenerate, _DEGENERATE),)
    line_capacity = box / min_distance + 1 if min_distance > 0 else math.inf
    if kinds != ("generic",) and min_points > line_capacity * (1 if "collinear" in kinds else 2):
        raise ValueError(
            f"{min_points} points at least {min_distance} apart do not fit on a line of length "
            f"{box}; lower min_points or min_distance, or enlarge box"
        )
    if min_points > line_capacity**3 / 2:
        raise ValueError(
            f"{min_points} points at least {min_distance} apart do not fit in a cube of edge {box}"
        )
    return _clouds(min_points, max_points, min_distance, box, kinds).map(
        lambda p: _tensor(p, dtype, device)
    )


class Molecule(NamedTuple):
    """A molecule drawn by :func:`molecules`.

    Attributes:
        name: Name in the shipped set (e.g. ``"CH3OH"``), or a description of a cluster.
        numbers: Atomic numbers, shape ``(N,)``, int64.
        positions: Positions, shape ``(N, 3)``, in Angstrom.
    """

    name: str
    numbers: torch.Tensor
    positions: torch.Tensor


def load_molecules(
    dtype: torch.dtype = torch.float64,
    device: DeviceLike = "cpu",
    chiral: bool | None = None,
) -> list[Molecule]:
    """Load the molecules shipped with equibasis, in their reference orientation.

    The set holds 48 small closed-shell molecules (3 to 15 atoms), ordered by size. 43 are the
    MP2(full)/6-31G(d) optimised structures of the G2/97 test set (L. A. Curtiss, K. Raghavachari,
    P. C. Redfern, J. A. Pople, J. Chem. Phys. 106, 1063 (1997)), as distributed in ASE's
    ``ase.collections.g2`` (ASE is LGPL-2.1-or-later), mostly organic, from water to butane. The
    G2 set has no stereocentre, so five chiral molecules are added, one enantiomer each, named
    with their CIP label: (R)-CHFClBr, (R)-glyceraldehyde, (S)-lactic acid, L-alanine and
    (R)-2-butanol (RDKit ETKDG conformers relaxed with MMFF94). The file
    ``equibasis/data/molecules.json`` states these sources and licences and is regenerated by
    ``tests/data/generate_molecules.py``.

    Args:
        dtype: Floating dtype of the positions.
        device: Device of the tensors.
        chiral: True for the chiral molecules only, False for the others, None for all.

    Returns:
        A list of :class:`Molecule`, positions in Angstrom.

    Example:
        >>> mols = load_molecules()
        >>> mols[0].name, tuple(mols[0].positions.shape)
        ('H2O', (3, 3))
        >>> [m.name for m in load_molecules(chiral=True)][:2]
        ['(R)-CHFClBr', '(R)-glyceraldehyde']
    """
    _check_dtype(dtype)
    return [
        Molecule(
            row.name,
            torch.tensor(row.numbers, dtype=torch.int64, device=device),
            _tensor(row.positions, dtype, device),
        )
        for row in molecule_table()
        if chiral is None or row.chiral == bool(chiral)
    ]


def _motions(
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
    motion = _motions(rigid_motion, reflections, max_translation)

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


def cluster(
    num_atoms: int,
    seed: int = 0,
    chiral: bool | None = None,
    dtype: torch.dtype = torch.float64,
    device: DeviceLike = "cpu",
) -> Molecule:
    """One cluster of shipped molecules with exactly ``num_atoms`` atoms (no hypothesis).

    The same builder as :func:`molecules` uses beyond 15 atoms: molecules rotated and packed at
    random, at least 2 Angstrom apart, about 0.03 atoms per cubic Angstrom, centred at the
    origin. Handy for a fixed example of realistic size (``check_model``, ``equibasis check``).

    Args:
        num_atoms: Number of atoms (>= 1).
        seed: The same seed gives the same cluster.
        chiral: Build from chiral molecules only (True), achiral ones (False) or all (None).
        dtype: Floating dtype of the positions.
        device: Device of the tensors.

    Returns:
        A :class:`Molecule` named ``"cluster of k molecules (N atoms, seed s)"``.

    Example:
        >>> mol = cluster(50, seed=1)
        >>> len(mol.numbers), round(float(torch.pdist(mol.positions).min()), 1) >= 0.9
        (50, True)
    """
    _check_dtype(dtype)
    num_atoms = check_int("num_atoms", num_atoms, minimum=1)
    pool = [r for r in molecule_table() if chiral is None or r.chiral == bool(chiral)]
    name, numbers, pos = assemble_cluster(num_atoms, check_int("seed", seed), pool)
    return Molecule(name, torch.as_tensor(numbers).to(device), _tensor(pos, dtype, device))


class MoleculeBatch(NamedTuple):
    """Several molecules as one batch, as PyG's ``Batch`` stores them (``batch`` vector).

    Attributes:
        names: The name of each molecule.
        numbers: Atomic numbers of all atoms, shape ``(N,)``, int64.
        positions: Positions of all atoms, shape ``(N, 3)``, Angstrom.
        batch: Index of the molecule of each atom, shape ``(N,)``, int64, sorted.
    """

    names: tuple[str, ...]
    numbers: torch.Tensor
    positions: torch.Tensor
    batch: torch.Tensor


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


class Crystal(NamedTuple):
    """A periodic structure drawn by :func:`crystals`.

    Attributes:
        numbers: Atomic numbers, shape ``(N,)``, int64.
        positions: Cartesian positions, shape ``(N, 3)``, Angstrom.
        cell: Lattice vectors as rows, shape ``(3, 3)``, Angstrom (ASE's convention).
    """

    numbers: torch.Tensor
    positions: torch.Tensor
    cell: torch.Tensor


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
    motion = _motions(rigid_motion, reflections, 5.0)

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


def irreps(
    lmax: int = 2, max_mul: int = 3, max_terms: int = 3, parity: bool = True
) -> st.SearchStrategy[o3.Irreps]:
    """E3nn irreps such as ``2x0e + 1x1o + 3x2e``: degrees up to ``lmax``, both parities.

    Terms are kept in the order drawn (repeats allowed, as a model's irreps may be unsorted),
    so a function that assumes sorted or simplified irreps is caught. Shrinks to ``1x0e``.

    Args:
        lmax: Largest degree l (>= 0).
        max_mul: Largest multiplicity (>= 1).
        max_terms: Most ``mul x ir`` terms (>= 1).
        parity: Draw both parities (True) or even parity only (False).

    Returns:
        A strategy of :class:`e3nn.o3.Irreps` with at least one term.

    Example:
        >>> from hypothesis import find
        >>> find(irreps(lmax=2), lambda ir: any(mul_ir.ir.p == -1 for mul_ir in ir))
        1x0o
    """
    lmax = check_int("lmax", lmax)
    max_mul = check_int("max_mul", max_mul, minimum=1)
    max_terms = check_int("max_terms", max_terms, minimum=1)
    parities = [1, -1] if parity else [1]
    term = st.tuples(st.integers(1, max_mul), st.integers(0, lmax), st.sampled_from(parities))
    return st.lists(term, min_size=1, max_size=max_terms).map(
        lambda terms: o3.Irreps([(mul, (degree, p)) for mul, degree, p in terms])
    )


def features(
    irreps: object,
    shape: int | Sequence[int] = (),
    max_abs: float = 1.0,
    dtype: torch.dtype = torch.float64,
    device: DeviceLike = "cpu",
) -> st.SearchStrategy[torch.Tensor]:
    """Feature arrays for ``irreps``: shape ``(*shape, irreps.dim)``, entries within ``max_abs``.

    Note that features shrink towards zero, and an equivariance check of all-zero features
    passes trivially: the checks in :mod:`equibasis.testing.checks` flag outputs that are zero.

    Args:
        irreps: Anything :class:`e3nn.o3.Irreps` accepts (``"0e + 1o"``), or a strategy of irreps
            (e.g. :func:`irreps`), drawn first.
        shape: Leading (batch) shape.
        max_abs: Bound on each entry.
        dtype: Floating dtype.
        device: Device.

    Returns:
        A strategy of tensors of shape ``(*shape, irreps.dim)``.

    Example:
        >>> from hypothesis import find
        >>> find(features("0e + 1o", shape=4), lambda x: True).shape
        torch.Size([4, 4])
    """
    _check_dtype(dtype)
    max_abs = check_positive("max_abs", max_abs)
    lead = (shape,) if isinstance(shape, int) else tuple(shape)
    for size in lead:
        check_int("shape", size)
    if isinstance(irreps, st.SearchStrategy):
        return irreps.flatmap(lambda ir: features(ir, lead, max_abs, dtype, device))
    dim = o3.Irreps(irreps).dim
    elements = st.floats(-max_abs, max_abs, allow_nan=False, allow_infinity=False)
    return hnp.arrays(np.float64, (*lead, dim), elements=elements).map(
        lambda a: _tensor(a, dtype, device)
    )
