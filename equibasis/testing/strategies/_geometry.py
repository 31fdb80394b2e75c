r"""Strategies of geometry: directions, rotations and reflections, translations, distances, clouds.

Built in float64 from hypothesis' draws and cast at the end (``_tensor``); rotations shrink to the
identity and then to axis half-turns, point clouds to few points near the origin.
"""

import math

import numpy as np
import torch
from hypothesis import reject
from hypothesis import strategies as st

from equibasis._validation import check_choice, check_int, check_positive
from equibasis.testing._group import quaternion_to_matrix
from equibasis.testing.strategies._records import DeviceLike, _check_dtype, _tensor

__all__ = [
    "distances",
    "orthogonal_matrices",
    "point_clouds",
    "rotations",
    "translations",
    "unit_vectors",
]

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
