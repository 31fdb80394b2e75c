r"""A SchNet-like model: continuous-filter convolutions on distances only (any radial basis)."""

import torch
from torch import nn

from equibasis.models._common import EnergyModel, ShiftedSoftplus, mlp

__all__ = ["SchNetLike"]


class SchNetLike(EnergyModel):
    r"""SchNet: interatomic distances through a radial basis into continuous filters.

    .. math::

        \mathbf{h}_i^{0} &= \mathrm{Emb}(z_i), \\
        \mathbf{h}_i^{t+1} &= \mathbf{h}_i^{t} + \phi\Big( \sum_{j \in \mathcal{N}(i)}
            W_1 \mathbf{h}_j^{t} \odot \mathrm{MLP}_t\big(\mathbf{e}(r_{ij})\, u(r_{ij})\big)
            \, u(r_{ij})
            \Big), \\
        \epsilon_i &= \mathrm{MLP}_{out}(\mathbf{h}_i^{T}), \qquad E = \sum_i \epsilon_i

    with :math:`\mathbf{e}(r)` the radial basis passed in (SchNet used 300 Gaussians, 0-30 Å),
    :math:`u` a smooth envelope (NequIP's polynomial, p = 6, where SchNetPack and
    PyG use a cosine cutoff), :math:`\phi` Dense-ssp-Dense and ssp the shifted softplus.
    Invariant under rotations, reflections, translations and permutations of atoms.

    Args:
        radial: Radial basis module (``num_basis``, ``cutoff``), e.g.
            ``GaussianRBF(num_basis=50, cutoff=5.0)``.
        hidden: Width of atom features and filters.
        num_interactions: Interaction blocks T.
        max_z: Largest atomic number.

    Shapes:
        ``forward(z (A,), pos (A, 3), batch (A,) | None) -> (B,)`` energies in eV.

    Example:
        >>> from equibasis.radial import GaussianRBF
        >>> model = SchNetLike(GaussianRBF(num_basis=20, cutoff=4.0), hidden=16)
        >>> model(torch.tensor([8, 1, 1]), torch.randn(3, 3)).shape
        torch.Size([1])

    References:
        Schütt et al., "SchNet: A continuous-filter convolutional neural network for modeling
        quantum interactions", NeurIPS 2017, Eqs. (1)-(5); Schütt et al., J. Chem. Phys. 148,
        241722 (2018); PyG ``torch_geometric.nn.models.SchNet``.
    """

    def __init__(
        self, radial: nn.Module, hidden: int = 64, num_interactions: int = 3, max_z: int = 10
    ) -> None:
        super().__init__(radial, max_z)
        self.embedding = nn.Embedding(max_z + 1, hidden)
        self.filters = nn.ModuleList(
            mlp([self.num_radial, hidden, hidden], ShiftedSoftplus) for _ in range(num_interactions)
        )
        self.inputs = nn.ModuleList(
            nn.Linear(hidden, hidden, bias=False) for _ in range(num_interactions)
        )
        self.updates = nn.ModuleList(
            mlp([hidden, hidden, hidden], ShiftedSoftplus) for _ in range(num_interactions)
        )
        self.out = mlp([hidden, hidden // 2, 1], ShiftedSoftplus)

    def atomic_energies(  # noqa: D102
        self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor, edge_index: torch.Tensor
    ) -> torch.Tensor:
        source, target = edge_index
        _, dist, rbf = self.edge_features(pos, edge_index)
        # the filter MLP has biases: its output is enveloped too, so W(r_c) = 0 (SchNet's C(r))
        u = self.envelope(dist).unsqueeze(-1)
        h = self.embedding(z)
        for filt, lin, update in zip(self.filters, self.inputs, self.updates, strict=True):
            messages = lin(h)[source] * (filt(rbf) * u)  # (E, hidden)
            v = torch.zeros_like(h).index_add_(0, target, messages)
            h = h + update(v)
        return self.out(h).squeeze(-1)
