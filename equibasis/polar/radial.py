"""The radial part of the polar bases: ``N_ln j_l(z_ln d / c)`` [x envelope] as Chebyshev series."""

import math

import torch

from equibasis._runtime import records_grad, values_known
from equibasis.cutoff import dimenet_smooth_part
from equibasis.polar.chebyshev import (
    _FLOAT32_TOLERANCE,
    _chebyshev_fit,
    _chebyshev_rows,
    _cut_series,
    chebyshev_series,
)
from equibasis.radial.bessel import spherical_bessel_normalization, spherical_bessel_values
from equibasis.special import spherical_jn_zeros


def _envelope(x: torch.Tensor, exponent: int) -> torch.Tensor:
    """DimeNet's ``u(x) = 1 + a x^p + b x^(p+1) + c x^(p+2)`` (``x u`` of PyG's ``Envelope``)."""
    return dimenet_smooth_part(x, exponent + 1, zero_beyond_cutoff=False)


class _SphericalBesselRadial(torch.nn.Module):
    r"""``N_ln j_l(z_ln d / c)`` times an optional envelope, output ``(E, L * R)`` (l-major).

    ``envelope``: ``"none"`` (exact values beyond the cutoff), ``"paper"`` (``u(x)``, zero for
    ``x >= 1``) or ``"pyg"`` (``u(x) / x``, zero for ``x >= 1``, ``+inf`` at ``x = 0`` for l = 0).
    ``normalization``: ``"dimenet"`` = sqrt(2 / j_{l+1}^2), ``"orthonormal"`` = that / c^(3/2).
    """

    def __init__(
        self,
        num_spherical: int,
        num_radial: int,
        cutoff: float,
        normalization: str,
        envelope: str,
        envelope_exponent: int = 5,
    ) -> None:
        super().__init__()
        self.num_spherical = num_spherical
        self.num_radial = num_radial
        self.cutoff = cutoff
        self.envelope = envelope
        self.envelope_exponent = envelope_exponent
        zeros = spherical_jn_zeros(num_spherical, num_radial)
        norm = spherical_bessel_normalization(zeros, normalization, cutoff)

        def values_at(x: torch.Tensor) -> torch.Tensor:
            f = spherical_bessel_values(x, zeros, norm).permute(1, 2, 0)  # (L, R, M)
            if envelope == "paper":
                f = f * _envelope(x, envelope_exponent)
            elif envelope == "pyg":
                # u(x) j_l / x; for l = 0 the 1/x pole N_0n / x is split off (added in forward)
                f = f * _envelope(x, envelope_exponent) / x
                f[0] = f[0] - norm[0, :, None] / x
            return f.reshape(num_spherical * num_radial, -1)

        bandwidth = float(zeros.max()) + (envelope_exponent + 3 if envelope != "none" else 0)
        coefficients = _chebyshev_fit(values_at, bandwidth)
        self.register_buffer("coefficients", coefficients)
        # float32 input needs fewer terms: drop those below 3e-8 of the largest coefficient
        # (derived from the above, so not saved in the state_dict)
        float32 = _cut_series(coefficients, _FLOAT32_TOLERANCE)
        self.register_buffer("float32_coefficients", float32, persistent=False)
        self.register_buffer("zeros", zeros)
        self.register_buffer("norm", norm)

    def series_for(self, dtype: torch.dtype) -> torch.Tensor:
        """The Chebyshev coefficients ``(K, L * R)`` used for input of ``dtype``, in it."""
        series = self.coefficients if dtype == torch.float64 else self.float32_coefficients
        return series.to(dtype)

    def exact(self, x: torch.Tensor) -> torch.Tensor:
        """Direct evaluation with ``spherical_jn`` (slow; used beyond the cutoff only)."""
        return spherical_bessel_values(x, self.zeros, self.norm).flatten(-2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x = d / c`` of shape ``(E,)`` -> ``(E, L * R)``."""
        if not values_known(x):  # a graph is recorded, or meta / fake tensors
            return self._composed(x)
        coefficients = self.series_for(x.dtype)
        inside = x.clamp(0.0, 1.0)
        folded = self.envelope == "pyg" and not records_grad(x)
        if folded:
            out = self._pyg_without_autograd(2.0 * inside - 1.0, x, coefficients)
        else:
            out = chebyshev_series(2.0 * inside - 1.0, coefficients)
        if self.envelope == "pyg" and not folded:
            # the split-off l = 0 pole N_0n / x, added in place (out is a fresh tensor)
            out[:, : self.num_radial] += self.norm[0].to(x.dtype) / x.unsqueeze(-1)
        beyond = x > 1.0 if self.envelope == "none" else x >= 1.0
        if bool(beyond.any()):  # rare: patch only those rows
            index = beyond.nonzero().squeeze(-1)
            if self.envelope == "none":
                out = out.index_put((index,), self.exact(x.index_select(0, index)))
            else:
                out = out.index_fill(0, index, 0.0)
        return out

    def _composed(self, x: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` with no data-dependent branch or in-place write (the graph path).

        The same series and pole; rows beyond the cutoff are selected by ``where`` (without an
        envelope the exact continuation is evaluated on every row, then selected).
        """
        coefficients = self.series_for(x.dtype)
        out = chebyshev_series(2.0 * x.clamp(0.0, 1.0) - 1.0, coefficients)
        if self.envelope == "pyg":
            pole = self.norm[0].to(x.dtype) / x.unsqueeze(-1)  # (E, R), +inf at x = 0
            out = out + torch.nn.functional.pad(pole, (0, out.shape[1] - self.num_radial))
        if self.envelope == "none":
            beyond = (x > 1.0).unsqueeze(-1)
            return torch.where(beyond, self.exact(torch.where(beyond[:, 0], x, 1.0)), out)
        return torch.where((x >= 1.0).unsqueeze(-1), 0.0, out)

    def _pyg_without_autograd(
        self, u: torch.Tensor, x: torch.Tensor, coefficients: torch.Tensor
    ) -> torch.Tensor:
        """Series plus the l = 0 pole ``N_0n / x`` in one matrix product (no autograd).

        The pole is one more row, ``1 / x`` (0 at ``x = 0``, where the l = 0 columns are then
        set to ``+inf``): no strided pass over the output to add it.
        """
        count, size = coefficients.shape
        rows = _chebyshev_rows(u, count, extra=1)
        zero = x == 0
        torch.reciprocal(x, out=rows[count]).masked_fill_(zero, 0.0)
        pole = coefficients.new_zeros(1, size)
        pole[0, : self.num_radial] = self.norm[0]
        out = torch.mm(rows.T, torch.cat([coefficients, pole]))
        if bool(zero.any()):
            out[:, : self.num_radial].masked_fill_(zero.unsqueeze(-1), math.inf)
        return out

    def extra_repr(self) -> str:
        return (
            f"num_spherical={self.num_spherical}, num_radial={self.num_radial}, "
            f"cutoff={self.cutoff}, envelope={self.envelope!r}, "
            f"chebyshev_terms={self.coefficients.shape[0]}"
        )
