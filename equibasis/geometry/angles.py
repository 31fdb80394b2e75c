"""Triplets and each library's angles and torsions (see :mod:`equibasis.geometry`)."""

import math

import torch

from equibasis._runtime import values_known
from equibasis._validation import check_float_tensor, check_int, check_last_dim

__all__ = [
    "comenet_angles",
    "dimenet_angle",
    "dimenetpp_angle",
    "spherenet_angle",
    "spherenet_torsion",
    "triplets",
]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _check_index(name: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, received {type(value).__name__}")
    if value.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"{name} must be an integer (int64) tensor, received {value.dtype}")
    return value.long()


def _check_range(name: str, index: torch.Tensor, size: int, what: str) -> None:
    """Entries of ``index`` must lie in ``[0, size)``: torch would wrap negatives silently."""
    if not values_known(index) or index.numel() == 0:
        return
    lo, hi = int(index.min()), int(index.max())
    if lo < 0 or hi >= size:
        raise ValueError(f"{name} entries must lie in [0, {size}) ({what}), received [{lo}, {hi}]")


def _check_pos(pos: object) -> torch.Tensor:
    pos = check_float_tensor("pos", pos)
    if pos.ndim != 2:
        raise ValueError(f"pos must have shape (N, 3), received {tuple(pos.shape)}")
    return check_last_dim("pos", pos, 3)


def _safe_norm(v: torch.Tensor) -> torch.Tensor:
    """Euclidean norm over the last axis with a zero (not NaN) gradient at the zero vector."""
    sq = (v * v).sum(dim=-1)
    nonzero = sq > 0
    return torch.where(nonzero, torch.where(nonzero, sq, 1.0).sqrt(), 0.0)


def _safe_atan2(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``atan2(y, x)`` that returns 0 with zero gradient at ``x = y = 0`` (double ``where``)."""
    undefined = (x == 0) & (y == 0)
    return torch.where(undefined, 0.0, torch.atan2(y, torch.where(undefined, 1.0, x)))


def _angle_between(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Unsigned angle in ``[0, pi]`` between vectors ``u`` and ``v`` (last axis 3)."""
    cos_part = (u * v).sum(dim=-1)
    sin_part = _safe_norm(torch.linalg.cross(u, v, dim=-1))
    return _safe_atan2(sin_part, cos_part)


def _plane_angle(
    axis: torch.Tensor, u: torch.Tensor, v: torch.Tensor, sign_axis: torch.Tensor | None = None
) -> torch.Tensor:
    r"""Signed angle in ``[-pi, pi]`` from plane ``(axis, u)`` to plane ``(axis, v)``.

    As DIG writes it: ``p1 = axis x u``, ``p2 = axis x v``,
    ``atan2((p1 x p2) . s / |s|, p1 . p2)`` with ``s = sign_axis`` (default ``axis``); positive
    for a counter-clockwise rotation about ``s`` (right-hand rule).
    """
    if sign_axis is None:
        sign_axis = axis
    p1 = torch.linalg.cross(axis, u, dim=-1)
    p2 = torch.linalg.cross(axis, v, dim=-1)
    cos_part = (p1 * p2).sum(dim=-1)
    length = _safe_norm(sign_axis)
    sin_part = (torch.linalg.cross(p1, p2, dim=-1) * sign_axis).sum(dim=-1)
    sin_part = sin_part / torch.where(length > 0, length, 1.0)
    return _safe_atan2(sin_part, cos_part)


def _triplet_vectors(
    pos: torch.Tensor, idx_i: torch.Tensor, idx_j: torch.Tensor, idx_k: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    pos = _check_pos(pos)
    idx_i = _check_index("idx_i", idx_i)
    idx_j = _check_index("idx_j", idx_j)
    idx_k = _check_index("idx_k", idx_k)
    if not idx_i.shape == idx_j.shape == idx_k.shape:
        raise ValueError(
            "idx_i, idx_j and idx_k must have one shape, received "
            f"{tuple(idx_i.shape)}, {tuple(idx_j.shape)}, {tuple(idx_k.shape)}"
        )
    for name, index in (("idx_i", idx_i), ("idx_j", idx_j), ("idx_k", idx_k)):
        _check_range(name, index, pos.shape[0], "rows of pos")
    return pos[idx_i], pos[idx_j], pos[idx_k]


def _segment_argmin(values: torch.Tensor, segment: torch.Tensor, num_segments: int) -> torch.Tensor:
    """Per segment, the index of its smallest value (lowest index on ties; -1 if empty)."""
    minimum = torch.full((num_segments,), math.inf, dtype=values.dtype, device=values.device)
    minimum = minimum.scatter_reduce(0, segment, values, "amin", include_self=True)
    position = torch.arange(values.numel(), device=values.device)
    candidate = torch.where(values == minimum[segment], position, values.numel())
    first = torch.full((num_segments,), values.numel(), dtype=torch.long, device=values.device)
    first = first.scatter_reduce(0, segment, candidate, "amin", include_self=True)
    return torch.where(first == values.numel(), -1, first)


# --------------------------------------------------------------------------------------------
# triplets
# --------------------------------------------------------------------------------------------


def triplets(
    edge_index: torch.Tensor, num_nodes: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""DimeNet triplets ``k -> j -> i``: all pairs of edges ``k -> j``, ``j -> i`` with ``k != i``.

    For each edge ``e = (j -> i)`` in edge order, the incoming edges ``k -> j`` of its source are
    listed in ascending order of ``k`` (then edge order), and those with ``k == i`` (the
    back-and-forth path ``i -> j -> i``) are dropped. This is the order of PyG's
    ``torch_geometric.nn.models.dimenet.triplets`` and of DIG's ``xyz_to_dat``, computed here
    with plain torch (no ``torch_sparse``).

    Args:
        edge_index: Shape ``(2, E)``, integer; ``edge_index[0]`` = source ``j``,
            ``edge_index[1]`` = target ``i`` (PyG convention).
        num_nodes: Number of nodes ``N`` (every index must be ``< N``).

    Returns:
        ``(idx_i, idx_j, idx_k, idx_kj, idx_ji)``, each of shape ``(T,)``, int64, on the device of
        ``edge_index``: the node indices of the triplet and the edge indices of ``k -> j`` and
        ``j -> i``.

    Raises:
        TypeError: If ``edge_index`` is not an integer tensor or ``num_nodes`` not an int.
        ValueError: If ``edge_index`` is not ``(2, E)`` or refers to nodes ``>= num_nodes``.

    Example:
        >>> edge_index = torch.tensor([[1, 2, 0, 2], [0, 0, 1, 1]])  # 1->0, 2->0, 0->1, 2->1
        >>> idx_i, idx_j, idx_k, idx_kj, idx_ji = triplets(edge_index, num_nodes=3)
        >>> idx_k.tolist(), idx_j.tolist(), idx_i.tolist()
        ([2, 2], [1, 0], [0, 1])

    References:
        Gasteiger, Groß, Günnemann, "Directional Message Passing for Molecular Graphs",
        ICLR 2020 (DimeNet), Sec. 4; PyG ``torch_geometric.nn.models.dimenet.triplets``.
    """
    edge_index = _check_index("edge_index", edge_index)
    num_nodes = check_int("num_nodes", num_nodes, minimum=0)
    if edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), received {tuple(edge_index.shape)}")
    source, target = edge_index
    device = edge_index.device
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise ValueError(f"edge_index refers to nodes outside [0, num_nodes = {num_nodes})")

    # Nodes above the largest index have no edges and take no part: sizing the tables by the
    # largest index keeps a huge num_nodes from allocating O(num_nodes) memory.
    num_nodes = int(edge_index.max()) + 1 if edge_index.numel() else 0
    # Incoming edges of each node, sorted by (target, source): a CSR adjacency k -> j.
    order = torch.argsort(target * num_nodes + source, stable=True)
    in_degree = torch.bincount(target, minlength=num_nodes)
    row_start = torch.cumsum(in_degree, 0) - in_degree

    # Each edge j -> i meets every incoming edge of j.
    count = in_degree[source]
    idx_ji = torch.repeat_interleave(torch.arange(source.numel(), device=device), count)
    first = torch.cumsum(count, 0) - count
    offset = torch.arange(idx_ji.numel(), device=device) - first[idx_ji]
    idx_kj = order[row_start[source[idx_ji]] + offset]

    idx_i, idx_j, idx_k = target[idx_ji], source[idx_ji], source[idx_kj]
    keep = idx_i != idx_k
    return idx_i[keep], idx_j[keep], idx_k[keep], idx_kj[keep], idx_ji[keep]


# --------------------------------------------------------------------------------------------
# angles
# --------------------------------------------------------------------------------------------


def spherenet_angle(
    pos: torch.Tensor, idx_i: torch.Tensor, idx_j: torch.Tensor, idx_k: torch.Tensor
) -> torch.Tensor:
    r"""Interior angle at ``j`` of the triplet ``k -> j -> i`` (DIG SphereNet).

    .. math:: \alpha = \angle(\vec r_i - \vec r_j,\ \vec r_k - \vec r_j)
              = \operatorname{atan2}(|u \times v|,\ u \cdot v) \in [0, \pi]

    0 when ``i`` and ``k`` lie on the same side of ``j`` on one line, ``pi`` when ``j`` lies
    between them. Invariant under rotations, translations and reflections.

    Args:
        pos: Positions, shape ``(N, 3)``, any length unit.
        idx_i: Target node of each triplet, shape ``(T,)`` (from :func:`triplets`).
        idx_j: Middle node, shape ``(T,)``.
        idx_k: Source node, shape ``(T,)``.

    Returns:
        Angles in radians, shape ``(T,)``, dtype and device of ``pos``.

    Raises:
        TypeError: If ``pos`` is not floating point or an index is not an integer tensor.
        ValueError: If ``pos`` is not ``(N, 3)``, the index shapes differ or an index lies
            outside ``[0, N)``.

    Example:
        >>> pos = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
        >>> i, j, k = torch.tensor([0]), torch.tensor([1]), torch.tensor([2])
        >>> round(float(spherenet_angle(pos, i, j, k)), 6)  # pi / 2
        1.570796

    References:
        Liu et al., "Spherical Message Passing for 3D Molecular Graphs", ICLR 2022; DIG
        ``dig/threedgraph/utils/geometric_computing.py``, ``xyz_to_dat``.
    """
    r_i, r_j, r_k = _triplet_vectors(pos, idx_i, idx_j, idx_k)
    return _angle_between(r_i - r_j, r_k - r_j)


def dimenet_angle(
    pos: torch.Tensor, idx_i: torch.Tensor, idx_j: torch.Tensor, idx_k: torch.Tensor
) -> torch.Tensor:
    r"""Angle at vertex ``i`` of the triplet ``k -> j -> i`` (official DimeNet and PyG ``DimeNet``).

    .. math:: \alpha = \angle(\vec r_j - \vec r_i,\ \vec r_k - \vec r_i) \in [0, \pi]

    This is the angle the official TensorFlow code (``calculate_neighbor_angles``) and PyG's
    ``DimeNet.forward`` compute, although the DimeNet paper draws the angle between the
    messages at ``j``. Not the angle of :func:`spherenet_angle` or :func:`dimenetpp_angle`.

    Args:
        pos: Positions, shape ``(N, 3)``.
        idx_i: Target node of each triplet, shape ``(T,)``.
        idx_j: Middle node, shape ``(T,)``.
        idx_k: Source node, shape ``(T,)``.

    Returns:
        Angles in radians, shape ``(T,)``, dtype and device of ``pos``.

    Raises:
        TypeError: If ``pos`` is not floating point or an index is not an integer tensor.
        ValueError: If ``pos`` is not ``(N, 3)``, the index shapes differ or an index lies
            outside ``[0, N)``.

    Example:
        >>> pos = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
        >>> i, j, k = torch.tensor([0]), torch.tensor([1]), torch.tensor([2])
        >>> round(float(dimenet_angle(pos, i, j, k)), 6)  # pi / 4
        0.785398

    References:
        Gasteiger et al., DimeNet, ICLR 2020; ``dimenet/model/dimenet.py``
        (``calculate_neighbor_angles``); PyG ``torch_geometric.nn.models.dimenet.DimeNet``.
    """
    r_i, r_j, r_k = _triplet_vectors(pos, idx_i, idx_j, idx_k)
    return _angle_between(r_j - r_i, r_k - r_i)


def dimenetpp_angle(
    pos: torch.Tensor, idx_i: torch.Tensor, idx_j: torch.Tensor, idx_k: torch.Tensor
) -> torch.Tensor:
    r"""Angle between the bonds ``j -> i`` and ``k -> j`` as vectors (DimeNet++).

    .. math:: \alpha = \angle(\vec r_j - \vec r_i,\ \vec r_k - \vec r_j)
              = \pi - \angle_j(i, k) \in [0, \pi]

    i.e. ``pi`` minus :func:`spherenet_angle`: 0 when ``j`` lies between ``i`` and ``k`` on a
    line. Computed directly (not as ``pi - ...``) from the same vectors as the official
    DimeNet++ code and PyG's ``DimeNetPlusPlus``.

    Args:
        pos: Positions, shape ``(N, 3)``.
        idx_i: Target node of each triplet, shape ``(T,)``.
        idx_j: Middle node, shape ``(T,)``.
        idx_k: Source node, shape ``(T,)``.

    Returns:
        Angles in radians, shape ``(T,)``, dtype and device of ``pos``.

    Raises:
        TypeError: If ``pos`` is not floating point or an index is not an integer tensor.
        ValueError: If ``pos`` is not ``(N, 3)``, the index shapes differ or an index lies
            outside ``[0, N)``.

    Example:
        >>> pos = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
        >>> i, j, k = torch.tensor([0]), torch.tensor([1]), torch.tensor([2])
        >>> float(dimenetpp_angle(pos, i, j, k))  # straight chain k - j - i
        0.0

    References:
        Gasteiger et al., "Fast and Uncertainty-Aware Directional Message Passing for
        Non-Equilibrium Molecules", 2020; ``dimenet/model/dimenet_pp.py``; PyG
        ``torch_geometric.nn.models.dimenet.DimeNetPlusPlus``.
    """
    r_i, r_j, r_k = _triplet_vectors(pos, idx_i, idx_j, idx_k)
    return _angle_between(r_j - r_i, r_k - r_j)


# --------------------------------------------------------------------------------------------
# torsions
# --------------------------------------------------------------------------------------------


def spherenet_torsion(
    pos: torch.Tensor,
    idx_i: torch.Tensor,
    idx_j: torch.Tensor,
    idx_k: torch.Tensor,
    idx_ji: torch.Tensor,
) -> torch.Tensor:
    r"""SphereNet's torsion of each triplet ``k -> j -> i``, in ``(0, 2 pi]`` (DIG ``xyz_to_dat``).

    Looking down the axis :math:`\vec a = \vec r_i - \vec r_j`, the torsion is the
    counter-clockwise (right-hand rule about :math:`\vec a`) angle from the half-plane of ``k``
    to the half-plane of the *next* neighbour ``k'`` of ``j``:

    .. math:: \varphi = \min_{k' \in \mathcal N(j),\, k' \ne i} \operatorname{wrap}\left(
              \operatorname{atan2}\big((p \times p') \cdot \hat a,\ p \cdot p'\big)\right),
              \qquad p = \vec a \times (\vec r_k - \vec r_j),\ p' = \vec a \times (\vec r_{k'} -
              \vec r_j)

    where ``wrap`` maps values ``<= 0`` to ``+2 pi`` and the neighbours ``k'`` of ``j`` are the
    sources of the triplets that share the edge ``j -> i`` (same ``idx_ji``). ``k' = k`` is
    among them and gives ``2 pi``, so a triplet whose edge ``j -> i`` has a single ``k`` (or
    whose other neighbours are coplanar with it on its side) has torsion ``2 pi``.

    Caveats (see docs/polar.md): the value jumps when the reference neighbour changes (a
    neighbour ``k'`` crossing the half-plane of ``k`` turns a torsion near 0 into one near
    ``2 pi``), and under a reflection counter-clockwise becomes clockwise, so the torsion becomes
    ``2 pi`` minus the angle to the *previous* neighbour: SphereNet's torsion is not
    reflection-invariant (it tells a molecule from its mirror image).

    Args:
        pos: Positions, shape ``(N, 3)``.
        idx_i: Target node of each triplet, shape ``(T,)`` (from :func:`triplets`).
        idx_j: Middle node, shape ``(T,)``.
        idx_k: Source node, shape ``(T,)``.
        idx_ji: Edge index of ``j -> i`` of each triplet, shape ``(T,)``; triplets with equal
            ``idx_ji`` share the same ``i`` and ``j``.

    Returns:
        Torsions in radians, shape ``(T,)``, in ``(0, 2 pi]``, dtype and device of ``pos``.

    Raises:
        TypeError: If ``pos`` is not floating point or an index is not an integer tensor.
        ValueError: If ``pos`` is not ``(N, 3)``, the index shapes differ or an index lies
            outside ``[0, N)``.

    Example:
        >>> pos = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        >>> # i = 0 above j = 1; k = 2 along +x, k' = 3 along +y (a quarter turn counter-clockwise)
        >>> i, j, k, ji = (torch.tensor(v) for v in ([0, 0], [1, 1], [2, 3], [0, 0]))
        >>> [round(float(t), 6) for t in spherenet_torsion(pos, i, j, k, ji)]
        [1.570796, 4.712389]

    References:
        Liu et al., "Spherical Message Passing for 3D Molecular Graphs", ICLR 2022, Sec. 3;
        DIG ``dig/threedgraph/utils/geometric_computing.py``, ``xyz_to_dat(use_torsion=True)``.
    """
    r_i, r_j, r_k = _triplet_vectors(pos, idx_i, idx_j, idx_k)
    idx_ji = _check_index("idx_ji", idx_ji)
    if idx_ji.shape != idx_i.shape:
        raise ValueError(
            f"idx_ji must have the shape of idx_i {tuple(idx_i.shape)}, "
            f"received {tuple(idx_ji.shape)}"
        )
    if values_known(idx_ji) and idx_ji.numel() and int(idx_ji.min()) < 0:
        raise ValueError(f"idx_ji must be >= 0 (edge indices), received {int(idx_ji.min())}")
    device = pos.device
    num = idx_ji.numel()
    if num == 0:
        return pos.new_zeros(0)
    # Pair every triplet with every triplet of the same edge j -> i (itself included).
    num_edges = int(idx_ji.max()) + 1
    order = torch.argsort(idx_ji, stable=True)
    group_size = torch.bincount(idx_ji, minlength=num_edges)
    group_start = torch.cumsum(group_size, 0) - group_size
    count = group_size[idx_ji]
    this = torch.repeat_interleave(torch.arange(num, device=device), count)
    first = torch.cumsum(count, 0) - count
    other = order[
        group_start[idx_ji[this]] + torch.arange(this.numel(), device=device) - first[this]
    ]

    axis = r_i - r_j
    torsion = _plane_angle(axis[this], r_k[this] - r_j[this], r_k[other] - r_j[other])
    torsion = torch.where(torsion <= 0, torsion + 2 * math.pi, torsion)
    # k' = k gives exactly 2 pi (DIG's intent); an FMA-contracted cross product can leave
    # +-1e-17 there instead of 0, which would otherwise win the minimum.
    torsion = torch.where(this == other, 2 * math.pi, torsion)
    result = torch.full((num,), 2 * math.pi, dtype=pos.dtype, device=device)
    return result.scatter_reduce(0, this, torsion, "amin", include_self=True)


def comenet_angles(
    pos: torch.Tensor, edge_index: torch.Tensor, num_nodes: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""ComENet's per-edge distance, exterior angle and two folded torsions (DIG ``ComENet``).

    For each edge ``j -> i`` with :math:`\vec v = \vec r_j - \vec r_i`, let :math:`n_0, n_1` be
    the nearest and second-nearest neighbours of ``i`` (sources of edges into ``i``, ties to the
    lowest edge index), and ``iref`` (``jref``) the nearest neighbour of ``i`` (of ``j``) other
    than ``j`` (other than ``i``); here the neighbours of ``j`` are the targets of edges out of
    ``j``. Then, with ``fold(x) = x + pi if x < 0 else x``:

    .. math::
        d &= |\vec v|, \\
        \theta &= \angle(-\vec v,\ \vec r_{n_0} - \vec r_i) \in [0, \pi]
            \quad\text{(exterior angle: } \pi - \angle_i(j, n_0)\text{)}, \\
        \varphi &= \operatorname{fold}\,\operatorname{atan2}\big((p_1 \times p_2)\cdot\hat v,\
            p_1 \cdot p_2\big),\quad p_1 = -\vec v \times (\vec r_{n_0} - \vec r_i),\
            p_2 = -\vec v \times (\vec r_{n_1} - \vec r_i), \\
        \tau &= \operatorname{fold}\,\operatorname{atan2}\big((q_1 \times q_2)\cdot\hat v,\
            q_1 \cdot q_2\big),\quad q_1 = \vec v \times (\vec r_j - \vec r_{jref}),\
            q_2 = \vec v \times (\vec r_{iref} - \vec r_i),

    so :math:`\varphi, \tau \in [0, \pi]`. When :math:`n_0 = j`, :math:`\theta = \pi`.

    Degenerate cases get their exact-arithmetic DIG value (DIG itself returns rounding noise,
    since a CPU cross product of parallel vectors leaves +-1e-17): a torsion whose plane
    contains the edge (:math:`n_0` or :math:`n_1` is ``j``; or a reference that is the other end
    of the edge, for a node with a single neighbour) is 0, DIG's ``atan2(0, 0)``; when
    ``iref = jref`` (a triangle) the half-planes of :math:`\tau` are exactly opposite and
    :math:`\tau = \pi`. Folding identifies a torsion :math:`x < 0` with :math:`x + \pi` (a
    half-turn ambiguity); a mirror image maps the unfolded :math:`x` to :math:`-x`, so a folded
    value becomes :math:`\pi - \varphi`: the torsions are not reflection-invariant (see
    docs/polar.md). As in DIG, the nearest edges are masked by index when looking for the
    second-nearest, so a node without incoming edges masks edge 0 (a DIG quirk, kept).

    Args:
        pos: Positions, shape ``(N, 3)``.
        edge_index: Shape ``(2, E)``, PyG convention (``edge_index[0]`` = source ``j``).
        num_nodes: Number of nodes; defaults to ``pos.shape[0]``.

    Returns:
        ``(dist, theta, phi, tau)``, each of shape ``(E,)``, dtype and device of ``pos``:
        ``dist`` in the unit of ``pos``, the angles in radians (the inputs of
        ``ComENetTorsionBasis(dist, theta, phi)`` and ``ComENetAngleBasis(dist, tau)``).

    Raises:
        TypeError: If ``pos`` is not floating point or ``edge_index`` not an integer tensor.
        ValueError: If ``pos`` is not ``(N, 3)``, ``edge_index`` not ``(2, E)`` or an entry
            of ``edge_index`` lies outside ``[0, min(num_nodes, N))``.

    Example:
        >>> pos = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.5, 0.0]])
        >>> edge_index = torch.tensor([[1, 2, 0, 0], [0, 0, 1, 2]])
        >>> dist, theta, phi, tau = comenet_angles(pos, edge_index)
        >>> dist.tolist(), [round(t, 4) for t in theta.tolist()]
        ([1.0, 1.5, 1.0, 1.5], [3.1416, 1.5708, 3.1416, 3.1416])

    References:
        Wang et al., "ComENet: Towards Complete and Efficient Message Passing for 3D Molecular
        Graphs", NeurIPS 2022; DIG ``dig/threedgraph/method/comenet/comenet.py``,
        ``ComENet._forward``.
    """
    pos = _check_pos(pos)
    edge_index = _check_index("edge_index", edge_index)
    if edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise ValueError(f"edge_index must have shape (2, E), received {tuple(edge_index.shape)}")
    num_nodes = pos.shape[0] if num_nodes is None else check_int("num_nodes", num_nodes)
    _check_range("edge_index", edge_index, min(num_nodes, pos.shape[0]), "nodes: rows of pos")
    # Nodes above the largest index have no edges, and one such node does what any number of
    # them does (it masks edge 0, the DIG quirk below): the per-node tables need at most
    # max + 2 rows, whatever num_nodes says (a huge one would allocate O(num_nodes)).
    if edge_index.numel():
        num_nodes = min(num_nodes, int(edge_index.max()) + 2)
    j, i = edge_index
    vecs = pos[j] - pos[i]
    dist = _safe_norm(vecs)
    if j.numel() == 0:
        empty = pos.new_zeros(0)
        return empty, empty, empty, empty

    # Nearest (argmin0) and second-nearest (argmin1) incoming edge of every node; DIG masks the
    # nearest one by adding the cutoff, which is the same as excluding it. A node with a single
    # neighbour gets it twice. Nodes without edges get edge 0 (DIG does the same).
    detached = dist.detach()
    argmin0 = _segment_argmin(detached, i, num_nodes).clamp(min=0)
    argmin1 = _segment_argmin(detached.index_fill(0, argmin0, math.inf), i, num_nodes)
    argmin0_j = _segment_argmin(detached, j, num_nodes).clamp(min=0)
    argmin1_j = _segment_argmin(detached.index_fill(0, argmin0_j, math.inf), j, num_nodes)

    # Reference edges: i's nearest neighbour unless it is j, j's nearest unless it is i.
    idx_iref = torch.where(j[argmin0[i]] == j, argmin1[i], argmin0[i])
    idx_jref = torch.where(i[argmin0_j[j]] == i, argmin1_j[j], argmin0_j[j])

    pos_in0, pos_in1 = vecs[argmin0[i]], vecs[argmin1[i]]
    theta = _angle_between(-vecs, pos_in0)
    # DIG hangs the planes on -v but measures the sign about +v.
    phi = _plane_angle(-vecs, pos_in0, pos_in1, sign_axis=vecs)
    tau = _plane_angle(vecs, vecs[idx_jref], vecs[idx_iref])
    # A plane through the axis itself (n0 or n1 is j; a reference that is the other end of the
    # edge) is undefined: exact arithmetic gives DIG's atan2(0, 0) = 0, rounding gives noise.
    phi = torch.where((j[argmin0[i]] == j) | (j[argmin1[i]] == j), 0.0, phi)
    tau = torch.where((i[idx_jref] == i) | (j[idx_iref] == j), 0.0, tau)
    # iref = jref (a shared neighbour: a triangle) puts the two half-planes exactly opposite:
    # pi in exact arithmetic (DIG returns pi or, after folding -pi, 0, by rounding).
    tau = torch.where(i[idx_jref] == j[idx_iref], math.pi, tau)
    phi = torch.where(phi < 0, phi + math.pi, phi)
    tau = torch.where(tau < 0, tau + math.pi, tau)
    return dist, theta, phi, tau
