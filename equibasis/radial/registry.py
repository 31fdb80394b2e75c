"""The radial families by name: what the CLI, the benchmark and the report look up.

A new radial basis is a :class:`~equibasis.radial._base.RadialBasis` subclass with a
``family`` name, added to :data:`RADIAL_FAMILIES` below; everything that lists or builds bases
by name (``equibasis plot radial --basis``, ``equibasis benchmark --bases FAMILY-K``) reads
this table.
"""

from equibasis.radial._base import RadialBasis
from equibasis.radial.bernstein import BernsteinRBF
from equibasis.radial.bessel import BesselRBF, SphericalBesselRBF
from equibasis.radial.expnormal import ExpNormalRBF
from equibasis.radial.gaussian import GaussianRBF

__all__ = ["RADIAL_FAMILIES", "radial_basis"]

RADIAL_FAMILIES: dict[str, type[RadialBasis]] = {
    cls.family: cls
    for cls in (GaussianRBF, BesselRBF, SphericalBesselRBF, ExpNormalRBF, BernsteinRBF)
}


def radial_basis(family: str, num_basis: int | None = None, cutoff: float = 5.0) -> RadialBasis:
    """The basis of ``family`` with ``num_basis`` functions (default: the family's own count).

    Raises:
        ValueError: On an unknown family.

    Example:
        >>> basis = radial_basis("bessel", 8, cutoff=4.0)
        >>> type(basis).__name__, basis.num_basis, basis.cutoff
        ('BesselRBF', 8, 4.0)
    """
    cls = RADIAL_FAMILIES.get(family)
    if cls is None:
        raise ValueError(
            f"unknown radial family {family!r}; expected one of {', '.join(RADIAL_FAMILIES)}"
        )
    return cls.from_num_basis(num_basis or cls.default_num_basis, cutoff)
