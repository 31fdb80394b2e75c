"""Tests of equibasis.special against mpmath tables and scipy.special."""

from pathlib import Path

import numpy as np
import pytest
import scipy.special as sp
import torch

from equibasis.special import legendre, spherical_jn, spherical_jn_zeros

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def reference():
    # mpmath values (50 digits), written by tests/data/generate_special_reference.py
    with np.load(DATA / "special_reference.npz") as f:
        return {k: f[k] for k in ("x", "jn", "jn_zeros")}


def _error_scale(l: int, x: np.ndarray, ref: np.ndarray, first_root: float) -> np.ndarray:
    """|j_l| where it rises monotonically (x < l), the 1/x envelope from the turning point on.

    Just below the first root (l <= x < z_l1) |j_l| -> 0, and no recurrence (nor scipy) is
    accurate relative to it there; the envelope is the meaningful scale (the peak of j_l lies
    between l and z_l1 and is of the size of 1/x).
    """
    beyond = x >= min(l, first_root)
    return np.where(beyond, np.maximum(np.abs(ref), 1.0 / np.maximum(x, 1.0)), np.abs(ref))


@pytest.mark.parametrize("l", range(31))
def test_spherical_jn_float64_matches_mpmath(reference, l):
    x, ref = reference["x"], reference["jn"][l]
    got = spherical_jn(l, torch.tensor(x, dtype=torch.float64)).numpy()
    scale = _error_scale(l, x, ref, reference["jn_zeros"][l, 0])
    err = np.abs(got - ref)
    assert np.all(err <= 1e-12 * scale), f"l={l}: max rel err {np.max(err / scale):.3g}"


@pytest.mark.parametrize("l", [0, 1, 2, 5, 12, 30])
def test_spherical_jn_float64_matches_scipy(l):
    x = np.concatenate([np.linspace(0.0, 2.0 * l + 5, 2001), np.linspace(50.0, 200.0, 301)])
    ref = sp.spherical_jn(l, x)
    got = spherical_jn(l, torch.tensor(x)).numpy()
    first_root = spherical_jn_zeros(l + 1, 1)[l, 0].item()
    # scipy itself is good to ~3e-14 here (PITFALLS), so a little looser than the mpmath test
    scale = _error_scale(l, x, ref, first_root)
    assert np.all(np.abs(got - ref) <= 1e-13 * scale)


@pytest.mark.parametrize("l", range(9))
def test_spherical_jn_float32_relative_to_peak(l):
    # the float32 arguments themselves are the reference's inputs (argument rounding excluded)
    x32 = torch.linspace(0.0, 40.0, 8001, dtype=torch.float32)
    ref = sp.spherical_jn(l, x32.double().numpy())
    got = spherical_jn(l, x32)
    assert got.dtype == torch.float32
    err = np.abs(got.double().numpy() - ref).max() / np.abs(ref).max()
    assert err < 1e-6, f"l={l}: error {err:.3g} of the peak"


def test_spherical_jn_small_x_no_cancellation():
    # closed forms lose every digit here; the series keeps full relative accuracy
    x = torch.tensor([1e-3, 0.01, 0.1], dtype=torch.float32)
    for l in range(9):
        ref = sp.spherical_jn(l, x.double().numpy())
        got = spherical_jn(l, x).double().numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=0)


@pytest.mark.parametrize("l", [45, 60])
def test_spherical_jn_high_order(l):
    x = np.linspace(1.0, 3.0 * l, 901)
    ref = sp.spherical_jn(l, x)
    got = spherical_jn(l, torch.tensor(x)).numpy()
    envelope = np.where(x > l + 2.0 * l ** (1 / 3), 1.0 / x, np.abs(ref))
    assert np.all(np.abs(got - ref) <= 1e-12 * envelope)


@pytest.mark.parametrize("l", [0, 1, 2, 3, 7])
def test_spherical_jn_parity(l):
    x = torch.linspace(0.0, 25.0, 501, dtype=torch.float64)
    torch.testing.assert_close(spherical_jn(l, -x), (-1) ** l * spherical_jn(l, x))


@pytest.mark.parametrize("l", [0, 1, 2, 4, 9, 20])
def test_spherical_jn_derivative_matches_scipy(l):
    x = torch.linspace(0.0, 45.0, 1801, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(spherical_jn(l, x).sum(), x)
    ref = sp.spherical_jn(l, x.detach().numpy(), derivative=True)
    np.testing.assert_allclose(grad.numpy(), ref, rtol=0, atol=1e-13)


@pytest.mark.parametrize("l", [0, 1, 2, 3, 6])
def test_spherical_jn_gradcheck(l):
    # x = 0 exactly, the series / Miller / upward boundaries (1 and l), negative x
    x = torch.tensor(
        [0.0, 1e-9, 0.5, 1.0 - 1e-9, 1.0, 1.7, float(l), l + 1e-9, 9.0, 40.0, -0.4, -3.0],
        dtype=torch.float64,
        requires_grad=True,
    )
    assert torch.autograd.gradcheck(lambda t: spherical_jn(l, t), (x,))
    assert torch.autograd.gradgradcheck(lambda t: spherical_jn(l, t), (x,))


@pytest.mark.parametrize("l", [0, 1, 2, 8, 30])
def test_spherical_jn_finite_second_derivative_at_zero(l, dtype):
    x = torch.zeros(3, dtype=dtype, requires_grad=True)
    (g,) = torch.autograd.grad(spherical_jn(l, x).sum(), x, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), x)
    # exact derivatives at 0: j_1'(0) = 1/3, j_0''(0) = -1/3, j_2''(0) = 2/15, others 0
    expected_g = 1 / 3 if l == 1 else 0.0
    expected_gg = {0: -1 / 3, 2: 2 / 15}.get(l, 0.0)
    torch.testing.assert_close(g, torch.full_like(g, expected_g))
    torch.testing.assert_close(gg, torch.full_like(gg, expected_gg))


def test_spherical_jn_shape_dtype_device(device, dtype):
    x = torch.rand(4, 3, 2, dtype=dtype, device=device) * 20
    out = spherical_jn(4, x)
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    assert spherical_jn(2, torch.empty(0, dtype=dtype, device=device)).shape == (0,)
    ref = sp.spherical_jn(4, x.double().cpu().numpy())
    np.testing.assert_allclose(out.double().cpu().numpy(), ref, atol=1e-6, rtol=0)


@pytest.mark.parametrize("l", [0, 1, 3])
def test_spherical_jn_nan_propagates(l):
    out = spherical_jn(l, torch.tensor([0.5, float("nan"), 3.0]))
    assert out.isnan().tolist() == [False, True, False]


def test_spherical_jn_dense_and_region_paths_agree():
    # CPU evaluates region by region; CUDA / compile evaluate densely with double where
    from equibasis.special import _spherical_jn_by_region, _spherical_jn_dense

    x = torch.linspace(-3.0, 60.0, 2001, dtype=torch.float64).reshape(3, 667)
    for l in (2, 5, 17):
        torch.testing.assert_close(
            _spherical_jn_by_region(l, x), _spherical_jn_dense(l, x), rtol=0, atol=1e-15
        )


def test_spherical_jn_half_precision_follows_input():
    x = torch.linspace(0.0, 10.0, 11, dtype=torch.bfloat16)
    out = spherical_jn(2, x)
    assert out.dtype == torch.bfloat16
    np.testing.assert_allclose(out.double().numpy(), sp.spherical_jn(2, x.double()), atol=1e-2)


def test_spherical_jn_bad_input():
    x = torch.ones(3)
    with pytest.raises(ValueError, match="l must be >= 0"):
        spherical_jn(-1, x)
    with pytest.raises(TypeError, match="l must be an int"):
        spherical_jn(1.0, x)
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        spherical_jn(1, torch.arange(3))
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor"):
        spherical_jn(1, [1.0, 2.0])


def test_spherical_jn_zeros_match_mpmath(reference):
    ref = reference["jn_zeros"]
    got = spherical_jn_zeros(*ref.shape)
    assert got.dtype == torch.float64 and got.shape == ref.shape
    np.testing.assert_allclose(got.numpy(), ref, rtol=0, atol=1e-12)


def test_spherical_jn_zeros_are_roots_and_interlace():
    z = spherical_jn_zeros(8, 100).numpy()  # no num_radial <= 64 limit
    np.testing.assert_allclose(z[0], np.pi * np.arange(1, 101), rtol=0, atol=1e-12)
    for l in range(8):
        np.testing.assert_array_less(np.abs(sp.spherical_jn(l, z[l])), 1e-13)
        assert np.all(np.diff(z[l]) > 2.0)  # distinct consecutive roots
    assert np.all(z[:-1] < z[1:]) and np.all(z[1:, :-1] < z[:-1, 1:])


def test_spherical_jn_zeros_cache_returns_fresh_tensor():
    a = spherical_jn_zeros(3, 4)
    a.zero_()
    b = spherical_jn_zeros(3, 4)
    assert b[0, 0].item() == pytest.approx(np.pi, abs=1e-15)
    assert spherical_jn_zeros(3, 2).shape == (3, 2)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0, 3), ValueError, "num_spherical must be >= 1"),
        ((3, 0), ValueError, "num_radial must be >= 1"),
        ((2.0, 3), TypeError, "num_spherical must be an int"),
    ],
)
def test_spherical_jn_zeros_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        spherical_jn_zeros(*args)


def test_legendre_matches_scipy(dtype):
    x = torch.linspace(-1.0, 1.0, 201, dtype=dtype)
    out = legendre(12, x)
    assert out.shape == (201, 13) and out.dtype == dtype
    ref = np.stack([sp.eval_legendre(l, x.double().numpy()) for l in range(13)], axis=-1)
    atol = 1e-13 if dtype == torch.float64 else 2e-6
    np.testing.assert_allclose(out.double().numpy(), ref, rtol=0, atol=atol)


def test_legendre_lmax0_and_gradients():
    x = torch.tensor([[-1.0, 0.3], [0.0, 1.0]], dtype=torch.float64, requires_grad=True)
    assert legendre(0, x).shape == (2, 2, 1)
    assert torch.autograd.gradcheck(lambda t: legendre(5, t), (x,))
    assert torch.autograd.gradgradcheck(lambda t: legendre(5, t), (x,))


def test_legendre_bad_input():
    with pytest.raises(ValueError, match="lmax must be >= 0"):
        legendre(-1, torch.zeros(2))
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        legendre(2, torch.zeros(2, dtype=torch.int64))


@pytest.mark.parametrize("l", [0, 1, 2, 5])
def test_spherical_jn_at_infinity_is_the_limit(dtype, l):
    # z r / c overflows to inf for a huge finite r; sin(inf) / inf would be NaN
    x = torch.tensor([3.0, float("inf"), -float("inf"), float("nan")], dtype=dtype)
    x.requires_grad_()
    out = spherical_jn(l, x)
    expected = torch.tensor([sp.spherical_jn(l, 3.0), 0.0, 0.0], dtype=dtype)
    torch.testing.assert_close(out[:3], expected)
    assert torch.isnan(out[3])  # NaN still propagates
    (grad,) = torch.autograd.grad(out[:3].sum(), x)
    assert grad[1] == 0 and grad[2] == 0 and torch.isfinite(grad[:3]).all()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((65, 1), r"num_spherical must be <= 64, received 65: the root search costs"),
        ((1, 4097), r"num_radial must be <= 4096, received 4097"),
    ],
)
def test_spherical_jn_zeros_size_limits(args, match):
    with pytest.raises(ValueError, match=match):
        spherical_jn_zeros(*args)
    assert spherical_jn_zeros(64, 2).shape == (64, 2)  # the limit itself is allowed
