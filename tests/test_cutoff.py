"""Tests of equibasis.cutoff: values against PyG's Envelope and closed forms, limits, gradients."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from equibasis.cutoff import CosineCutoff, DimeNetEnvelope, PolynomialCutoff

CUTOFF = 4.0
# distances over [0, 3 cutoff], including 0, the cutoff itself and points just around it
R = torch.cat(
    [
        torch.tensor([0.0, 1e-6, CUTOFF * (1 - 1e-7), CUTOFF, CUTOFF * (1 + 1e-7)]),
        torch.linspace(0.0, 3 * CUTOFF, 241),
    ]
).double()


def _modules():
    return [
        CosineCutoff(CUTOFF),
        PolynomialCutoff(CUTOFF, p=6),
        PolynomialCutoff(CUTOFF, p=3),
    ]


def test_cosine_cutoff_values():
    out = CosineCutoff(CUTOFF)(R)
    ref = torch.where(R < CUTOFF, 0.5 * (torch.cos(math.pi * R / CUTOFF) + 1), 0.0)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-15)
    assert out[0] == 1.0 and out[R >= CUTOFF].eq(0).all()


def _pyg_envelope(exponent: int):
    # PyG is in the `bench` extra, not `dev`: skip these comparisons where it is absent
    dimenet = pytest.importorskip("torch_geometric.nn.models.dimenet")
    return dimenet.Envelope(exponent)


@pytest.mark.parametrize("p", [3, 5, 6])
def test_polynomial_cutoff_equals_dimenet_envelope_times_x(p):
    # PyG's Envelope (exponent = p - 1) is u(x) = f(x) / x: an independent implementation
    x = R[R > 0] / CUTOFF
    ref = _pyg_envelope(p - 1)(x) * x
    torch.testing.assert_close(
        PolynomialCutoff(CUTOFF, p=p)(x * CUTOFF), ref, rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(("num", "cutoff", "exponent"), [(6, 5, 5), (8, 4, 6)])
def test_polynomial_cutoff_against_pyg_reference_arrays(num, cutoff, exponent):
    # PyG's BesselBasisLayer output (tests/data/radial.npz) is u(x) sin(pi x) for n = 1, with
    # u(x) = f_p(x) / x, p = exponent + 1: recover f_p where sin(pi x) is well away from 0
    with np.load(Path(__file__).parent / "data" / "radial.npz") as f:
        r, bessel = f["r"], f[f"pyg_bessel_basis__num{num}_cutoff{cutoff}_exp{exponent}"][:, 0]
    x = r / cutoff
    keep = (x < 1) & (np.sin(np.pi * x) > 0.1)
    ref = bessel[keep] * x[keep] / np.sin(np.pi * x[keep])
    ours = PolynomialCutoff(float(cutoff), p=exponent + 1)(torch.tensor(r[keep])).numpy()
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)  # PyG computed in float32


def test_physnet_cutoff_is_p3():
    # PhysNet, JCTC 2019, Eq. (9): 1 - 6 x^5 + 15 x^4 - 10 x^3
    x = torch.linspace(0, 1, 101, dtype=torch.float64)[:-1]
    ref = 1 - 6 * x**5 + 15 * x**4 - 10 * x**3
    torch.testing.assert_close(PolynomialCutoff(1.0, p=3)(x), ref, rtol=0, atol=1e-14)


@pytest.mark.parametrize("module", _modules(), ids=repr)
def test_cutoff_smooth_at_cutoff(module):
    # value and first derivative vanish at the cutoff, from the inside
    r = torch.tensor([CUTOFF * (1 - 1e-6)], dtype=torch.float64, requires_grad=True)
    out = module(r)
    (g,) = torch.autograd.grad(out.sum(), r)
    assert abs(out.item()) < 1e-9 and abs(g.item()) < 1e-4


@pytest.mark.parametrize("module", _modules(), ids=repr)
def test_cutoff_gradcheck(module):
    r = torch.tensor(
        [0.0, 0.3, 1.0, 2.5, CUTOFF - 1e-3, CUTOFF + 1e-3, 7.0], dtype=torch.float64
    ).requires_grad_()
    assert torch.autograd.gradcheck(module, (r,))
    assert torch.autograd.gradgradcheck(module, (r,))


@pytest.mark.parametrize("module", _modules(), ids=repr)
def test_cutoff_finite_grads_everywhere(module, dtype):
    r = R.to(dtype).requires_grad_()
    out = module(r)
    (g,) = torch.autograd.grad(out.sum(), r, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), r)
    assert out.dtype == dtype
    assert torch.isfinite(out).all() and torch.isfinite(g).all() and torch.isfinite(gg).all()
    assert out[0] == 1.0 and (out[R >= CUTOFF] == 0).all()


@pytest.mark.parametrize("exponent", [5, 6])
def test_dimenet_envelope_matches_pyg(exponent):
    # PyG's Envelope has no buffers, so it runs in float64 too
    x = R[R > 0] / CUTOFF
    ours = DimeNetEnvelope(exponent)(x)
    torch.testing.assert_close(ours, _pyg_envelope(exponent)(x), rtol=1e-12, atol=1e-12)
    # float32: PyG's expanded form cancels near x = 1 (terms ~30 that sum to ~1e-3)
    x32 = x.float()
    torch.testing.assert_close(DimeNetEnvelope(exponent)(x32).double(), ours, rtol=1e-6, atol=1e-5)


def test_dimenet_envelope_not_zeroed_beyond_cutoff():
    x = torch.tensor([0.5, 1.0, 1.5, 2.5], dtype=torch.float64)
    dig_like = DimeNetEnvelope(5, zero_beyond_cutoff=False)(x)
    p = 6
    a, b, c = -(p + 1) * (p + 2) / 2, p * (p + 2), -p * (p + 1) / 2
    ref = 1 / x + a * x ** (p - 1) + b * x**p + c * x ** (p + 1)  # DIG's Envelope formula
    torch.testing.assert_close(dig_like, ref, rtol=1e-13, atol=1e-13)
    assert dig_like[1] == 0 and dig_like[2] != 0
    assert (DimeNetEnvelope(5)(x)[1:] == 0).all()


@pytest.mark.parametrize("zero", [True, False])
def test_dimenet_envelope_smooth_part(zero):
    env = DimeNetEnvelope(5, zero_beyond_cutoff=zero)
    # (not at x = 1 exactly: the third derivative jumps there, so finite differences disagree)
    x = torch.tensor([0.0, 1e-3, 0.4, 0.99, 1.01, 1.3], dtype=torch.float64, requires_grad=True)
    s = env.smooth_part(x)
    assert s[0] == 1.0 and env.smooth_part(torch.ones(1))[0] == 0.0
    torch.testing.assert_close(s[1:4], x[1:4] * env(x[1:4]))
    assert torch.autograd.gradcheck(env.smooth_part, (x,))
    assert torch.autograd.gradgradcheck(env.smooth_part, (x,))


def test_dimenet_envelope_pole_at_zero():
    assert DimeNetEnvelope()(torch.zeros(1)).isinf().all()


def test_repr_names_hyperparameters():
    assert repr(CosineCutoff(3.0)) == "CosineCutoff(cutoff=3.0)"
    assert repr(PolynomialCutoff(3.0, p=5)) == "PolynomialCutoff(cutoff=3.0, p=5)"
    assert "exponent=5, p=6, zero_beyond_cutoff=False" in repr(DimeNetEnvelope(5, False))


@pytest.mark.parametrize(
    ("factory", "error", "match"),
    [
        (lambda: CosineCutoff(0.0), ValueError, "cutoff"),
        (lambda: CosineCutoff(-1.0), ValueError, "cutoff"),
        (lambda: PolynomialCutoff(5.0, p=0), ValueError, "p must be >= 1"),
        (lambda: PolynomialCutoff(5.0, p=2.5), TypeError, "p must be an int"),
        (lambda: DimeNetEnvelope(-1), ValueError, "exponent must be >= 0"),
    ],
)
def test_bad_construction(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


@pytest.mark.parametrize("module", [*_modules(), DimeNetEnvelope()], ids=repr)
def test_bad_forward_input(module):
    with pytest.raises(TypeError, match="floating-point"):
        module(torch.arange(3))
    with pytest.raises(ValueError, match="NaN"):
        module(torch.tensor([1.0, float("nan")]))


@pytest.mark.parametrize("module", [*_modules(), DimeNetEnvelope()], ids=repr)
def test_device_and_shape(module, device):
    r = torch.rand(3, 4, device=device) * 2 * CUTOFF + 0.1
    if isinstance(module, DimeNetEnvelope):
        r = r / CUTOFF
    out = module.to(device)(r)
    assert out.shape == (3, 4) and out.device == r.device
