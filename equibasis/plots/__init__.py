"""Figures of the bases: radial curves, DimeNet-style polar maps, spherical-harmonic surfaces.

Every function evaluates the basis it is given (through its public ``forward``) on a grid, draws
it with matplotlib and returns the :class:`matplotlib.figure.Figure` (or, for the interactive
harmonics, a plotly figure). Nothing here calls ``plt.show()`` or touches the global ``rcParams``;
matplotlib and plotly are imported inside the functions, so ``import equibasis.plots`` is cheap.

Artists carry a ``gid`` so the data can be read back (tests do): radial curves are
``"basis-<k>"``, polar panels are ``QuadMesh`` objects with gid ``"basis-map"``, harmonic surfaces
``"Y-<l>-<m>"``.

Example:
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import torch
    >>> class Hat(torch.nn.Module):  # any module mapping r (...,) to (..., num_basis)
    ...     num_basis, cutoff = 3, 2.0
    ...     def forward(self, r):
    ...         centres = torch.tensor([0.0, 1.0, 2.0], dtype=r.dtype)
    ...         return (1 - (r[..., None] - centres).abs()).clamp(min=0)
    >>> fig = plot_radial_basis(Hat())
    >>> len([line for line in fig.axes[0].lines if line.get_gid().startswith("basis-")])
    3
"""

from equibasis.plots.harmonics import MAX_HARMONICS_LMAX, plot_spherical_harmonics
from equibasis.plots.polar import (
    plot_angle_basis,
    plot_angle_variants,
    plot_torsion_basis,
    plot_torsion_variants,
)
from equibasis.plots.radial import plot_radial_basis

__all__ = [
    "MAX_HARMONICS_LMAX",
    "plot_angle_basis",
    "plot_angle_variants",
    "plot_radial_basis",
    "plot_spherical_harmonics",
    "plot_torsion_basis",
    "plot_torsion_variants",
]
