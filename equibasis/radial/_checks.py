"""The input check every radial basis makes."""

from torch import Tensor

from equibasis._runtime import values_known
from equibasis._validation import (
    check_finite,
    check_float_tensor,
)


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
