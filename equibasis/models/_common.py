r"""What the reference models share: energies as sums over atoms, forces as -dE/dpos.

Every model maps ``(z, pos, batch)`` to one energy per molecule,

.. math:: E_b = \sum_{i \in b} \big( s\,\epsilon_i(z, \mathbf{r}) + \varepsilon_{z_i} \big),
          \qquad \mathbf{F}_i = -\partial E / \partial \mathbf{r}_i

with :math:`\epsilon_i` the model's atomic output, :math:`s` an energy scale and
:math:`\varepsilon_Z` per-element reference energies (a composition fit,
:class:`equibasis.datasets.CompositionBaseline`), both fixed buffers set by
:meth:`EnergyModel.set_reference`. The learnt part :math:`s \sum_i \epsilon_i` is
:meth:`EnergyModel.interaction_energy`; training on it avoids adding the large reference
energies (10^4 eV for QM9) in float32.
"""

import itertools
import math

import torch
from torch import nn

from equibasis.cutoff import PolynomialCutoff
from equibasis.geometry import edge_vectors, molecular_graph

__all__ = ["EnergyModel", "FlatRadial", "ShiftedSoftplus", "mlp"]


class ShiftedSoftplus(nn.Module):
    r"""SchNet's activation :math:`\ln(1 + e^x) - \ln 2` (zero at 0)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Elementwise; any shape."""
        return nn.functional.softplus(x) - math.log(2.0)


def mlp(sizes: list[int], act: type[nn.Module] = nn.SiLU, last_act: bool = False) -> nn.Sequential:
    """Linear layers of ``sizes`` with ``act`` between them (and after the last if asked)."""
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if k < len(sizes) - 2 or last_act:
            layers.append(act())
    return nn.Sequential(*layers)


class FlatRadial(nn.Module):
    """A radial basis with its trailing feature axes flattened into ``num_basis`` columns.

    Its output is multiplied by ``scale``, a fixed buffer (1: the basis as published; see
    :meth:`EnergyModel.normalise_radial`).

    :class:`~equibasis.radial.SphericalBesselRBF` returns ``(..., num_spherical, num_radial)``;
    the models (and :class:`~equibasis.tensor_field.TensorFieldConv`) need ``(..., num_basis)``.
    Bases that already return ``(..., num_basis)`` pass through unchanged.

    Args:
        basis: A radial basis with attributes ``num_basis`` and ``cutoff``.
    """

    def __init__(self, basis: nn.Module) -> None:
        super().__init__()
        for attr in ("num_basis", "cutoff"):
            if not hasattr(basis, attr):
                raise TypeError(
                    f"radial must be an equibasis radial basis (attributes num_basis and "
                    f"cutoff); {type(basis).__name__} has no {attr!r}"
                )
        self.basis = basis
        self.num_basis = int(basis.num_basis)
        self.cutoff = float(basis.cutoff)
        self.register_buffer("scale", torch.ones((), dtype=torch.float64))

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        """``(...,)`` distances -> ``(..., num_basis)``."""
        out = self.basis(r) * self.scale.to(r.dtype)
        return out.reshape(*r.shape, self.num_basis)


class EnergyModel(nn.Module):
    """Base class: graph building, per-element references, energies and forces.

    Subclasses implement :meth:`atomic_energies` ``(z, pos, batch, edge_index) -> (A,)``.

    Args:
        radial: The radial basis (the embedding under test); its ``cutoff`` is the graph's.
        max_z: Largest atomic number the embedding table holds.
        envelope_p: Exponent of the polynomial envelope :math:`u(r)` (NequIP's, p = 6) that
            multiplies every geometric feature, so energies and forces are smooth at the cutoff
            whatever the basis.
    """

    def __init__(self, radial: nn.Module, max_z: int = 10, envelope_p: int = 6) -> None:
        super().__init__()
        self.radial = FlatRadial(radial)
        self.cutoff = self.radial.cutoff
        self.num_radial = self.radial.num_basis
        self.max_z = int(max_z)
        self.envelope = PolynomialCutoff(self.cutoff, p=envelope_p)
        self.register_buffer("atom_energy", torch.zeros(self.max_z + 1, dtype=torch.float64))
        self.register_buffer("energy_scale", torch.ones((), dtype=torch.float64))

    def set_reference(self, atom_energy: torch.Tensor, scale: float = 1.0) -> None:
        """Set the per-element energies (a table indexed by Z, eV) and the scale s (eV)."""
        table = torch.zeros_like(self.atom_energy)
        n = min(table.numel(), atom_energy.numel())
        table[:n] = atom_energy[:n].to(table)
        self.atom_energy.copy_(table)
        self.energy_scale.fill_(float(scale))

    @torch.no_grad()
    def normalise_radial(self, dist: torch.Tensor) -> float:
        r"""Scale the enveloped radial basis to unit RMS over the distances ``dist`` (Å).

        Sets :math:`c = \big(\langle \lVert u(r)\,\phi(r) \rVert^2 \rangle_r / K\big)^{-1/2}`,
        one fixed number per model (a buffer, not trained) that multiplies every radial
        feature. The shape of the basis and the ratios between its functions are unchanged;
        only its overall scale is, which under Adam acts like the first layer's learning rate
        (the published bases differ by 30x in RMS). Returns :math:`c`.
        """
        scale = self.radial.scale
        scale.fill_(1.0)
        features = self.enveloped_radial(dist.reshape(-1))
        rms = float(features.double().square().mean().sqrt()) if features.numel() else 0.0
        scale.fill_(1.0 / rms if rms > 0 else 1.0)
        return float(scale)

    def _check(self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor | None):
        if pos.ndim != 2 or pos.shape[1] != 3 or z.shape != pos.shape[:1]:
            raise ValueError(
                f"expected z (A,) and pos (A, 3), received {tuple(z.shape)}, {tuple(pos.shape)}"
            )
        if z.numel() and (int(z.min()) < 1 or int(z.max()) > self.max_z):
            raise ValueError(f"atomic numbers must lie in 1..{self.max_z}")
        if batch is None:
            batch = torch.zeros_like(z)
        return batch

    def atomic_energies(
        self, z: torch.Tensor, pos: torch.Tensor, batch: torch.Tensor, edge_index: torch.Tensor
    ) -> torch.Tensor:
        """The model's output per atom, shape ``(A,)`` (dimensionless, scaled by s)."""
        raise NotImplementedError

    def edge_features(
        self, pos: torch.Tensor, edge_index: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(vec (E, 3), dist (E,), rbf (E, num_radial))``: the enveloped radial basis."""
        vec, dist = edge_vectors(pos, edge_index)
        return vec, dist, self.enveloped_radial(dist)

    def enveloped_radial(self, dist: torch.Tensor) -> torch.Tensor:
        """``u(r) * scale * radial(r)``: distances ``(E,)`` -> ``(E, num_radial)``."""
        return self.radial(dist) * self.envelope(dist).unsqueeze(-1)

    def interaction_energy(
        self,
        z: torch.Tensor,
        pos: torch.Tensor,
        batch: torch.Tensor | None = None,
        num_molecules: int | None = None,
    ) -> torch.Tensor:
        r"""The learnt part :math:`s \sum_{i \in b} \epsilon_i` per molecule, shape ``(B,)``, eV."""
        batch = self._check(z, pos, batch)
        if num_molecules is None:
            num_molecules = int(batch.max()) + 1 if batch.numel() else 0
        edge_index = molecular_graph(pos.detach(), batch, self.cutoff)
        out = self.atomic_energies(z, pos, batch, edge_index) * self.energy_scale.to(pos.dtype)
        return out.new_zeros(num_molecules).index_add_(0, batch, out)

    def forward(
        self,
        z: torch.Tensor,
        pos: torch.Tensor,
        batch: torch.Tensor | None = None,
        num_molecules: int | None = None,
    ) -> torch.Tensor:
        """Energy of each molecule in eV, shape ``(B,)`` (one molecule when ``batch`` is None).

        Args:
            z: Atomic numbers, shape ``(A,)``, int64, in ``1..max_z``.
            pos: Positions in Å, shape ``(A, 3)``, in the model's dtype.
            batch: Molecule of each atom, shape ``(A,)``, or None.
            num_molecules: B (default ``batch.max() + 1``).
        """
        energy = self.interaction_energy(z, pos, batch, num_molecules)
        batch = self._check(z, pos, batch)
        ref = self.atom_energy.to(pos.dtype)[z]
        return energy + energy.new_zeros(energy.shape[0]).index_add_(0, batch, ref)

    def energy_and_forces(
        self,
        z: torch.Tensor,
        pos: torch.Tensor,
        batch: torch.Tensor | None = None,
        num_molecules: int | None = None,
        create_graph: bool | None = None,
        reference: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Energies ``(B,)`` in eV and forces ``(A, 3)`` in eV/Å.

        Forces are :math:`-\partial E/\partial \mathbf{r}` by autograd.

        Args:
            z: Atomic numbers ``(A,)``.
            pos: Positions in Å ``(A, 3)``.
            batch: Molecule of each atom ``(A,)``, or None.
            num_molecules: B (default ``batch.max() + 1``).
            create_graph: Keep the graph of the forces (for a force loss); default: in
                training mode.
            reference: Add the per-element energies (False: :meth:`interaction_energy`).
        """
        if create_graph is None:
            create_graph = self.training
        with torch.enable_grad():
            pos = pos if pos.requires_grad else pos.detach().requires_grad_(True)
            fn = self.forward if reference else self.interaction_energy
            energy = fn(z, pos, batch, num_molecules)
            (grad,) = torch.autograd.grad(energy.sum(), pos, create_graph=create_graph)
        return energy, -grad
