"""Extreme and oversized inputs at the polar bases' entry points (issue 16)."""

import pytest
import torch

from equibasis.polar import (
    ANGLE_VARIANTS,
    TORSION_VARIANTS,
    AngleBasis,
    ComENetAngleBasis,
    ComENetTorsionBasis,
    TorsionBasis,
)


def _bases():
    return [
        *(AngleBasis(4, 3, cutoff=5.0, variant=v) for v in ANGLE_VARIANTS),
        *(TorsionBasis(3, 3, cutoff=5.0, variant=v) for v in TORSION_VARIANTS),
        ComENetAngleBasis(3, 2, cutoff=5.0),
        ComENetTorsionBasis(2, 3, cutoff=5.0),
    ]


def _call(basis, dist, angle, phi):
    if isinstance(basis, AngleBasis | ComENetAngleBasis):
        return basis(dist, angle)
    return basis(dist, angle, phi)


@pytest.mark.parametrize(
    "basis",
    _bases(),
    ids=lambda b: f"{type(b).__name__}-{b.variant}" if hasattr(b, "variant") else type(b).__name__,
)
def test_huge_finite_distance_gives_the_limit(basis, dtype):
    # z r / c overflowed to inf and sin(inf) gave NaN at d = 3e38 (float32)
    huge = torch.finfo(dtype).max / 2
    dist = torch.tensor([1.5, huge], dtype=dtype, requires_grad=True)
    angle = torch.tensor([0.7, 0.7], dtype=dtype)
    phi = torch.tensor([1.1, 1.1], dtype=dtype)
    out = _call(basis, dist, angle, phi)
    assert torch.isfinite(out).all()
    near, far = out[0].abs().max(), out[1].abs().max()
    assert far <= 1e-10 * near  # j_l(x) -> 0 (|j_l| <= 1/x), or 0 beyond an envelope's cutoff
    (grad,) = torch.autograd.grad(out.sum(), dist)
    assert torch.isfinite(grad).all()


@pytest.mark.parametrize(
    "factory",
    [
        lambda: AngleBasis(num_spherical=400, num_radial=2),
        lambda: TorsionBasis(num_spherical=100, num_radial=2),
        lambda: ComENetAngleBasis(num_spherical=65, num_radial=1),
    ],
)
def test_construction_is_bounded(factory):
    # the root search behind the radial part costs O(L^3): 24 s at L = 400
    with pytest.raises(ValueError, match=r"num_spherical must be <= 64, received \d+: the root"):
        factory()
