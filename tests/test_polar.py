"""Tests of equibasis.polar against DIG / PyG oracle arrays, scipy, quadrature and properties."""

import io
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.special import spherical_jn as scipy_jn

from equibasis import _runtime
from equibasis.geometry import comenet_angles, spherenet_angle, spherenet_torsion, triplets
from equibasis.polar import (
    AngleBasis,
    ComENetAngleBasis,
    ComENetTorsionBasis,
    TorsionBasis,
)

DATA = np.load(Path(__file__).parent / "data" / "polar.npz")
ORACLE_KEYS = [k for k in DATA.files if k not in ("dist", "angle", "phi")]


def _parse(key: str) -> tuple[str, int, int, float]:
    name, params = key.split("__")
    values = {}
    for token in params.split("_"):
        if token.startswith("cutoff"):
            values["c"] = float(token[6:])
        elif token[0] in "SR":
            values[token[0]] = int(token[1:])
    return name, values["S"], values["R"], values["c"]


def _build(key: str):
    name, s, r, c = _parse(key)
    if name == "pyg_spherical_basis":
        return AngleBasis(s, r, c, variant="pyg"), "angle"
    if name == "dig_angle_emb":
        return AngleBasis(s, r, c, variant="dig"), "angle"
    if name == "dig_torsion_emb":
        return TorsionBasis(s, r, c, variant="dig"), "torsion"
    if name == "comenet_angle_emb":
        return ComENetAngleBasis(num_spherical=s, num_radial=r, cutoff=c), "angle"
    if name == "comenet_torsion_emb":
        return ComENetTorsionBasis(num_spherical=s, num_radial=r, cutoff=c), "torsion"
    raise AssertionError(key)


@pytest.fixture(params=["eager", "graph"])
def path(request, monkeypatch):
    """Run a test on the eager path and on the graph path (traced / compiled / exported)."""
    if request.param == "graph":
        monkeypatch.setattr(_runtime, "_FORCE_GRAPH", True)
    return request.param


def _relative_error(ours: torch.Tensor, peer: np.ndarray) -> float:
    """Max |ours - peer| over each column's peak |peer| (DIG/PyG roots are float32)."""
    diff = np.abs(ours.detach().double().numpy() - peer).max(axis=0)
    return float((diff / np.abs(peer).max(axis=0)).max())


# ------------------------------------------------------------------------------------------
# oracles: DIG SphereNet, PyG DimeNet, DIG ComENet
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ORACLE_KEYS)
def test_matches_peer_oracle(key, dtype, path):
    module, kind = _build(key)
    dist = torch.tensor(DATA["dist"], dtype=dtype)
    angle = torch.tensor(DATA["angle"], dtype=dtype)
    phi = torch.tensor(DATA["phi"], dtype=dtype)
    out = module(dist, angle) if kind == "angle" else module(dist, angle, phi)
    assert out.dtype == dtype
    assert out.shape == DATA[key].shape
    # 1e-6: the peers' float32 roots; float32 input adds its own rounding (< 1e-6 of the peak)
    assert _relative_error(out, DATA[key]) <= (1e-6 if dtype == torch.float64 else 2e-6)


def test_oracle_comparison_detects_swapped_columns():
    """Negative control: DIG's quirky torsion pairing differs from the consistent one."""
    key = "dig_torsion_emb__S3_R6_cutoff5"
    dist, angle, phi = (torch.tensor(DATA[k]) for k in ("dist", "angle", "phi"))
    consistent = TorsionBasis(3, 6, 5.0, variant="consistent")(dist, angle, phi)
    assert _relative_error(consistent * 5.0**1.5, DATA[key]) > 0.1
    # and dropping the Condon-Shortley phase breaks the DIG match
    module = TorsionBasis(3, 6, 5.0, variant="dig")
    module.columns = [(index, abs(sign)) for index, sign in module.columns]
    assert _relative_error(module(dist, angle, phi), DATA[key]) > 0.1


@pytest.mark.parametrize("variant", ["pyg", "dig", "paper"])
def test_idx_kj_gathers_the_radial_part(variant, path):
    generator = torch.Generator().manual_seed(0)
    dist = 0.3 + 5 * torch.rand(20, generator=generator, dtype=torch.float64)
    idx_kj = torch.randint(0, 20, (50,), generator=generator)
    angle = math.pi * torch.rand(50, generator=generator, dtype=torch.float64)
    basis = AngleBasis(7, 6, 5.0, variant=variant)
    torch.testing.assert_close(basis(dist, angle, idx_kj), basis(dist[idx_kj], angle))
    torsion = TorsionBasis(3, 4, 5.0, variant="dig" if variant == "dig" else "consistent")
    phi = 2 * math.pi * torch.rand(50, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(torsion(dist, angle, phi, idx_kj), torsion(dist[idx_kj], angle, phi))


def test_paper_variant_formula(path):
    """paper = sqrt(2/(c^3 j_{l+1}^2)) j_l(z d/c) Y_l^0 u(d/c), from scipy (independent)."""
    s, r, c = 4, 5, 4.0
    basis = AngleBasis(s, r, c, variant="paper")
    zeros = basis.radial.zeros.numpy()
    d = np.linspace(0.0, 4.5, 91)
    angle = np.linspace(0.0, math.pi, 91)
    x = d / c
    p = 6
    u = (
        1
        - (p + 1) * (p + 2) / 2 * x**p
        + p * (p + 2) * x ** (p + 1)
        - p * (p + 1) / 2 * x ** (p + 2)
    )
    u = np.where(x < 1, u, 0.0)
    expected = np.empty((d.size, s, r))
    for l in range(s):
        norm = np.sqrt(2.0 / (c**3 * scipy_jn(l + 1, zeros[l]) ** 2))
        legendre = np.polynomial.legendre.Legendre.basis(l)(np.cos(angle))
        y = np.sqrt((2 * l + 1) / (4 * np.pi)) * legendre
        expected[:, l] = norm * scipy_jn(l, zeros[l] * x[:, None]) * (y * u)[:, None]
    ours = basis(torch.tensor(d), torch.tensor(angle)).numpy()
    np.testing.assert_allclose(ours, expected.reshape(d.size, -1), atol=1e-12)
    # finite and exact at d = 0: only l = 0 survives, N_0n / sqrt(4 pi)
    at_zero = basis(torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64))
    assert bool(torch.isfinite(at_zero).all())


def test_pyg_limits_at_zero_and_cutoff(path):
    basis = AngleBasis(3, 4, 5.0, variant="pyg")
    out = basis(
        torch.tensor([0.0, 5.0, 7.0], dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    )
    assert bool(torch.isinf(out[0, :4]).all())  # l = 0 diverges like 1/x
    assert bool(torch.isfinite(out[0, 4:]).all())
    assert out[1:].abs().max().item() == 0.0  # zero at and beyond the cutoff (PyG's mask)
    # l = 1 limit: N z / 3 * u(0) * Y_1^0(0)
    z = basis.radial.zeros[1].numpy()
    norm = np.sqrt(2.0) / np.abs(scipy_jn(2, z))
    expected = norm * z / 3 * np.sqrt(3 / (4 * np.pi))
    np.testing.assert_allclose(out[0, 4:8].numpy(), expected, rtol=1e-10)


@pytest.mark.parametrize(
    ("variant", "normalization"), [("dig", "dimenet"), ("paper", "orthonormal")]
)
def test_radial_part_agrees_with_spherical_bessel_rbf(variant, normalization):
    """Our Chebyshev radial part equals equibasis.radial.SphericalBesselRBF (direct j_l)."""
    from equibasis.radial import SphericalBesselRBF

    s, r, c = 5, 4, 4.0
    d = torch.linspace(0.0, c, 57, dtype=torch.float64)
    ours = AngleBasis(s, r, c, variant=variant).radial(d / c).view(-1, s, r)
    expected = SphericalBesselRBF(s, r, c, normalization=normalization)(d)
    if variant == "paper":
        x = d / c
        expected = expected * (1 - 28 * x**6 + 48 * x**7 - 21 * x**8)[:, None, None]
    torch.testing.assert_close(ours, expected, atol=1e-12, rtol=0)


def test_dig_continues_beyond_cutoff(path):
    basis = AngleBasis(3, 4, 5.0, variant="dig")
    d = torch.tensor([5.5, 7.0, 12.0], dtype=torch.float64)
    out = basis(d, torch.zeros(3, dtype=torch.float64)).view(3, 3, 4)
    zeros = basis.radial.zeros.numpy()
    for l in range(3):
        norm = np.sqrt(2.0) / np.abs(scipy_jn(l + 1, zeros[l]))
        expected = norm * scipy_jn(l, zeros[l] * d.numpy()[:, None] / 5.0)
        expected *= np.sqrt((2 * l + 1) / (4 * np.pi))
        np.testing.assert_allclose(out[:, l].numpy(), expected, atol=1e-12)


# ------------------------------------------------------------------------------------------
# accuracy: float32 at every x in [0, 1], many radial orders
# ------------------------------------------------------------------------------------------


def _exact_radial(zeros: np.ndarray, x: np.ndarray, envelope: str) -> np.ndarray:
    s = zeros.shape[0]
    out = []
    for l in range(s):
        norm = np.sqrt(2.0) / np.abs(scipy_jn(l + 1, zeros[l]))
        f = norm * scipy_jn(l, zeros[l] * x[:, None])
        if envelope == "paper":
            p = 6
            f = f * (1 - 28 * x**p + 48 * x ** (p + 1) - 21 * x ** (p + 2))[:, None]
        out.append(f)
    return np.stack(out, axis=1)  # (M, L, R)


@pytest.mark.parametrize("variant", ["dig", "paper"])
def test_float32_accuracy_up_to_l8(variant, path):
    """|float32 - exact| <= 1e-6 of each function's peak for l <= 8, x = d/c in [0, 1]."""
    s, r, c = 9, 6, 5.0
    basis = AngleBasis(s, r, c, variant=variant)
    x = np.linspace(0.0, 1.0, 4001)
    exact = _exact_radial(basis.radial.zeros.numpy(), x, variant)
    if variant == "paper":
        exact = exact / c**1.5
    exact = exact * np.sqrt((2 * np.arange(s) + 1) / (4 * np.pi))[None, :, None]
    ours = basis(torch.tensor(x * c, dtype=torch.float32), torch.zeros(x.size)).view(-1, s, r)
    error = np.abs(ours.double().numpy() - exact).max(axis=0)
    assert (error / np.abs(exact).max(axis=0)).max() <= 1e-6


def test_many_radial_orders(path):
    """num_radial > 64 (the peers' limit) is exact too."""
    basis = AngleBasis(3, 80, 5.0, variant="dig")
    x = np.linspace(0.0, 1.0, 1001)
    exact = _exact_radial(basis.radial.zeros.numpy(), x, "none")
    exact = exact * np.sqrt((2 * np.arange(3) + 1) / (4 * np.pi))[None, :, None]
    ours = basis(torch.tensor(x * 5.0), torch.zeros(x.size, dtype=torch.float64)).view(-1, 3, 80)
    error = np.abs(ours.numpy() - exact).max(axis=0) / np.abs(exact).max(axis=0)
    assert error.max() <= 1e-11


# ------------------------------------------------------------------------------------------
# the consistent torsion basis is orthonormal on the ball
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cutoff", [1.0, 5.0])
def test_consistent_torsion_orthonormal_on_ball(cutoff):
    s, r = 4, 5
    basis = TorsionBasis(s, r, cutoff, variant="consistent")
    # Gauss-Legendre in d on [0, c] (smooth integrand, 120 nodes: exact to rounding),
    # Gauss-Legendre in cos(theta) and a uniform rule in phi (exact for degree <= 2(s-1)).
    nd, wd = np.polynomial.legendre.leggauss(120)
    d = (nd + 1) * cutoff / 2
    wd = wd * cutoff / 2 * d**2
    nt, wt = np.polynomial.legendre.leggauss(s + 1)
    nphi = 2 * s + 2
    phi = 2 * np.pi * np.arange(nphi) / nphi
    D, T, P = np.meshgrid(d, np.arccos(nt), phi, indexing="ij")
    W = (wd[:, None, None] * wt[None, :, None] * np.full(nphi, 2 * np.pi / nphi)).ravel()
    values = basis(*(torch.tensor(a.ravel()) for a in (D, T, P)))
    gram = (values * torch.tensor(W)[:, None]).T @ values
    torch.testing.assert_close(gram, torch.eye(s * s * r, dtype=torch.float64), atol=1e-10, rtol=0)


def test_consistent_torsion_column_order_is_e3nn():
    """Column (l*l + l + m) * R + n: harmonics in e3nn's m order -l..l (z-polar frame)."""
    from e3nn.o3 import spherical_harmonics

    s, r = 3, 2
    basis = TorsionBasis(s, r, 5.0, variant="consistent")
    theta = torch.tensor([0.3, 1.2, 2.5], dtype=torch.float64)
    phi = torch.tensor([-2.0, 0.4, 2.9], dtype=torch.float64)
    d = torch.full((3,), 1.7, dtype=torch.float64)
    out = basis(d, theta, phi).view(3, s * s, r)
    v = torch.stack([theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()], dim=-1)
    e3nn = spherical_harmonics(list(range(s)), v[:, [1, 2, 0]], normalize=True)
    radial = basis.radial(d / 5.0).view(3, s, r)
    degree = torch.tensor([l for l in range(s) for _ in range(2 * l + 1)])
    torch.testing.assert_close(out, e3nn[:, :, None] * radial[:, degree, :])


# ------------------------------------------------------------------------------------------
# gradients
# ------------------------------------------------------------------------------------------

FINITE_CASES = [
    (AngleBasis, {"variant": "paper"}),
    (AngleBasis, {"variant": "dig"}),
    (TorsionBasis, {"variant": "consistent"}),
    (TorsionBasis, {"variant": "dig"}),
    (ComENetAngleBasis, {}),
    (ComENetTorsionBasis, {}),
]


@pytest.mark.parametrize(("cls", "kwargs"), FINITE_CASES)
def test_gradients_finite_everywhere(cls, kwargs, dtype, path):
    basis = cls(num_spherical=4, num_radial=3, cutoff=5.0, **kwargs)
    cutoff = basis.cutoff
    d = torch.tensor([0.0, 1e-6, 0.5, cutoff - 1e-6, cutoff, cutoff + 1.0], dtype=dtype)
    d = d.repeat(3).requires_grad_()
    theta = torch.tensor([0.0, math.pi, 1.0], dtype=dtype).repeat_interleave(6).requires_grad_()
    phi = torch.linspace(-math.pi, math.pi, 18, dtype=dtype).requires_grad_()
    is_angle = cls in (AngleBasis, ComENetAngleBasis)
    args = (d, theta) if is_angle else (d, theta, phi)
    out = basis(*args)
    assert bool(torch.isfinite(out).all())
    grads = torch.autograd.grad(out.sum(), args)
    assert all(bool(torch.isfinite(g).all()) for g in grads)


@pytest.mark.parametrize("variant", ["pyg", "paper"])
def test_large_outputs_with_gradients(variant):
    """Outputs of 32 MiB and more (numpy-backed buffers) keep autograd working: the "pyg"
    variant adds its l = 0 pole in place to a custom Function's output (once a crash)."""
    gen = torch.Generator().manual_seed(0)
    n = 210000  # 210000 x 42 float32 = 35 MB
    dist = (0.5 + 4.0 * torch.rand(n, generator=gen)).requires_grad_()
    angle = torch.pi * torch.rand(n, generator=gen)
    basis = AngleBasis(7, 6, 5.0, variant=variant)
    out = basis(dist, angle, torch.arange(n))
    out.sum().backward()
    small = dist.detach()[:50].clone().requires_grad_()
    basis(small, angle[:50], torch.arange(50)).sum().backward()
    torch.testing.assert_close(dist.grad[:50], small.grad)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("variant", ["dig", "consistent"])
def test_torsion_eager_equals_graph(variant, dtype, monkeypatch):
    """The eager product (an autograd Function, blocked backward) and the graph path's plain
    product give the same values and gradients."""
    gen = torch.Generator().manual_seed(1)
    n = 1000
    dist = (0.2 + 4.5 * torch.rand(n, generator=gen, dtype=dtype)).requires_grad_()
    theta = (torch.pi * torch.rand(n, generator=gen, dtype=dtype)).requires_grad_()
    phi = (2 * torch.pi * torch.rand(n, generator=gen, dtype=dtype) - torch.pi).requires_grad_()
    basis = TorsionBasis(5, 4, 5.0, variant=variant)
    idx = torch.randint(0, n, (n,), generator=gen)

    def run():
        out = basis(dist, theta, phi, idx)
        grads = torch.autograd.grad(out.square().sum(), (dist, theta, phi))
        with torch.no_grad():
            return out.detach(), grads, basis(dist, theta, phi, idx)

    eager = run()
    monkeypatch.setattr(_runtime, "_FORCE_GRAPH", True)
    graph = run()
    # sums of ~100 products in another order: a few ulp of each tensor's scale
    eps = torch.finfo(dtype).eps
    pairs = [(eager[0], graph[0]), (eager[2], graph[2]), *zip(eager[1], graph[1], strict=True)]
    for a, b in pairs:
        assert (a - b).abs().max() <= 64 * eps * b.abs().max()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("variant", ["pyg", "paper", "dig"])
def test_angle_eager_matches_graph(variant, dtype, monkeypatch):
    """The eager angle basis agrees with the graph path to rounding.

    Both evaluate the same Chebyshev series; the eager path patches the rows beyond the cutoff
    and folds PyG's pole into its matrix product, the graph path selects by ``where``, so the
    agreement is to a few ulp of each column's peak. The non-finite entries (PyG's l = 0 pole
    at d = 0) are the same.
    """
    gen = torch.Generator().manual_seed(2)
    edges, num = 700, 1500  # more triplets than edges
    dist = 6.0 * torch.rand(edges, generator=gen, dtype=dtype)
    dist[:4] = torch.tensor([0.0, 5.0, 5.0 + 1e-6, 30.0], dtype=dtype)  # 0, cutoff, beyond
    angle = math.pi * torch.rand(num, generator=gen, dtype=dtype)
    angle[:2] = torch.tensor([0.0, math.pi])
    idx = torch.randint(0, edges, (num,), generator=gen)
    idx[:4] = torch.arange(4)
    basis = AngleBasis(7, 6, 5.0, variant=variant)
    cases = [(dist, angle, idx), (dist, angle[:edges]), (dist[::2], angle[:300], idx[:300] // 2)]
    eager = [basis(*case) for case in cases]
    monkeypatch.setattr(_runtime, "_FORCE_GRAPH", True)
    graph = [basis(*case) for case in cases]
    tolerance = 4e-15 if dtype == torch.float64 else 2e-6
    for ours, reference in zip(eager, graph, strict=True):
        finite = torch.isfinite(reference)
        assert torch.equal(torch.isfinite(ours), finite)
        assert torch.equal(ours[~finite], reference[~finite])
        peak = reference.where(finite, 0.0).abs().amax(dim=0).clamp_min(1e-300)
        error = (ours - reference).where(finite, 0.0).abs() / peak
        assert error.max().item() <= tolerance
    if variant != "dig":  # zero at and beyond the cutoff, as PyG's mask gives
        for out in (eager[0], graph[0]):
            assert torch.equal(out[1:4], torch.zeros_like(out[1:4]))


TORSION_CASES = [
    (TorsionBasis, {"variant": "dig"}),
    (TorsionBasis, {"variant": "consistent"}),
    (ComENetTorsionBasis, {}),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("cls", "kwargs"), TORSION_CASES, ids=str)
def test_torsion_matches_float64_reference(cls, kwargs, dtype, path):
    """Both paths agree with the float64 evaluation to rounding, beyond the cutoff and at the
    poles too."""
    gen = torch.Generator().manual_seed(6)
    edges, num = 500, 1100
    dist = 6.0 * torch.rand(edges, generator=gen, dtype=dtype)
    dist[:4] = torch.tensor([0.0, 5.0, 5.0 + 1e-4, 20.0], dtype=dtype)
    theta = math.pi * torch.rand(num, generator=gen, dtype=dtype)
    theta[:2] = torch.tensor([0.0, math.pi], dtype=dtype)
    phi = 2 * math.pi * torch.rand(num, generator=gen, dtype=dtype) - math.pi
    idx = torch.randint(0, edges, (num,), generator=gen)
    idx[:4] = torch.arange(4)
    basis = cls(num_spherical=5, num_radial=4, cutoff=5.0, **kwargs)
    cases = [(dist, theta[:edges], phi[:edges])]
    if cls is TorsionBasis:  # the only torsion class with idx_kj
        cases += [(dist, theta, phi, idx), (dist[::2], theta[:300], phi[:300], idx[:300] // 2)]
    ours = [basis(*case) for case in cases]
    exact = [basis(*(t.double() if t.is_floating_point() else t for t in case)) for case in cases]
    tolerance = 1e-14 if dtype == torch.float64 else 2e-6
    for out, reference in zip(ours, exact, strict=True):
        assert out.dtype == dtype and out.shape == reference.shape
        peak = reference.abs().amax(dim=0).clamp_min(1e-300)
        assert ((out.double() - reference).abs() / peak).max().item() <= tolerance


def _angle_gradients(basis, dist, angle, idx, weights, wanted=(True, True)):
    dist = dist.clone().requires_grad_(wanted[0])
    angle = angle.clone().requires_grad_(wanted[1])
    out = basis(dist, angle, idx)
    inputs = [t for t, want in zip((dist, angle), wanted, strict=True) if want]
    return out.detach(), torch.autograd.grad(out, inputs, weights)


_WANTED = [(True, True), (True, False), (False, True)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("variant", ["pyg", "paper", "dig"])
def test_angle_gradients_match_float64_reference(variant, dtype, path):
    """Gradients per distance and angle match the float64 evaluation, on both paths.

    Several triplets share an edge (``idx_kj`` gathers, the gradient sums them), and for the
    enveloped variants some distances sit at or beyond the cutoff (zero rows, zero gradient).
    """
    gen = torch.Generator().manual_seed(4)
    edges, num = 300, 900
    dist = 0.05 + 4.9 * torch.rand(edges, generator=gen, dtype=dtype)
    if variant != "dig":
        dist[:3] = torch.tensor([5.0, 5.5, 9.0], dtype=dtype)
    angle = math.pi * torch.rand(num, generator=gen, dtype=dtype)
    angle[:2] = torch.tensor([0.0, math.pi], dtype=dtype)
    idx = torch.randint(0, edges, (num,), generator=gen)
    weights = torch.randn(num, 42, generator=gen, dtype=dtype)
    basis = AngleBasis(7, 6, 5.0, variant=variant)
    ours = [_angle_gradients(basis, dist, angle, idx, weights, w) for w in _WANTED]
    exact = [_angle_gradients(basis, dist.double(), angle.double(), idx, weights.double(), w)
             for w in _WANTED]  # fmt: skip
    tolerance = 1e-14 if dtype == torch.float64 else 2e-6
    for (out, grads), (out_ref, grads_ref) in zip(ours, exact, strict=True):
        assert (out.double() - out_ref).abs().max() <= tolerance * out_ref.abs().max()
        for g, ref in zip(grads, grads_ref, strict=True):
            assert g.dtype == dtype
            assert (g.double() - ref).abs().max() <= tolerance * ref.abs().max()
    if variant != "dig":
        assert torch.equal(ours[0][1][0][:3], torch.zeros(3, dtype=dtype))


def test_angle_double_backward_eager_equals_graph(monkeypatch):
    """Forces of forces (second derivatives): the eager series' derivative series and autograd
    through the graph path's plain recurrence agree."""
    gen = torch.Generator().manual_seed(5)
    dist = (0.1 + 4.8 * torch.rand(40, generator=gen, dtype=torch.float64)).requires_grad_()
    angle = (math.pi * torch.rand(40, generator=gen, dtype=torch.float64)).requires_grad_()
    basis = AngleBasis(5, 4, 5.0, variant="paper")

    def second_derivatives():
        (force,) = torch.autograd.grad(basis(dist, angle).square().sum(), dist, create_graph=True)
        return torch.autograd.grad(force.square().sum(), (dist, angle))

    eager = second_derivatives()
    monkeypatch.setattr(_runtime, "_FORCE_GRAPH", True)
    graph = second_derivatives()
    for a, b in zip(eager, graph, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_pyg_with_gradients_at_zero_distance():
    """d = 0 under PyG's pole: +inf values as without gradients (the torch path differentiates)."""
    basis = AngleBasis(3, 2, 5.0, variant="pyg")
    dist = torch.tensor([0.0, 1.0], requires_grad=True)
    out = basis(dist, torch.tensor([0.3, 1.2]))
    assert bool(torch.isinf(out[0, :2]).all()) and bool(torch.isfinite(out[1]).all())
    torch.testing.assert_close(out.detach(), basis(dist.detach(), torch.tensor([0.3, 1.2])))


def test_pyg_gradients_finite_away_from_zero():
    basis = AngleBasis(4, 3, 5.0, variant="pyg")
    d = torch.tensor([1e-3, 0.5, 4.9, 5.0, 6.0], dtype=torch.float64, requires_grad=True)
    theta = torch.tensor([0.0, math.pi, 1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    grads = torch.autograd.grad(basis(d, theta).sum(), (d, theta))
    assert all(bool(torch.isfinite(g).all()) for g in grads)


@pytest.mark.slow  # 28 s in all (2-4 s per torsion case, gradgradcheck) on 2 loaded cores
@pytest.mark.parametrize(
    ("cls", "kwargs"), [*FINITE_CASES, (AngleBasis, {"variant": "pyg"})], ids=str
)
def test_gradcheck(cls, kwargs, path):
    basis = cls(num_spherical=3, num_radial=2, cutoff=5.0, **kwargs)
    generator = torch.Generator().manual_seed(1)
    # near d = 0 for the variants that are smooth there (gradcheck steps by 1e-6)
    d = torch.tensor([1e-4 if kwargs.get("variant") != "pyg" else 0.3, 3.7], dtype=torch.float64)
    theta = (0.1 + 3 * torch.rand(2, generator=generator, dtype=torch.float64)).requires_grad_()
    phi = (6 * torch.rand(2, generator=generator, dtype=torch.float64) - 3).requires_grad_()
    args = (
        (d.requires_grad_(), theta) if cls in (AngleBasis, ComENetAngleBasis) else (d, theta, phi)
    )
    if len(args) == 2:
        assert torch.autograd.gradcheck(basis, args)
        assert torch.autograd.gradgradcheck(basis, args)
    else:
        assert torch.autograd.gradcheck(basis, (d.requires_grad_(), theta, phi))
        assert torch.autograd.gradgradcheck(basis, (d, theta, phi))


@pytest.mark.parametrize("kwargs", [{"variant": "dig"}, {"variant": "consistent"}, {}], ids=str)
def test_blocked_backward_matches_differentiable_backward(kwargs):
    """The torsion product's backward runs in row blocks unless create_graph; both agree."""
    cls = ComENetTorsionBasis if not kwargs else TorsionBasis
    basis = cls(num_spherical=7, num_radial=6, cutoff=5.0, **kwargs)
    generator = torch.Generator().manual_seed(2)
    num = 3001  # several row blocks and a ragged last one
    args = [
        (0.2 + 4.5 * torch.rand(num, generator=generator, dtype=torch.float64)),
        (torch.pi * torch.rand(num, generator=generator, dtype=torch.float64)),
        (2 * torch.pi * torch.rand(num, generator=generator, dtype=torch.float64)),
    ]
    args = [a.requires_grad_() for a in args]
    out = basis(*args)
    # transposed: a non-contiguous incoming gradient
    weights = torch.randn(out.shape[::-1], generator=generator, dtype=torch.float64).T
    blocked = torch.autograd.grad(out, args, weights, retain_graph=True)
    plain = torch.autograd.grad(out, args, weights, create_graph=True)
    for b, p in zip(blocked, plain, strict=True):
        torch.testing.assert_close(b, p, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------------------
# reflections (the claims of docs/polar.md)
# ------------------------------------------------------------------------------------------


def _molecule(seed: int, n: int = 9) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    while True:
        pos = 3.0 * torch.rand(n, 3, generator=generator, dtype=torch.float64)
        if torch.pdist(pos).min() > 0.7:
            return pos


def _full_graph(n: int) -> torch.Tensor:
    src, dst = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    keep = src != dst
    return torch.stack([src[keep], dst[keep]])


def test_reflection_same_reference_flips_only_sine_columns():
    """phi -> -phi (a mirror, reference kept): m < 0 columns flip sign, the rest stay."""
    generator = torch.Generator().manual_seed(3)
    d = 4.0 * torch.rand(30, generator=generator, dtype=torch.float64)
    theta = math.pi * torch.rand(30, generator=generator, dtype=torch.float64)
    phi = 2 * math.pi * torch.rand(30, generator=generator, dtype=torch.float64)
    s, r = 4, 3
    sign = torch.tensor([-1.0 if m < 0 else 1.0 for l in range(s) for m in range(-l, l + 1)])
    basis = TorsionBasis(s, r, 5.0, variant="consistent")
    torch.testing.assert_close(
        basis(d, theta, -phi), basis(d, theta, phi) * sign.repeat_interleave(r).double()
    )
    comenet = ComENetTorsionBasis(s, r, 5.0)  # order 0, +1..+l, -l..-1
    sign_comenet = torch.tensor(
        [-1.0 if m < 0 else 1.0 for l in range(s) for m in [0, *range(1, l + 1), *range(-l, 0)]]
    )
    torch.testing.assert_close(
        comenet(d, theta, -phi), comenet(d, theta, phi) * sign_comenet.repeat_interleave(r).double()
    )


def test_reflection_of_a_molecule():
    pos = _molecule(0)
    mirror = pos * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    edge_index = _full_graph(pos.shape[0])
    idx_i, idx_j, idx_k, idx_kj, idx_ji = triplets(edge_index, pos.shape[0])
    dist = (pos[edge_index[0]] - pos[edge_index[1]]).norm(dim=-1)

    # angle bases: mirror-invariant
    angle = spherenet_angle(pos, idx_i, idx_j, idx_k)
    angle_m = spherenet_angle(mirror, idx_i, idx_j, idx_k)
    basis = AngleBasis(7, 6, 5.0, variant="dig")
    torch.testing.assert_close(basis(dist, angle_m, idx_kj), basis(dist, angle, idx_kj))

    # SphereNet torsion: the mirror turns "next counter-clockwise" into "previous": with a
    # full graph every j has several candidate neighbours, so the torsions change (chirality)
    torsion = spherenet_torsion(pos, idx_i, idx_j, idx_k, idx_ji)
    torsion_m = spherenet_torsion(mirror, idx_i, idx_j, idx_k, idx_ji)
    assert (torsion - torsion_m).abs().max() > 0.5
    # ... but the multiset "angles to every other neighbour" is exactly negated, so for a
    # j with exactly two candidates (k and k') the torsion maps to 2 pi - torsion.
    three = torch.tensor([[1.0, 0, 0], [0, 0, 0], [0.2, 1.0, 0.3], [-0.4, -0.6, 0.8]]).double()
    ei = torch.tensor([[1, 2, 3], [0, 1, 1]])  # 1 -> 0, 2 -> 1, 3 -> 1
    t = triplets(ei, 4)
    flip = three * torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    tor = spherenet_torsion(three, t[0], t[1], t[2], t[4])
    tor_m = spherenet_torsion(flip, t[0], t[1], t[2], t[4])
    torch.testing.assert_close(tor_m, 2 * math.pi - tor)

    # ComENet: theta invariant, folded torsions map to pi - value
    d, theta, phi, tau = comenet_angles(pos, edge_index)
    d_m, theta_m, phi_m, tau_m = comenet_angles(mirror, edge_index)
    torch.testing.assert_close(theta_m, theta)
    # (undefined planes, 0, and triangles, tau = pi, are set by convention and stay put)
    defined = (phi > 0) & (phi < math.pi)
    assert int(defined.sum()) > 10
    torch.testing.assert_close(phi_m[defined], math.pi - phi[defined])
    torch.testing.assert_close(phi_m[~defined], phi[~defined])
    defined = (tau > 0) & (tau < math.pi)
    assert int(defined.sum()) > 10
    torch.testing.assert_close(tau_m[defined], math.pi - tau[defined])
    angle_features = ComENetAngleBasis(2, 3, 8.0)
    assert (angle_features(d, tau) - angle_features(d_m, tau_m)).abs().max() > 1e-3


# ------------------------------------------------------------------------------------------
# module behaviour: errors, pickling, state_dict, dtype/device, compile
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_spherical": 0}, ValueError, "num_spherical"),
        ({"num_radial": 0}, ValueError, "num_radial"),
        ({"num_radial": 2.0}, TypeError, "num_radial"),
        ({"cutoff": 0.0}, ValueError, "cutoff"),
        ({"cutoff": -1.0}, ValueError, "cutoff"),
        ({"variant": "tf"}, ValueError, "variant"),
        ({"envelope_exponent": -1}, ValueError, "envelope_exponent"),
    ],
)
def test_angle_basis_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        AngleBasis(**kwargs)


def test_torsion_bad_arguments():
    with pytest.raises(ValueError, match="variant"):
        TorsionBasis(variant="pyg")
    with pytest.raises(ValueError, match="cutoff"):
        ComENetTorsionBasis(cutoff=0.0)
    with pytest.raises(ValueError, match="num_spherical"):
        ComENetAngleBasis(num_spherical=0)


def test_bad_inputs():
    basis = AngleBasis(3, 2)
    torsion = TorsionBasis(3, 2)
    d, a = torch.rand(4), torch.rand(4)
    with pytest.raises(TypeError, match="dist"):
        basis(torch.arange(4), a)
    with pytest.raises(TypeError, match="angle"):
        basis(d, a.double())
    with pytest.raises(ValueError, match="angle"):
        basis(d, torch.rand(5))
    with pytest.raises(ValueError, match="dist"):
        basis(torch.tensor([1.0, -1.0, 2.0, 3.0]), a)
    with pytest.raises(ValueError, match="dist"):
        basis(torch.tensor([1.0, float("nan"), 2.0, 3.0]), a)
    with pytest.raises(TypeError, match="idx_kj"):
        basis(d, a, torch.rand(4))
    for bad in (torch.tensor([0, 1, 4, 2]), torch.tensor([0, -1, 1, 2])):  # dist has 4 edges
        with pytest.raises(IndexError, match="idx_kj must index dist"):
            basis(d, a, bad)
        with pytest.raises(IndexError, match="idx_kj must index dist"):
            torsion(d, a, a, bad)
    with pytest.raises(ValueError, match="phi"):
        torsion(d, a, torch.rand(3))


def test_leading_shapes_and_empty(path):
    basis = AngleBasis(3, 2)
    d, a = 4 * torch.rand(2, 5), torch.rand(2, 5)
    out = basis(d, a)
    assert out.shape == (2, 5, 6)
    torch.testing.assert_close(out[1], basis(d[1], a[1]))
    assert basis(torch.zeros(0), torch.zeros(0)).shape == (0, 6)
    assert TorsionBasis(3, 2)(torch.zeros(0), torch.zeros(0), torch.zeros(0)).shape == (0, 18)


@pytest.mark.parametrize(
    "module",
    [
        AngleBasis(4, 3),
        TorsionBasis(3, 2, variant="dig"),
        ComENetTorsionBasis(),
        ComENetAngleBasis(),
    ],
    ids=type,
)
def test_pickle_state_dict_and_dtype(module):
    restored = pickle.loads(pickle.dumps(module))
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    assert "radial.coefficients" in module.state_dict()
    assert module.radial.coefficients.dtype == torch.float64
    args = [torch.tensor([1.0, 2.0]), torch.tensor([0.5, 1.5])]
    if isinstance(module, (TorsionBasis, ComENetTorsionBasis)):
        args.append(torch.tensor([-1.0, 2.0]))
    torch.testing.assert_close(restored(*args), module(*args))
    out64 = module(*(a.double() for a in args))
    assert out64.dtype == torch.float64
    torch.testing.assert_close(module(*args), out64.float())
    moved = pickle.loads(pickle.dumps(module)).to(torch.float32)
    torch.testing.assert_close(moved(*args), module(*args), atol=1e-5, rtol=1e-5)


def test_device(device):
    basis = TorsionBasis(3, 4, variant="dig").to(device)
    d = torch.tensor([1.0, 6.0], device=device)
    out = basis(d, torch.tensor([0.5, 1.0], device=device), torch.tensor([0.1, 2.0], device=device))
    assert out.device.type == device.type


# dynamo instantiates custom autograd Functions internally and warns about it (torch's own)
@pytest.mark.filterwarnings("ignore:.*should not be instantiated:DeprecationWarning")
def test_torch_compile_smoke():
    # aot_eager: dynamo capture and AOT autograd without the (minutes-long) C++ build
    basis = AngleBasis(3, 4, variant="paper")
    compiled = torch.compile(basis, backend="aot_eager")
    d, a = torch.tensor([0.5, 2.0, 6.0]), torch.tensor([0.1, 1.0, 3.0])
    torch.testing.assert_close(compiled(d, a), basis(d, a))


@pytest.mark.parametrize("terms", [1, 2, 5, 38])
def test_chebyshev_operator_matches_numpy(terms):
    from equibasis.polar import chebyshev_series
    from equibasis.polar.chebyshev import _derivative_coefficients

    gen = torch.Generator().manual_seed(terms)
    coefficients = torch.randn(terms, 3, generator=gen, dtype=torch.float64)
    u = torch.linspace(-1.0, 1.0, 101, dtype=torch.float64)
    expected = np.polynomial.chebyshev.chebval(u.numpy(), coefficients.numpy())  # (3, 101)
    torch.testing.assert_close(chebyshev_series(u, coefficients), torch.from_numpy(expected.T))
    derivative = np.polynomial.chebyshev.chebder(coefficients.numpy(), axis=0)
    if terms == 1:
        derivative = np.zeros((1, 3))
    torch.testing.assert_close(
        _derivative_coefficients(coefficients), torch.from_numpy(derivative), rtol=1e-13, atol=1e-13
    )
