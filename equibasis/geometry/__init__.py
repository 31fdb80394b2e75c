r"""Graph geometry: neighbour lists, DimeNet triplets, and each library's angle and torsion.

Edges follow PyG: ``edge_index[0]`` is the source ``j``, ``edge_index[1]`` the target ``i`` and a
message flows ``j -> i``. A triplet ``k -> j -> i`` is a pair of edges ``k -> j`` (index
``idx_kj``) and ``j -> i`` (index ``idx_ji``) with ``k != i``.

The libraries disagree on which angle a "triplet angle" is (all in radians):

* :func:`spherenet_angle`: the interior angle at ``j`` between ``j->i`` and ``j->k``
  (DIG SphereNet);
* :func:`dimenet_angle`: the angle at vertex ``i`` between ``i->j`` and ``i->k`` (official
  DimeNet and PyG ``DimeNet``);
* :func:`dimenetpp_angle`: ``pi`` minus the interior angle at ``j`` (DimeNet++, official and
  PyG);
* :func:`comenet_angles`: ComENet's exterior angle at ``i`` to its nearest neighbour and two
  torsions folded into ``[0, pi)`` (DIG ComENet);

and :func:`spherenet_torsion` is SphereNet's torsion, measured from the plane ``(j->i, j->k)``
to the plane of the *next* neighbour of ``j`` counter-clockwise about ``j->i``.

Every angle is an ``atan2`` of a sine and a cosine part (accurate near 0 and pi, unlike
``acos``); norms and ``atan2`` are guarded so that gradients stay finite at collinear and
coincident configurations (there the derivative of an angle does not exist; the guards return a
finite one-sided value instead of NaN).
"""

from equibasis.geometry.angles import (
    comenet_angles,
    dimenet_angle,
    dimenetpp_angle,
    spherenet_angle,
    spherenet_torsion,
    triplets,
)
from equibasis.geometry.graphs import edge_vectors, molecular_graph, radius_graph

__all__ = [
    "comenet_angles",
    "dimenet_angle",
    "dimenetpp_angle",
    "edge_vectors",
    "molecular_graph",
    "radius_graph",
    "spherenet_angle",
    "spherenet_torsion",
    "triplets",
]
