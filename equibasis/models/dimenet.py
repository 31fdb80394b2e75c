r"""A DimeNet++-like model: directional messages on edges with an angle basis on triplets."""

import torch
from torch import nn

from equibasis.geometry import dimenetpp_angle, triplets
from equibasis.models._common import EnergyModel, mlp
from equibasis.polar import AngleBasis

__all__ = ["DimeNetPPLike", "DirectionalModel"]


class DirectionalModel(EnergyModel):
    r"""Directional message passing (DimeNet++'s blocks); subclasses choose the triplet basis.

    Messages live on edges :math:`j \to i`; a message is updated from the messages
    :math:`k \to j` of its source, weighted by a basis of the triplet geometry
    :math:`\mathbf{b}_{kji}` (:meth:`triplet_basis`):

    .. math::

        \mathbf{m}_{ji}^{0} &= \sigma\big(W [\mathbf{h}_{z_i} \| \mathbf{h}_{z_j} \|
            \sigma(W_e \mathbf{e}_{ji})]\big),\qquad
            \mathbf{e}_{ji} = \mathbf{e}(r_{ji})\,u(r_{ji}), \\
        \mathbf{m}_{ji}^{t+1} &= \mathbf{m}_{ji}^{t} + \sigma\Big(W_r \big[\sigma(W_{ji}
            \mathbf{m}_{ji}^{t}) + \sigma\big(W_{up} \textstyle\sum_{k} \sigma(W_{dn}
            [\sigma(W_{kj}\mathbf{m}_{kj}^{t}) \odot W_{e'} \mathbf{e}_{kj}]) \odot
            W_b \mathbf{b}_{kji}\big)\big]\Big), \\
        \epsilon_i &= \sum_t \mathrm{MLP}_t\Big(\sum_j W_o^t \mathbf{e}_{ji} \odot
            \mathbf{m}_{ji}^{t}\Big), \qquad E = \sum_i \epsilon_i

    with :math:`\sigma` = SiLU and the down-projection to ``int_emb`` before the triplet
    product (DimeNet++'s saving over DimeNet's bilinear layer).

    Args:
        radial: Radial basis of the edges (``num_basis``, ``cutoff``).
        num_triplet_features: Columns of :meth:`triplet_basis`.
        hidden: Width of the edge messages.
        int_emb: Width of the triplet interaction (DimeNet++: 64 for hidden 128).
        num_blocks: Interaction blocks T.
        max_z: Largest atomic number.
    """

    def __init__(
        self,
        radial: nn.Module,
        num_triplet_features: int,
        hidden: int = 64,
        int_emb: int = 32,
        num_blocks: int = 3,
        max_z: int = 10,
    ) -> None:
        super().__init__(radial, max_z)
        k = self.num_radial
        self.embedding = nn.Embedding(max_z + 1, hidden)
        self.edge_rbf = mlp([k, hidden], last_act=True)
        self.edge_embed = mlp([3 * hidden, hidden], last_act=True)
        self.w_ji = nn.ModuleList(mlp([hidden, hidden], last_act=True) for _ in range(num_blocks))
        self.w_kj = nn.ModuleList(mlp([hidden, hidden], last_act=True) for _ in range(num_blocks))
        self.w_rbf = nn.ModuleList(nn.Linear(k, hidden, bias=False) for _ in range(num_blocks))
        self.w_down = nn.ModuleList(
            mlp([hidden, int_emb], last_act=True) for _ in range(num_blocks)
        )
        self.w_basis = nn.ModuleList(
            nn.Linear(num_triplet_features, int_emb, bias=False) for _ in range(num_blocks)
        )
        self.w_up = nn.ModuleList(mlp([int_emb, hidden], last_act=True) for _ in range(num_blocks))
        self.w_res = nn.ModuleList(mlp([hidden, hidden], last_act=True) for _ in range(num_blocks))
        self.out_rbf = nn.ModuleList(
            nn.Linear(k, hidden, bias=False) for _ in range(num_blocks + 1)
        )
        self.out = nn.ModuleList(mlp([hidden, hidden // 2, 1]) for _ in range(num_blocks + 1))

    def triplet_basis(
        self,
        pos: torch.Tensor,
        dist: torch.Tensor,
        trip: tuple[torch.Tensor, ...],
    ) -> torch.Tensor:
        """Features of each triplet ``k -> j -> i``, shape ``(T, num_triplet_features)``.

        ``trip`` is :func:`equibasis.geometry.triplets`' ``(i, j, k, idx_kj, idx_ji)``; ``dist``
        the edge lengths ``(E,)``.
        """
        raise NotImplementedError

    def _output(self, t: int, m: torch.Tensor, rbf: torch.Tensor, target: torch.Tensor, n: int):
        per_atom = m.new_zeros(n, m.shape[1]).index_add_(0, target, self.out_rbf[t](rbf) * m)
        return self.out[t](per_atom).squeeze(-1)

    def atomic_energies(  # noqa: D102
        self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor, edge_index: torch.Tensor
    ) -> torch.Tensor:
        source, target = edge_index
        n = z.shape[0]
        _, dist, rbf = self.edge_features(pos, edge_index)
        trip = triplets(edge_index, n)
        idx_kj, idx_ji = trip[3], trip[4]
        basis = self.triplet_basis(pos, dist, trip)  # (T, F)
        h = self.embedding(z)
        m = self.edge_embed(torch.cat([h[target], h[source], self.edge_rbf(rbf)], dim=-1))
        energy = self._output(0, m, rbf, target, n)
        for t in range(len(self.w_ji)):
            x_ji = self.w_ji[t](m)
            x_kj = self.w_down[t](self.w_kj[t](m) * self.w_rbf[t](rbf))  # (E, int_emb)
            x_kj = x_kj[idx_kj] * self.w_basis[t](basis)  # (T, int_emb)
            agg = x_kj.new_zeros(m.shape[0], x_kj.shape[1]).index_add_(0, idx_ji, x_kj)
            m = m + self.w_res[t](x_ji + self.w_up[t](agg))
            energy = energy + self._output(t + 1, m, rbf, target, n)
        return energy


class DimeNetPPLike(DirectionalModel):
    r"""DimeNet++: directional messages with the (distance, angle) basis on triplets.

    The triplet basis is :math:`\mathbf{b}_{kji} = a_{ln}(r_{kj}, \alpha_{kji})\,u(r_{kj})`,
    the angle basis passed in (:class:`~equibasis.polar.AngleBasis`, DimeNet's spherical
    Fourier-Bessel basis; its ``variant`` "paper", "pyg" or "dig") at the distance of the edge
    ``k -> j`` and DimeNet++'s angle :func:`~equibasis.geometry.dimenetpp_angle` (the angle
    between the bonds ``j -> i`` and ``k -> j``). Blocks and equations: see
    :class:`DirectionalModel`. Invariant under rotations, reflections, translations and
    permutations.

    Args:
        radial: Radial basis of the edges, e.g. ``BesselRBF(num_basis=6, cutoff=5.0)``.
        angle: The angle basis; None builds ``AngleBasis(7, 6, radial.cutoff)`` (DimeNet's
            sizes). Its cutoff must equal the radial one.
        hidden, int_emb, num_blocks, max_z: See :class:`DirectionalModel`.

    Shapes:
        ``forward(z (A,), pos (A, 3), batch (A,) | None) -> (B,)`` energies in eV.

    Example:
        >>> from equibasis.radial import BesselRBF
        >>> model = DimeNetPPLike(BesselRBF(num_basis=6, cutoff=4.0), hidden=16, int_emb=8)
        >>> model(torch.tensor([8, 1, 1]), torch.randn(3, 3)).shape
        torch.Size([1])

    References:
        Gasteiger, Groß, Günnemann, "Directional Message Passing for Molecular Graphs",
        ICLR 2020; Gasteiger et al., "Fast and Uncertainty-Aware Directional Message Passing
        for Non-Equilibrium Molecules" (DimeNet++), 2020; PyG ``DimeNetPlusPlus``.
    """

    def __init__(
        self,
        radial: nn.Module,
        angle: AngleBasis | None = None,
        hidden: int = 64,
        int_emb: int = 32,
        num_blocks: int = 3,
        max_z: int = 10,
    ) -> None:
        angle = AngleBasis(7, 6, cutoff=float(radial.cutoff)) if angle is None else angle
        _same_cutoff(radial, angle)
        super().__init__(
            radial, angle.num_spherical * angle.num_radial, hidden, int_emb, num_blocks, max_z
        )
        self.angle = angle

    def triplet_basis(  # noqa: D102
        self, pos: torch.Tensor, dist: torch.Tensor, trip: tuple[torch.Tensor, ...]
    ) -> torch.Tensor:
        idx_i, idx_j, idx_k, idx_kj, _ = trip
        alpha = dimenetpp_angle(pos, idx_i, idx_j, idx_k)
        return self.angle(dist, alpha, idx_kj) * self.envelope(dist)[idx_kj].unsqueeze(-1)


def _same_cutoff(radial: nn.Module, polar: nn.Module) -> None:
    if not hasattr(radial, "cutoff") or float(polar.cutoff) != float(radial.cutoff):
        raise ValueError(
            f"the polar basis' cutoff ({polar.cutoff}) must equal the radial basis' cutoff "
            f"({getattr(radial, 'cutoff', None)})"
        )
