"""Tests of equibasis.radial against PyG / DIG reference arrays, scipy, mpmath; properties."""

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats
import torch

from equibasis.radial import (
    BernsteinRBF,
    BesselRBF,
    ExpNormalRBF,
    GaussianRBF,
    SphericalBesselRBF,
)

DATA = Path(__file__).parent / "data"
# PyG and DIG keep their buffers in float32 (PITFALLS): ~1e-6 relative agreement at best
PEER_RTOL = 5e-6


@pytest.fixture(scope="module")
def peers():
    # written by PyG 2.8.1 / DIG 1.1.0 themselves (float64 arrays of their outputs)
    with np.load(DATA / "radial.npz") as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def mp_zeros():
    # roots of j_l from mpmath (tests/data/generate_special_reference.py)
    with np.load(DATA / "special_reference.npz") as f:
        return f["jn_zeros"]


def _all_bases(cutoff: float = 4.0):
    return [
        GaussianRBF(num_basis=7, cutoff=cutoff),
        BesselRBF(num_basis=5, cutoff=cutoff),
        BesselRBF(num_basis=5, cutoff=cutoff, trainable=True),
        BesselRBF(num_basis=5, cutoff=cutoff, zero_beyond_cutoff=False),
        SphericalBesselRBF(num_spherical=4, num_radial=3, cutoff=cutoff),
        ExpNormalRBF(num_basis=6, cutoff=cutoff),
        BernsteinRBF(num_basis=6, cutoff=cutoff),
    ]


def _assert_peer_close(ours: np.ndarray, ref: np.ndarray, rtol: float = PEER_RTOL) -> None:
    scale = np.abs(ref).max()
    np.testing.assert_allclose(ours, ref, rtol=0, atol=rtol * scale)


# ---------------------------------------------------------------------------------------------
# reference values from the peers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cutoff", "num"), [(5, 50), (10, 25)])
def test_gaussian_matches_pyg(peers, dtype, cutoff, num):
    r = torch.tensor(peers["r"], dtype=dtype)
    ours = GaussianRBF(num_basis=num, cutoff=float(cutoff))(r)
    assert ours.shape == (r.numel(), num) and ours.dtype == dtype
    _assert_peer_close(
        ours.double().numpy(), peers[f"pyg_gaussian_smearing__start0_stop{cutoff}_num{num}"]
    )


@pytest.mark.parametrize(("num", "cutoff", "exponent"), [(6, 5, 5), (8, 4, 6)])
@pytest.mark.parametrize("trainable", [False, True])
def test_bessel_matches_pyg_and_dig(peers, dtype, num, cutoff, exponent, trainable):
    r = torch.tensor(peers["r"], dtype=dtype)  # goes past the cutoff on purpose
    suffix = f"__num{num}_cutoff{cutoff}_exp{exponent}"
    pyg = BesselRBF(num, float(cutoff), exponent, trainable=trainable)
    dig = BesselRBF(num, float(cutoff), exponent, trainable=trainable, zero_beyond_cutoff=False)
    with torch.no_grad():
        _assert_peer_close(pyg(r).double().numpy(), peers[f"pyg_bessel_basis{suffix}"])
        beyond = r >= cutoff
        dig_ref = peers[f"dig_dist_emb{suffix}"]
        # DIG's values grow like x^(p+1) past the cutoff; compare inside and beyond separately
        _assert_peer_close(dig(r)[~beyond].double().numpy(), dig_ref[~beyond.numpy()])
        # there, sin of a float32 argument up to ~20 times a polynomial ~1e4: float32 rounding
        far_rtol = PEER_RTOL if dtype == torch.float64 else 3e-5
        _assert_peer_close(dig(r)[beyond].double().numpy(), dig_ref[beyond.numpy()], far_rtol)
        assert (pyg(r)[beyond] == 0).all() and (dig(r)[beyond] != 0).any()


def test_bessel_limit_at_zero(dtype):
    for module in (BesselRBF(6, 5.0), BesselRBF(6, 5.0, trainable=True)):
        out = module(torch.zeros(2, dtype=dtype))
        expected = math.pi * torch.arange(1, 7, dtype=dtype)
        torch.testing.assert_close(out, expected.expand(2, 6))


def test_bessel_paper_form_in_float64():
    # the code's basis = sqrt(c/2) * (paper's sqrt(2/c) sin(n pi r/c)/r) * c * x u(x); use scipy's
    # j_0 (sin(t)/t) as an independent evaluation of sin(n pi x) / x = n pi j_0(n pi x)
    cutoff, r = 5.0, torch.linspace(0.0, 4.99, 300, dtype=torch.float64)
    x = (r / cutoff).numpy()
    n = np.arange(1, 7)
    p = 6
    poly = (
        1
        - (p + 1) * (p + 2) / 2 * x**p
        + p * (p + 2) * x ** (p + 1)
        - p * (p + 1) / 2 * x ** (p + 2)
    )
    ref = n * np.pi * sp.spherical_jn(0, n * np.pi * x[:, None]) * poly[:, None]
    np.testing.assert_allclose(BesselRBF(6, cutoff)(r).numpy(), ref, rtol=1e-12, atol=1e-12)


def test_bessel_small_r_gradient_float32_no_cancellation():
    # float32 derivative at tiny r agrees with float64: no 1/x^2 cancellation in the chain rule
    r64 = torch.tensor([1e-4, 1e-3, 1e-2, 0.1], dtype=torch.float64, requires_grad=True)
    r32 = r64.detach().float().requires_grad_()
    for trainable in (False,):
        rbf = BesselRBF(6, 5.0, trainable=trainable)
        (g64,) = torch.autograd.grad(rbf(r64).sum(), r64)
        (g32,) = torch.autograd.grad(rbf(r32).sum(), r32)
        np.testing.assert_allclose(g32.double().numpy(), g64.numpy(), rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# Gaussian details
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype_", [torch.float32, torch.float64])
def test_gaussian_underflow_flush_only_below_normal_floats(dtype_):
    rbf = GaussianRBF(num_basis=50, cutoff=5.0)
    r = torch.linspace(0.0, 15.0 if dtype_ == torch.float32 else 50.0, 3001, dtype=dtype_)
    out = rbf(r)
    # the plain evaluation in the same dtype (exp of every entry, subnormals included)
    a = math.sqrt(0.5) / rbf.width
    plain = torch.exp(-((r[:, None] * a - (rbf.offset * a).to(dtype_)) ** 2))
    tiny = torch.finfo(dtype_).tiny
    normal = plain >= 2 * tiny
    torch.testing.assert_close(out[normal], plain[normal], rtol=4 * torch.finfo(dtype_).eps, atol=0)
    assert (out[~normal] <= 2 * tiny).all() and (out[~normal] >= 0).all()
    assert ((out == 0) | (out >= tiny)).all()  # no subnormal outputs
    assert (~normal).sum() > 1000  # the test does reach the underflow range


def test_gaussian_width_and_presets():
    rbf = GaussianRBF(num_basis=11, cutoff=2.0, start=1.0)
    assert rbf.width == pytest.approx(0.1)
    torch.testing.assert_close(rbf.offset, torch.linspace(1.0, 2.0, 11, dtype=torch.float64))
    one = GaussianRBF(num_basis=1, cutoff=2.0)
    assert one.width == 2.0 and one(torch.tensor([0.0])).shape == (1, 1)

    schnet = GaussianRBF.preset("schnet")
    assert schnet.num_basis == 300 and schnet.offset[1].item() == pytest.approx(0.1)
    # gamma = 10 / A^2: exp(-gamma d^2) at d = 0.1 A from a centre
    r = schnet.offset[5:6].float() + 0.1
    assert schnet(r)[0, 5].item() == pytest.approx(math.exp(-10 * 0.1**2), rel=1e-5)
    dig = GaussianRBF.preset("dig")
    assert (dig.num_basis, dig.cutoff, dig.width) == (50, 10.0, pytest.approx(10 / 49))
    spk = GaussianRBF.preset("schnetpack")
    assert (spk.num_basis, spk.cutoff, spk.width) == (20, 5.0, pytest.approx(5 / 19))
    with pytest.raises(ValueError, match="name must be one of"):
        GaussianRBF.preset("physnet")


# ---------------------------------------------------------------------------------------------
# spherical Bessel
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("normalization", ["orthonormal", "dimenet"])
def test_spherical_bessel_values_match_scipy(mp_zeros, normalization):
    num_spherical, num_radial, cutoff = 7, 6, 5.0
    sbf = SphericalBesselRBF(num_spherical, num_radial, cutoff, normalization=normalization)
    r = np.linspace(0.0, cutoff, 401)
    out = sbf(torch.tensor(r)).numpy()
    assert out.shape == (401, num_spherical, num_radial)
    z = mp_zeros[:num_spherical, :num_radial]
    for l in range(num_spherical):
        n_ln = np.sqrt(2.0 / sp.spherical_jn(l + 1, z[l]) ** 2)
        if normalization == "orthonormal":
            n_ln = n_ln / cutoff**1.5
        ref = n_ln * sp.spherical_jn(l, z[l] * r[:, None] / cutoff)
        np.testing.assert_allclose(out[:, l], ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    assert np.abs(out[-1]).max() < 1e-12 * np.abs(out).max()  # zero at the cutoff


def test_spherical_bessel_orthonormal_by_quadrature():
    # Gauss-Legendre on [0, c] with weight r^2: exact for these smooth functions at 200 nodes
    cutoff = 3.0
    sbf = SphericalBesselRBF(5, 8, cutoff)
    nodes, weights = np.polynomial.legendre.leggauss(200)
    r = 0.5 * cutoff * (nodes + 1)
    w = 0.5 * cutoff * weights * r**2
    out = sbf(torch.tensor(r)).numpy()  # (Q, L, N)
    gram = np.einsum("q,qln,qlm->lnm", w, out, out)
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(8), gram.shape), atol=1e-12)


def test_spherical_bessel_float32_small_r():
    # the polar bases need j_l(z r / c) at small r in float32: relative to each function's peak
    sbf = SphericalBesselRBF(7, 6, 5.0)
    r = torch.linspace(0.0, 5.0, 2001, dtype=torch.float64)
    ref = sbf(r)
    out = sbf(r.float()).double()
    err = (out - ref).abs().amax(0) / ref.abs().amax(0)
    assert err.max() < 2e-6, err.max()


# ---------------------------------------------------------------------------------------------
# PhysNet and SpookyNet bases
# ---------------------------------------------------------------------------------------------


def test_expnormal_is_gaussian_in_exp_minus_alpha_r():
    num, cutoff, alpha = 8, 6.0, 0.7
    rbf = ExpNormalRBF(num, cutoff, alpha)
    r = torch.linspace(0.05, 5.0, 200, dtype=torch.float64)
    phi = 1 - 10 * (r / cutoff) ** 3 + 15 * (r / cutoff) ** 4 - 6 * (r / cutoff) ** 5
    log_g = torch.log(rbf(r) / phi[:, None]).numpy()
    u = torch.exp(-alpha * r).numpy()
    low = math.exp(-alpha * cutoff)
    beta = (2 / num * (1 - low)) ** -2
    for k, mu in enumerate(np.linspace(low, 1.0, num)):
        # log g_k is the parabola -beta (u - mu_k)^2 in u: fit it, compare coefficients
        c2, c1, _ = np.polyfit(u, log_g[:, k], 2)
        assert c2 == pytest.approx(-beta, rel=1e-8)
        assert -c1 / (2 * c2) == pytest.approx(mu, rel=1e-8, abs=1e-10)


def test_bernstein_is_binomial_pmf_times_spookynet_cutoff():
    num, cutoff, alpha = 9, 5.0, 0.5
    rbf = BernsteinRBF(num, cutoff, alpha)
    r = np.linspace(0.0, 6.0, 301)
    out = rbf(torch.tensor(r)).numpy()
    cut = np.where(r < cutoff, np.exp(-(r**2) / np.maximum(cutoff**2 - r**2, 1e-300)), 0.0)
    pmf = scipy.stats.binom.pmf(np.arange(num), num - 1, 1 - np.exp(-alpha * r)[:, None])
    np.testing.assert_allclose(out, pmf * cut[:, None], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out.sum(-1), cut, rtol=1e-12, atol=1e-15)  # partition of unity
    assert out[0, 0] == 1.0 and (out[0, 1:] == 0).all()


# ---------------------------------------------------------------------------------------------
# interface, gradients, limits, errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("basis", _all_bases(), ids=repr)
def test_interface_shape_dtype_device(basis, dtype, device):
    basis = basis.to(device)
    r = torch.rand(2, 3, dtype=dtype, device=device) * 6
    out = basis(r)
    if isinstance(basis, SphericalBesselRBF):
        assert out.shape == (2, 3, basis.num_spherical, basis.num_radial)
        assert basis.num_basis == basis.num_spherical * basis.num_radial
    else:
        assert out.shape == (2, 3, basis.num_basis)
    assert out.dtype == dtype and out.device == r.device
    assert basis.cutoff == 4.0
    assert basis(torch.empty(0, dtype=dtype, device=device)).shape[0] == 0
    assert type(basis).__name__ in repr(basis) and "cutoff=4.0" in repr(basis)


@pytest.mark.parametrize("basis", _all_bases(), ids=repr)
def test_gradcheck(basis):
    # small, interior, around the cutoff (4.0), beyond; r = 0 is checked one-sided below
    # (central differences would step to r < 0, which the bases reject)
    r = torch.tensor(
        [1e-4, 0.3, 1.7, 3.2, 3.999, 4.001, 5.5, 11.0], dtype=torch.float64
    ).requires_grad_()
    basis = basis.double() if not isinstance(basis, BesselRBF) else basis
    assert torch.autograd.gradcheck(basis, (r,))
    assert torch.autograd.gradgradcheck(basis, (r,))


@pytest.mark.parametrize("basis", _all_bases(), ids=repr)
def test_derivatives_at_zero_are_the_one_sided_limits(basis):
    # first and second derivatives at r = 0 exactly equal their limits from r > 0 (a Taylor
    # fit of the values at h, 2h: f'(0) ~ (4 f(h) - f(2h) - 3 f(0)) / 2h)
    basis = basis.double()

    def derivatives(r0: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r = torch.tensor([r0], dtype=torch.float64, requires_grad=True)
        out = basis(r).reshape(-1)
        d1 = torch.stack([torch.autograd.grad(o, r, create_graph=True)[0][0] for o in out])
        d2 = torch.stack([torch.autograd.grad(g, r, retain_graph=True)[0][0] for g in d1])
        return out.detach(), d1.detach(), d2

    f0, d1, d2 = derivatives(0.0)
    h = 1e-4
    fh, d1h, _ = derivatives(h)
    f2h, _, _ = derivatives(2 * h)
    scale = f0.abs().max() + d1.abs().max() + d2.abs().max()
    torch.testing.assert_close(d1, (4 * fh - f2h - 3 * f0) / (2 * h), rtol=0, atol=1e-6 * scale)
    torch.testing.assert_close(d2, (d1h - d1) / h, rtol=0, atol=1e-3 * scale)


@pytest.mark.parametrize("basis", _all_bases(), ids=repr)
def test_finite_values_and_grads_on_0_to_3_cutoff(basis, dtype):
    r = torch.cat([torch.linspace(0.0, 12.0, 601), torch.tensor([4.0, 4.0 - 1e-6, 1e-7])])
    r = r.to(dtype).requires_grad_()
    out = basis(r)
    (g,) = torch.autograd.grad(out.sum(), r, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), r)
    for t in (out, g, gg):
        assert torch.isfinite(t).all()


@pytest.mark.parametrize("basis", _all_bases(), ids=repr)
def test_float32_gradients_match_float64(basis):
    # forces in float32: no cancellation in the hand-written or autograd derivatives
    r64 = torch.linspace(0.0, 6.0, 1201, dtype=torch.float64, requires_grad=True)
    r32 = r64.detach().float().requires_grad_()
    (g64,) = torch.autograd.grad(basis(r64).sum(), r64)
    (g32,) = torch.autograd.grad(basis(r32).sum(), r32)
    err = (g32.double() - g64).abs().max() / g64.abs().max()
    assert err < 2e-5, err


def test_trainable_bessel_has_parameter():
    rbf = BesselRBF(4, 5.0, trainable=True)
    assert [n for n, _ in rbf.named_parameters()] == ["freq"]
    rbf(torch.rand(5)).sum().backward()
    assert rbf.freq.grad is not None and torch.isfinite(rbf.freq.grad).all()
    assert list(BesselRBF(4, 5.0).parameters()) == []


@pytest.mark.parametrize(
    ("factory", "error", "match"),
    [
        (lambda: GaussianRBF(num_basis=0), ValueError, "num_basis must be >= 1"),
        (lambda: GaussianRBF(cutoff=0.0), ValueError, "cutoff"),
        (lambda: GaussianRBF(cutoff=2.0, start=3.0), ValueError, "start must be < cutoff"),
        (lambda: GaussianRBF(width=-1.0), ValueError, "width"),
        (lambda: BesselRBF(num_basis=0), ValueError, "num_basis must be >= 1"),
        (lambda: BesselRBF(cutoff=-5.0), ValueError, "cutoff"),
        (lambda: BesselRBF(envelope_exponent=-1), ValueError, "exponent"),
        (lambda: SphericalBesselRBF(0, 3), ValueError, "num_spherical must be >= 1"),
        (lambda: SphericalBesselRBF(3, 0), ValueError, "num_radial must be >= 1"),
        (lambda: SphericalBesselRBF(3, 3, cutoff=0.0), ValueError, "cutoff"),
        (lambda: SphericalBesselRBF(3, 3, normalization="paper"), ValueError, "normalization"),
        (lambda: ExpNormalRBF(num_basis=0), ValueError, "num_basis must be >= 1"),
        (lambda: ExpNormalRBF(alpha=0.0), ValueError, "alpha"),
        (lambda: BernsteinRBF(num_basis=0), ValueError, "num_basis must be >= 1"),
        (lambda: BernsteinRBF(cutoff=float("nan")), ValueError, "cutoff"),
        (lambda: GaussianRBF(num_basis=2.0), TypeError, "num_basis must be an int"),
    ],
)
def test_bad_construction(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


@pytest.mark.parametrize("basis", _all_bases(), ids=repr)
def test_bad_forward_input(basis):
    with pytest.raises(TypeError, match="floating-point"):
        basis(torch.arange(3))
    # a NaN would otherwise be masked to a plausible value by the cutoff / fast paths
    with pytest.raises(ValueError, match="NaN"):
        basis(torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="NaN"):
        basis(torch.tensor([1.0, float("inf")]))


def test_torch_compile_smoke():
    rbf = BesselRBF(4, 5.0)
    compiled = torch.compile(rbf, backend="aot_eager", fullgraph=True)
    r = torch.linspace(0.0, 6.0, 17, requires_grad=True)
    out = compiled(r)
    torch.testing.assert_close(out, rbf(r))
    (g,) = torch.autograd.grad(out.sum(), r)
    assert torch.isfinite(g).all()


# ---------------------------------------------------------------------------------------------
# hardening (issue 16): many functions, negative and huge distances, construction guards
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("num", "dtype"),
    [(200, torch.float32), (1200, torch.float64), (10_000, torch.float64)],
)
def test_bernstein_many_functions_is_the_binomial_pmf(num, dtype):
    # float32 overflowed from ~140 functions (binomial weight inf times a power 0 = NaN),
    # float64 from ~1,100; 10^4 functions took 14 s to build
    cutoff, alpha = 5.0, 0.5
    r = np.array([0.0, 0.01, 0.5, 2.0, 4.5])
    out = BernsteinRBF(num, cutoff, alpha)(torch.tensor(r, dtype=dtype))
    assert torch.isfinite(out).all()
    cut = np.exp(-(r**2) / (cutoff**2 - r**2))
    pmf = scipy.stats.binom.pmf(np.arange(num), num - 1, 1 - np.exp(-alpha * r)[:, None])
    atol = 1e-6 if dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(out.double().numpy(), pmf * cut[:, None], rtol=1e-3, atol=atol)
    np.testing.assert_allclose(out.double().sum(-1).numpy(), cut, rtol=10 * atol)


@pytest.mark.parametrize("basis", _all_bases(), ids=repr)
def test_negative_distances_are_rejected(basis, dtype):
    # Bernstein returned up to 5.7e4 at r = -1; the polar bases already rejected r < 0
    with pytest.raises(ValueError, match=r"r must be >= 0 \(distances\), received min -1"):
        basis(torch.tensor([0.5, -1.0, 2.0], dtype=dtype))


@pytest.mark.parametrize("basis", _all_bases(), ids=repr)
def test_huge_finite_distances_give_the_limit(basis, dtype):
    # f r / c overflows to inf (sin(inf) = NaN): BesselRBF()(3e38) gave NaN
    huge = torch.finfo(dtype).max / 2
    r = torch.tensor([1.0, huge], dtype=dtype, requires_grad=True)
    if isinstance(basis, BesselRBF) and not basis.envelope.zero_beyond_cutoff:
        # DIG's envelope polynomial has no representable value there: refused, bound named
        with pytest.raises(ValueError, match=r"r / cutoff must be < .* overflows"):
            basis(r)
        return
    out = basis(r)
    assert torch.isfinite(out).all()
    far = out[1]
    if isinstance(basis, SphericalBesselRBF):
        assert far.abs().max() <= basis.norm.max() / 1e10  # |j_l(x)| <= 1 / x
    else:
        assert (far == 0).all()  # beyond the cutoff, or a Gaussian tail that underflows
    (grad,) = torch.autograd.grad(out.sum(), r)
    assert torch.isfinite(grad).all()


def test_bessel_without_zero_beyond_cutoff_is_right_up_to_its_bound():
    rbf = BesselRBF(num_basis=3, cutoff=5.0, zero_beyond_cutoff=False)
    r = torch.tensor([101.3, 12345.6], dtype=torch.float64)  # r / c below the float32 bound
    ref = rbf(r)
    scale = ref.abs().amax(-1, keepdim=True)  # float32 rounds sin(f x) at x ~ 2e3 to ~1e-3
    torch.testing.assert_close(rbf(r.float()).double() / scale, ref / scale, rtol=0, atol=1e-2)
    with pytest.raises(ValueError, match=r"must be < 3\.1\d+e\+04 in torch\.float32"):
        rbf(torch.tensor([5.0 * 4e4]))
    assert torch.isfinite(rbf(torch.tensor([5.0 * 4e4], dtype=torch.float64))).all()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((400, 2), r"num_spherical must be <= 64, received 400: the root search costs"),
        ((10_000, 1), r"num_spherical must be <= 64"),
        ((2, 100_000), r"num_radial must be <= 4096"),
    ],
)
def test_spherical_bessel_construction_is_bounded(args, match):
    # (400, 2) took 24 s and (10^4, 1) did not finish
    with pytest.raises(ValueError, match=match):
        SphericalBesselRBF(*args)


def test_registry_builds_every_family_by_name():
    from equibasis.radial import RADIAL_FAMILIES, radial_basis
    from equibasis.radial._base import RadialBasis

    assert list(RADIAL_FAMILIES) == ["gaussian", "bessel", "spherical-bessel", "expnormal",
                                     "bernstein"]  # fmt: skip
    r = torch.linspace(0.0, 4.0, 7, dtype=torch.float64)
    for family, cls in RADIAL_FAMILIES.items():
        assert issubclass(cls, RadialBasis) and cls.family == family
        basis = radial_basis(family, 6, cutoff=4.0)
        assert type(basis) is cls and basis.num_basis == 6 and basis.cutoff == 4.0
        assert basis(r).reshape(7, -1).shape == (7, 6)
        assert radial_basis(family).num_basis == cls.default_num_basis
    odd = radial_basis("spherical-bessel", 5)
    assert (odd.num_spherical, odd.num_radial) == (1, 5)
    with pytest.raises(ValueError, match="unknown radial family 'fourier'"):
        radial_basis("fourier")
