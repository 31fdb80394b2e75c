"""Exact maps between harmonic conventions, and harmonics of polar angles.

:func:`convert_sh` (e3nn, sphericart, scipy, DIG) and
:func:`real_spherical_harmonics_from_angles`.
"""

import functools
import math

import numpy as np
import torch

from equibasis._validation import (
    check_choice,
    check_float_tensor,
    check_int,
    check_last_dim,
)
from equibasis.harmonics.api import real_spherical_harmonics
from equibasis.harmonics.recurrence import _angular_harmonics

CONVENTIONS = ("e3nn", "sphericart", "scipy", "dig")


# ---------------------------------------------------------------------------------------------
# convention converters
# ---------------------------------------------------------------------------------------------
def _lm_pairs(lmax: int) -> list[tuple[int, int]]:
    return [(l, m) for l in range(lmax + 1) for m in range(-l, l + 1)]


@functools.lru_cache(maxsize=32)
def _e3nn_from_standard(lmax: int) -> tuple[np.ndarray, ...]:
    """Orthogonal ``D_l`` with ``e3nn_l(v) = D_l @ standard_l(v)`` for the same vector v.

    ``e3nn_l(v) = standard_l(P v)`` with ``P v = (v_z, v_x, v_y)`` a rotation, so ``D_l`` is
    the Wigner matrix of P in the standard basis:
    ``D_l[i, j] = integral over S^2 of standard_l(P v)[i] standard_l(v)[j]``, computed by a
    Gauss-Legendre (lmax + 1 nodes) x uniform (2 lmax + 2 nodes) product rule, exact for
    polynomials of degree <= 2 lmax + 1 (float64 rounding only).
    """
    nodes, weights = np.polynomial.legendre.leggauss(lmax + 1)
    nphi = 2 * lmax + 2
    phi = 2.0 * np.pi * np.arange(nphi) / nphi
    ct = np.repeat(nodes, nphi)
    st = np.sqrt(1.0 - ct * ct)
    ph = np.tile(phi, lmax + 1)
    w = torch.from_numpy(np.repeat(weights, nphi) * (2.0 * np.pi / nphi))
    v = torch.from_numpy(np.stack([st * np.cos(ph), st * np.sin(ph), ct], axis=-1))
    std = real_spherical_harmonics(lmax, v, normalize=False)
    rot = real_spherical_harmonics(lmax, v[:, [2, 0, 1]], normalize=False)
    mats = []
    for l in range(lmax + 1):
        sl = slice(l * l, (l + 1) * (l + 1))
        mats.append(((rot[:, sl] * w[:, None]).T @ std[:, sl]).numpy())
    return tuple(mats)


@functools.lru_cache(maxsize=32)
def _dig_tables(lmax: int) -> tuple[np.ndarray, np.ndarray]:
    """DIG column j of degree l holds ``sign[j] * standard[perm[j]]`` (global indices)."""
    perm, sign = [], []
    for l in range(lmax + 1):
        for m in [0, *range(1, l + 1), *range(-l, 0)]:
            perm.append(l * l + l + m)
            sign.append(-1.0 if m % 2 else 1.0)  # Condon-Shortley phase (-1)^m kept by DIG
    return np.array(perm), np.array(sign)


@functools.lru_cache(maxsize=32)
def _scipy_tables(lmax: int) -> tuple[np.ndarray, ...]:
    """Index/coefficient tables between standard real and scipy complex harmonics.

    complex -> real: ``real[k] = coef[k] * [Re | Im][index[k]]`` with the sqrt(2)(-1)^m formula;
    real -> complex: ``Re[k] = cre[k] * real[ire[k]]``, ``Im[k] = cim[k] * real[iim[k]]``.
    """
    dim = (lmax + 1) ** 2
    s = math.sqrt(2.0)
    index, coef, ire, cre, iim, cim = [], [], [], [], [], []
    for l, m in _lm_pairs(lmax):
        k0 = l * l + l
        sign = -1.0 if abs(m) % 2 else 1.0
        if m > 0:
            index.append(k0 + m)
            coef.append(s * sign)
            ire.append(k0 + m)
            cre.append(sign / s)
            iim.append(k0 - m)
            cim.append(sign / s)
        elif m < 0:
            index.append(dim + k0 - m)  # Im of Y_l^{|m|}
            coef.append(s * sign)
            ire.append(k0 - m)
            cre.append(1.0 / s)
            iim.append(k0 + m)
            cim.append(-1.0 / s)
        else:
            index.append(k0)
            coef.append(1.0)
            ire.append(k0)
            cre.append(1.0)
            iim.append(k0)
            cim.append(0.0)
    return tuple(np.array(a) for a in (index, coef, ire, cre, iim, cim))


def _const(a: np.ndarray, like: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    return torch.as_tensor(a, dtype=dtype or like.dtype, device=like.device)


def _to_standard(values: torch.Tensor, lmax: int, src: str) -> torch.Tensor:
    if src == "sphericart":
        return values
    if src == "e3nn":
        blocks = []
        for l, d in enumerate(_e3nn_from_standard(lmax)):
            blocks.append(values[..., l * l : (l + 1) * (l + 1)] @ _const(d, values))
        return torch.cat(blocks, dim=-1)
    if src == "dig":
        perm, sign = _dig_tables(lmax)
        inverse = np.argsort(perm)
        return values[..., _const(inverse, values, torch.long)] * _const(sign[inverse], values)
    # scipy: complex -> real by sqrt(2) (-1)^m Re / Im
    index, coef, *_ = _scipy_tables(lmax)
    parts = torch.cat([values.real, values.imag], dim=-1)
    return parts[..., _const(index, parts, torch.long)] * _const(coef, parts)


def _from_standard(values: torch.Tensor, lmax: int, dst: str) -> torch.Tensor:
    if dst == "sphericart":
        return values
    if dst == "e3nn":
        blocks = []
        for l, d in enumerate(_e3nn_from_standard(lmax)):
            blocks.append(values[..., l * l : (l + 1) * (l + 1)] @ _const(d, values).T)
        return torch.cat(blocks, dim=-1)
    if dst == "dig":
        perm, sign = _dig_tables(lmax)
        return values[..., _const(perm, values, torch.long)] * _const(sign, values)
    _, _, ire, cre, iim, cim = _scipy_tables(lmax)
    re = values[..., _const(ire, values, torch.long)] * _const(cre, values)
    im = values[..., _const(iim, values, torch.long)] * _const(cim, values)
    return torch.complex(re, im)


def real_spherical_harmonics_from_angles(
    lmax: int, theta: torch.Tensor, phi: torch.Tensor
) -> torch.Tensor:
    r"""Standard real spherical harmonics of the polar angles, degrees 0..lmax.

    The same functions as :func:`real_spherical_harmonics` of the unit vector
    :math:`(\sin\theta\cos\varphi, \sin\theta\sin\varphi, \cos\theta)`, computed from the
    angles directly: the fully normalised associated Legendre recurrence in
    :math:`z = \cos\theta`, :math:`s = \sin\theta`, times :math:`\cos m\varphi`,
    :math:`\sin m\varphi` by angle addition. Polar bases (SphereNet, ComENet) take angles as
    input; this avoids building vectors and runs the recurrence in the input's own precision.
    Polynomials in :math:`(s, z)` and trigonometric functions, so values and gradients are
    finite at the poles.

    Args:
        lmax: Highest degree (>= 0).
        theta: Polar angle from +z in radians, shape ``(...)``.
        phi: Azimuth in radians, same shape as ``theta``.

    Returns:
        Shape ``(..., (lmax + 1)**2)``, column ``l*l + l + m`` (m = -l..l), integral
        normalisation, no Condon-Shortley phase (as sphericart); dtype and device of ``theta``.

    Raises:
        TypeError: If ``lmax`` is not an int or an angle is not a floating-point tensor.
        ValueError: If ``lmax < 0`` or the shapes of ``theta`` and ``phi`` differ.

    Example:
        >>> theta, phi = torch.tensor([0.7]), torch.tensor([0.3])
        >>> y = real_spherical_harmonics_from_angles(2, theta, phi)
        >>> v = torch.stack([theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()], -1)
        >>> torch.allclose(y, real_spherical_harmonics(2, v), atol=1e-6)
        True
    """
    lmax = check_int("lmax", lmax, 0)
    check_float_tensor("theta", theta)
    check_float_tensor("phi", phi)
    if theta.shape != phi.shape:
        raise ValueError(
            f"theta and phi must have the same shape, received {tuple(theta.shape)} "
            f"and {tuple(phi.shape)}"
        )
    flat = _angular_harmonics(lmax + 1, theta.reshape(-1), phi.reshape(-1).to(theta.dtype))
    return flat.reshape(*theta.shape, (lmax + 1) ** 2)


def convert_sh(values: torch.Tensor, lmax: int, src: str, dst: str) -> torch.Tensor:
    r"""Convert harmonics of the same vectors from one convention to another.

    Conventions (all orthonormal, "integral"; ``docs/conventions.md`` has the details):

    * ``"sphericart"``: standard real :math:`Y_{lm}` (Wikipedia), x-y-z axes, polar axis z,
      column ``l*l + l + m``, m = -l..l; see :func:`real_spherical_harmonics`.
    * ``"e3nn"``: :func:`spherical_harmonics` with ``normalization="integral"``; polar axis y.
      For the same vector v, ``e3nn_l(v) = D_l standard_l(v)`` with ``D_l`` the (orthogonal,
      dense) Wigner matrix of the axis permutation :math:`v \mapsto (v_z, v_x, v_y)`.
    * ``"scipy"``: complex :math:`Y_l^m` = ``scipy.special.sph_harm_y(l, m, theta, phi)``
      (Condon-Shortley phase), column ``l*l + l + m``, complex dtype.
      Real from complex: :math:`\sqrt2 (-1)^m \operatorname{Re} Y_l^m` (m > 0),
      :math:`\sqrt2 (-1)^m \operatorname{Im} Y_l^{|m|}` (m < 0); complex from real:
      :math:`Y_l^{m} = (-1)^m (Y_{l,m} + i Y_{l,-m})/\sqrt2`,
      :math:`Y_l^{-m} = (Y_{l,m} - i Y_{l,-m})/\sqrt2`.
    * ``"dig"``: DIG/PyG ``real_sph_harm(..., zero_m_only=False)`` as DIG SphereNet's
      ``torsion_emb`` lists it: per degree m = 0, 1..l, -l..-1, each entry
      :math:`(-1)^m Y_{lm}` (Condon-Shortley phase kept).

    Every pair round-trips to rounding. ``"scipy"`` input must be the expansion of a real
    function (:math:`Y_l^{-m} = (-1)^m \overline{Y_l^m}`, true of harmonics values): only the
    m >= 0 columns are read.

    Args:
        values: Shape ``(..., (lmax + 1)**2)``; complex for ``src="scipy"``, real otherwise.
        lmax: Highest degree in ``values``.
        src: Convention of ``values``: one of ``"e3nn"``, ``"sphericart"``, ``"scipy"``,
            ``"dig"``.
        dst: Convention of the result (same choices).

    Returns:
        Shape ``(..., (lmax + 1)**2)``; complex (complex64/complex128 matching the real
        precision) for ``dst="scipy"``, real otherwise; a new tensor.

    Raises:
        ValueError: If a convention is unknown or the last dimension is not (lmax + 1)**2.
        TypeError: If ``values`` is not a tensor of the kind ``src`` needs.

    Example:
        >>> from equibasis.harmonics import spherical_harmonics
        >>> v = torch.randn(4, 3, dtype=torch.float64)
        >>> ours = real_spherical_harmonics(3, v)
        >>> bool(torch.allclose(convert_sh(ours, 3, "sphericart", "e3nn"),
        ...                     spherical_harmonics(range(4), v)))
        True
    """
    lmax = check_int("lmax", lmax)
    check_choice("src", src, CONVENTIONS)
    check_choice("dst", dst, CONVENTIONS)
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"values must be a torch.Tensor, received {type(values).__name__}")
    if src == "scipy":
        if not values.is_complex():
            raise TypeError(f"values must be complex for src='scipy', received {values.dtype}")
    else:
        values = check_float_tensor("values", values)
        if values.is_complex():
            raise TypeError(f"values must be real for src={src!r}, received {values.dtype}")
    check_last_dim("values", values, (lmax + 1) ** 2)
    if src == dst:
        return values.clone()
    return _from_standard(_to_standard(values, lmax, src), lmax, dst)
