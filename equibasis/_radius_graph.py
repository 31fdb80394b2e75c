"""Neighbour lists: radius graph and edge vectors (re-exported by :mod:`equibasis.geometry`)."""

import torch

__all__ = ["edge_vectors", "radius_graph"]


def radius_graph(
    pos: torch.Tensor, cutoff: float, batch: torch.Tensor | None = None
) -> torch.Tensor:
    """Placeholder until the tensor-field work lands."""
    raise NotImplementedError("radius_graph is being written")


def edge_vectors(pos: torch.Tensor, edge_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Placeholder until the tensor-field work lands."""
    raise NotImplementedError("edge_vectors is being written")
