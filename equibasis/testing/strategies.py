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
- :func:`molecules` shrinks to water, the first molecule of the shipped set, unrotated;
- :func:`irreps` shrinks to ``1x0e``.

Example:
    >>> from hypothesis import given
    >>> from equibasis.testing.strategies import rotations
    >>> @given(R=rotations())
    ... def test_orthogonal(R):
    ...     assert torch.allclose(R @ R.T, torch.eye(3, dtype=R.dtype), atol=1e-12)
    >>> test_orthogonal()
"""

import functools
import json
import math
from collections.abc import Sequence
from importlib import resources
from typing import NamedTuple

import numpy as np
import torch
from e3nn import o3
from hypothesis import reject
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from equibasis._validation import check_choice, check_int, check_positive
from equibasis.testing.checks import quaternion_to_matrix

__all__ = [
    "Molecule",
    "distances",
    "features",
    "irreps",
    "load_molecules",
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
        name: Name in the G2 set (e.g. ``"CH3OH"``).
        numbers: Atomic numbers, shape ``(N,)``, int64.
        positions: Positions, shape ``(N, 3)``, in Angstrom.
    """

    name: str
    numbers: torch.Tensor
    positions: torch.Tensor


@functools.cache
def _molecule_table() -> tuple[tuple[str, tuple[int, ...], np.ndarray], ...]:
    text = resources.files("equibasis").joinpath("data", "molecules.json").read_text()
    data = json.loads(text)
    return tuple(
        (m["name"], tuple(m["numbers"]), np.asarray(m["positions"], dtype=np.float64))
        for m in data["molecules"]
    )


def load_molecules(
    dtype: torch.dtype = torch.float64, device: DeviceLike = "cpu"
) -> list[Molecule]:
    """Load the molecules shipped with equibasis, in their reference orientation.

    The set holds 43 small closed-shell molecules (3 to 14 atoms, mostly organic, from water to
    butane), ordered by size. Geometries are the MP2(full)/6-31G(d) optimised structures of the
    G2/97 test set (L. A. Curtiss, K. Raghavachari, P. C. Redfern, J. A. Pople, J. Chem. Phys.
    106, 1063 (1997)), as distributed in ASE's ``ase.collections.g2`` (ASE is LGPL-2.1-or-later);
    the file ``equibasis/data/molecules.json`` states this source and licence and is regenerated
    by ``tests/data/generate_molecules.py``.

    Args:
        dtype: Floating dtype of the positions.
        device: Device of the tensors.

    Returns:
        A list of :class:`Molecule`, positions in Angstrom.

    Example:
        >>> mols = load_molecules()
        >>> mols[0].name, tuple(mols[0].positions.shape)
        ('H2O', (3, 3))
    """
    _check_dtype(dtype)
    return [
        Molecule(
            name,
            torch.tensor(numbers, dtype=torch.int64, device=device),
            _tensor(pos, dtype, device),
        )
        for name, numbers, pos in _molecule_table()
    ]


def molecules(
    names: Sequence[str] | None = None,
    max_atoms: int | None = None,
    rigid_motion: bool = True,
    reflections: bool = False,
    max_translation: float = 10.0,
    dtype: torch.dtype = torch.float64,
    device: DeviceLike = "cpu",
) -> st.SearchStrategy[Molecule]:
    """Real molecular geometries from the shipped set (see :func:`load_molecules`), moved rigidly.

    Each draw picks a molecule and, with ``rigid_motion``, applies a rotation from
    :func:`rotations` (an element of :func:`orthogonal_matrices` with ``reflections``) and a
    translation from :func:`translations`. Shrinks to water in its reference orientation.

    Args:
        names: Restrict to these molecule names (default: all 43).
        max_atoms: Restrict to molecules with at most this many atoms.
        rigid_motion: Apply a random rotation and translation.
        reflections: Also draw improper motions (mirror images), only with ``rigid_motion``.
        max_translation: Bound on each translation component, in Angstrom.
        dtype: Floating dtype of the positions.
        device: Device of the tensors.

    Returns:
        A strategy of :class:`Molecule`.

    Raises:
        ValueError: If a name is unknown or no molecule is left after filtering.

    Example:
        >>> from hypothesis import find
        >>> find(molecules(), lambda mol: len(mol.numbers) > 5).name  # unrotated, untranslated
        'C2H4'
    """
    _check_dtype(dtype)
    table = _molecule_table()
    known = [name for name, _, _ in table]
    if names is not None:
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise ValueError(f"names contains unknown molecules {unknown}; known: {known}")
        table = tuple(row for row in table if row[0] in set(names))
    if max_atoms is not None:
        max_atoms = check_int("max_atoms", max_atoms, minimum=1)
        table = tuple(row for row in table if len(row[1]) <= max_atoms)
    if not table:
        raise ValueError("no molecule is left after filtering by names and max_atoms")
    base = st.sampled_from(table)
    if not rigid_motion:
        motion = st.just((np.eye(3), np.zeros(3)))
    else:
        rot = orthogonal_matrices() if reflections else rotations()
        motion = st.tuples(
            rot.map(lambda m: m.numpy()), translations(max_translation).map(lambda t: t.numpy())
        )

    def build(args: tuple) -> Molecule:
        (name, numbers, pos), (g, t) = args
        return Molecule(
            name,
            torch.tensor(numbers, dtype=torch.int64, device=device),
            _tensor(pos @ g.T + t, dtype, device),
        )

    return st.tuples(base, motion).map(build)


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
