"""Graph geometry: neighbour lists, DimeNet triplets, and each library's angle and torsion."""

from equibasis._radius_graph import edge_vectors, radius_graph

__all__ = ["edge_vectors", "radius_graph"]
