r"""A SphereNet-like model: DimeNet++'s blocks with the torsion basis added on triplets."""

import torch
from torch import nn

from equibasis.geometry import spherenet_angle, spherenet_torsion
from equibasis.models.dimenet import DirectionalModel, _same_cutoff
from equibasis.polar import AngleBasis, TorsionBasis

__all__ = ["SphereNetLike"]


class SphereNetLike(DirectionalModel):
    r"""SphereNet: messages weighted by distance, angle and torsion of each triplet.

    The triplet weight of :class:`~equibasis.models.dimenet.DirectionalModel` becomes the
    product of an angle and a torsion term, as in SphereNet's interaction block
    (``x_kj = x_kj[idx_kj] * sbf * t``):

    .. math::

        W_b \mathbf{b}_{kji} \;\to\; \big(W_a\, a(r_{kj}, \theta_{kji})\big) \odot
            \big(W_t\, t(r_{kj}, \theta_{kji}, \varphi_{kji})\big)\, u(r_{kj})

    with :math:`\theta` the interior angle at ``j`` (:func:`~equibasis.geometry.spherenet_angle`),
    :math:`\varphi` SphereNet's torsion (:func:`~equibasis.geometry.spherenet_torsion`),
    :math:`a` the angle basis and :math:`t` the torsion basis passed in
    (:class:`~equibasis.polar.TorsionBasis`, variant ``"dig"`` (SphereNet's code) or
    ``"consistent"``). Invariant under rotations, translations and permutations; **not**
    under reflections: SphereNet's torsion is measured counter-clockwise, so a molecule and its
    mirror image get different energies (by design: SphereNet tells enantiomers apart), and
    the torsion jumps where the reference neighbour changes (see docs/polar.md).

    Args:
        radial: Radial basis of the edges.
        torsion: The torsion basis; None builds ``TorsionBasis(3, 6, radial.cutoff)``.
        angle: The angle basis; None builds ``AngleBasis(3, 6, radial.cutoff)`` (SphereNet's
            num_spherical = 3, num_radial = 6).
        hidden, int_emb, num_blocks, max_z: See :class:`DirectionalModel`.

    Shapes:
        ``forward(z (A,), pos (A, 3), batch (A,) | None) -> (B,)`` energies in eV.

    Example:
        >>> from equibasis.radial import BesselRBF
        >>> model = SphereNetLike(BesselRBF(num_basis=6, cutoff=4.0), hidden=16, int_emb=8)
        >>> model(torch.tensor([6, 8, 1, 1]), torch.randn(4, 3)).shape
        torch.Size([1])

    References:
        Liu et al., "Spherical Message Passing for 3D Molecular Graphs", ICLR 2022, Sec. 3-4;
        DIG ``dig/threedgraph/method/spherenet/spherenet.py``.
    """

    def __init__(
        self,
        radial: nn.Module,
        torsion: TorsionBasis | None = None,
        angle: AngleBasis | None = None,
        hidden: int = 64,
        int_emb: int = 32,
        num_blocks: int = 3,
        max_z: int = 10,
    ) -> None:
        cutoff = float(radial.cutoff)
        torsion = TorsionBasis(3, 6, cutoff=cutoff) if torsion is None else torsion
        angle = AngleBasis(3, 6, cutoff=cutoff) if angle is None else angle
        _same_cutoff(radial, angle)
        _same_cutoff(radial, torsion)
        super().__init__(radial, int_emb, hidden, int_emb, num_blocks, max_z)
        self.angle = angle
        self.torsion = torsion
        self.w_angle = nn.Linear(angle.num_spherical * angle.num_radial, int_emb, bias=False)
        self.w_torsion = nn.Linear(
            torsion.num_spherical**2 * torsion.num_radial, int_emb, bias=False
        )

    def triplet_basis(  # noqa: D102
        self, pos: torch.Tensor, dist: torch.Tensor, trip: tuple[torch.Tensor, ...]
    ) -> torch.Tensor:
        idx_i, idx_j, idx_k, idx_kj, idx_ji = trip
        theta = spherenet_angle(pos, idx_i, idx_j, idx_k)
        phi = spherenet_torsion(pos, idx_i, idx_j, idx_k, idx_ji)
        a = self.w_angle(self.angle(dist, theta, idx_kj))
        t = self.w_torsion(self.torsion(dist, theta, phi, idx_kj))
        return a * t * self.envelope(dist)[idx_kj].unsqueeze(-1)
