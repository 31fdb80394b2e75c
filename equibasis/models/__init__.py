"""Small reference models whose geometric embedding is an argument (for ``equibasis benchmark``).

* :class:`SchNetLike`: distances only, any radial basis;
* :class:`DimeNetPPLike`: adds the (distance, angle) basis on triplets;
* :class:`SphereNetLike`: adds the torsion basis ("dig" or "consistent");
* :class:`TFNLike`: spherical harmonics up to ``lmax`` through ``TensorFieldConv``.

Each returns energies in eV as sums over atoms and forces as ``-dE/dpos``
(:meth:`EnergyModel.energy_and_forces`); only the basis differs between two runs of a grid.
"""

from equibasis.models._common import EnergyModel, FlatRadial
from equibasis.models.dimenet import DimeNetPPLike, DirectionalModel
from equibasis.models.schnet import SchNetLike
from equibasis.models.spherenet import SphereNetLike
from equibasis.models.tfn import TFNLike

__all__ = [
    "DimeNetPPLike",
    "DirectionalModel",
    "EnergyModel",
    "FlatRadial",
    "SchNetLike",
    "SphereNetLike",
    "TFNLike",
]
