"""What every radial basis is: a :class:`RadialBasis`, with its input check and family name."""

from typing import ClassVar

from torch import Tensor

from equibasis._runtime import values_known
from equibasis._tracing import DistanceInput
from equibasis._validation import check_finite, check_float_tensor

__all__ = ["RadialBasis"]


class RadialBasis(DistanceInput):
    """Base of the radial bases: ``forward(r (...)) -> (..., num_basis)`` (or more axes).

    Subclasses set :attr:`family` (their name in :mod:`equibasis.radial.registry`, the CLI and
    the benchmark) and :attr:`default_num_basis`, and have ``num_basis`` and ``cutoff``
    attributes. :meth:`from_num_basis` builds one from a total count of functions.
    """

    family: ClassVar[str] = ""
    default_num_basis: ClassVar[int] = 8
    num_basis: int
    cutoff: float

    @classmethod
    def from_num_basis(cls, num_basis: int, cutoff: float) -> "RadialBasis":
        """The basis with ``num_basis`` functions and the given cutoff (other options default)."""
        return cls(num_basis=num_basis, cutoff=cutoff)


def _check_distances(r: object) -> Tensor:
    r"""Type check, then reject NaN/inf (a cutoff mask would otherwise hide them) and r < 0.

    A distance is a norm: a negative one is a bug upstream (e.g. a signed coordinate passed as
    r), and some bases would return plausible-looking or huge values for it (Bernstein's
    :math:`e^{-\alpha r}` exceeds 1). The polar bases reject negative distances too.
    """
    r = check_finite("r", check_float_tensor("r", r))
    if values_known(r) and r.numel() and bool((r < 0).any()):
        raise ValueError(f"r must be >= 0 (distances), received min {float(r.detach().min()):.6g}")
    return r
