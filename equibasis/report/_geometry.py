"""Random molecules and their SphereNet features, shared by the symmetry and torsion sections."""

import torch

__all__ = ["features", "molecule"]


def molecule(num_atoms: int, gen: torch.Generator) -> torch.Tensor:
    """Random positions in a 3 Å box with every pair at least 0.9 Å apart."""
    pos: list[torch.Tensor] = []
    while len(pos) < num_atoms:
        p = 3.0 * torch.rand(3, generator=gen, dtype=torch.float64)
        if all(float((p - q).norm()) >= 0.9 for q in pos):
            pos.append(p)
    return torch.stack(pos)


def features(pos: torch.Tensor, cutoff: float) -> dict[str, torch.Tensor]:
    """Edges, distances, SphereNet angles and torsions of a molecule (equibasis.geometry).

    ``idx_i``, ``idx_j``, ``idx_k`` name the atoms of each triplet k -> j -> i.
    """
    from equibasis import geometry

    edge_index = geometry.radius_graph(pos, cutoff)
    vec, dist = geometry.edge_vectors(pos, edge_index)
    idx_i, idx_j, idx_k, idx_kj, idx_ji = geometry.triplets(edge_index, pos.shape[0])
    return {
        "vec": vec,
        "dist": dist,
        "dist_kj": dist[idx_kj],
        "angle": geometry.spherenet_angle(pos, idx_i, idx_j, idx_k),
        "torsion": geometry.spherenet_torsion(pos, idx_i, idx_j, idx_k, idx_ji),
        "idx_i": idx_i,
        "idx_j": idx_j,
        "idx_k": idx_k,
    }
