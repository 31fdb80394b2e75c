"""The fused CPU radial features of EdgeEmbedding (no graph) against the composed modules."""

import math

import mpmath
import numpy as np
import pytest
import torch

from equibasis import _numba
from equibasis._fused_radial import fused_edge_radial
from equibasis.cutoff import CosineCutoff, PolynomialCutoff
from equibasis.radial import BesselRBF, GaussianRBF
from equibasis.tensor_field import EdgeEmbedding

pytest.importorskip("numba")
from equibasis import _radial_kernels  # after the skip: it needs numba

CUTOFF = 5.0

RADIAL = {
    "gaussian 8": lambda: GaussianRBF(num_basis=8, cutoff=CUTOFF),
    "gaussian schnet": lambda: GaussianRBF.preset("schnet"),
    "gaussian 1": lambda: GaussianRBF(num_basis=1, cutoff=CUTOFF),
    "gaussian narrow": lambda: GaussianRBF(num_basis=20, cutoff=CUTOFF, start=1.0, width=0.05),
    "bessel 8": lambda: BesselRBF(num_basis=8, cutoff=CUTOFF),
    "bessel 50 p3": lambda: BesselRBF(num_basis=50, cutoff=CUTOFF, envelope_exponent=2),
    "bessel tails": lambda: BesselRBF(num_basis=6, cutoff=CUTOFF, zero_beyond_cutoff=False),
}


def _vectors(dtype: torch.dtype, n: int = 3000) -> torch.Tensor:
    """Random vectors out to 7 A, plus 0, tiny (series rows), the cutoff, far beyond it."""
    gen = torch.Generator().manual_seed(0)
    v = torch.randn(n, 3, generator=gen, dtype=torch.float64) * 3.0
    special = [0.0, 1e-9, 1e-5, 1e-3, 0.01, CUTOFF * (1 - 1e-7), CUTOFF, CUTOFF * (1 + 1e-7), 30.0]
    v[: len(special)] = torch.tensor(special, dtype=torch.float64)[:, None] * torch.tensor(
        [0.6, 0.0, -0.8], dtype=torch.float64
    )
    return v.to(dtype)


def _composed(vec: torch.Tensor, radial, cutoff_fn) -> torch.Tensor:
    r = torch.linalg.vector_norm(vec, dim=-1)
    return radial(r) * cutoff_fn(r)[..., None]


def _fused_case(name: str, dtype: torch.dtype):
    """(radial, envelope, vectors, fused output) of one case of RADIAL."""
    radial, cutoff_fn = RADIAL[name](), PolynomialCutoff(CUTOFF, p=6)
    vec = _vectors(dtype)
    with torch.no_grad():
        return radial, cutoff_fn, vec, fused_edge_radial(vec, radial, cutoff_fn)


@pytest.mark.parametrize("name", RADIAL)
def test_float64_equals_the_composed_modules(name):
    radial, cutoff_fn, vec, got = _fused_case(name, torch.float64)
    want = _composed(vec, radial, cutoff_fn)
    assert got is not None and got.dtype == torch.float64 and got.shape == want.shape
    # relative to the largest value (Bessel values reach K pi). Both round a r - b_k, which is
    # as large as 70 for the narrow Gaussians (a = 14 / A): up to ~1e-14 of the peak there
    err = ((got - want).abs().max() / want.abs().max()).item()
    assert err <= (2e-14 if name == "gaussian narrow" else 5e-15), err
    # the Gaussians' underflow rule (exact zeros) is the torch implementation's
    assert torch.equal(got == 0, want == 0) or not name.startswith("gaussian")


@pytest.mark.parametrize("name", RADIAL)
def test_float32_is_the_float64_value_rounded_once(name):
    """From the same float32 vectors, the float32 output is the float64 result rounded."""
    radial, cutoff_fn, vec, got = _fused_case(name, torch.float32)
    with torch.no_grad():
        exact = fused_edge_radial(vec.double(), radial, cutoff_fn)
    assert got.dtype == torch.float32
    # half an ulp of rounding plus float64 noise, relative to each value; in float32 the
    # Gaussians below exp(-87) = 1.65e-38 are set to 0 (GaussianRBF's underflow rule)
    torch.testing.assert_close(got.double(), exact, rtol=2**-24 + 1e-13, atol=1.7e-38)


def test_kernel_exp_and_sinpi_against_mpmath():
    """The kernels' own exp and sin/cos(pi x) are within 2 ulp of the correctly rounded value."""
    gen = np.random.default_rng(0)
    x = np.concatenate([-gen.uniform(0, 708, 2000), -gen.uniform(0, 1, 2000), [0.0, -707.9]])
    bits = np.empty(1, dtype=np.int64)
    for value in x:
        got = _exp_scalar(value, bits)
        want = float(mpmath.exp(mpmath.mpf(value)))
        assert abs(got - want) <= 2 * math.ulp(want), (value, got, want)
    t = np.concatenate([gen.uniform(0, 2, 3000), gen.uniform(0, 40, 1000), np.arange(0, 8, 0.25)])
    s, c = np.empty_like(t), np.empty_like(t)
    _radial_kernels._sincos_pi(t.shape[0], t, s, c)
    with mpmath.workdps(40):
        want_s = np.array([float(mpmath.sinpi(mpmath.mpf(v))) for v in t])
        want_c = np.array([float(mpmath.cospi(mpmath.mpf(v))) for v in t])
    # |sin|, |cos| <= 1: an absolute bound of 2 ulp of 1
    assert np.abs(s - want_s).max() <= 2 * 2.0**-52
    assert np.abs(c - want_c).max() <= 2 * 2.0**-52


def _exp_scalar(value: float, bits: np.ndarray) -> float:
    p = _EXP(value, bits)
    return p * bits.view(np.float64)[0]


def _exp_one(x, bits):  # pragma: no cover - compiled
    return _radial_kernels._exp(x, bits, 0)


_EXP = _radial_kernels.numba.njit(_exp_one)


def test_edge_embedding_takes_the_fused_path_without_a_graph(monkeypatch):
    """No graph: the fused values, equal to the composed ones; with a graph: the modules."""
    embed = EdgeEmbedding(2, BesselRBF(num_basis=8, cutoff=CUTOFF))
    vec = _vectors(torch.float64).reshape(3, -1, 3)
    calls = []
    original = fused_edge_radial

    def spy(*args):
        out = original(*args)
        calls.append(out is not None)
        return out

    monkeypatch.setattr("equibasis.tensor_field.fused_edge_radial", spy)
    with torch.no_grad():
        radial, sh = embed(vec)
    assert calls == [True] and radial.shape == (3, 1000, 8) and sh.shape == (3, 1000, 9)
    graph = vec.clone().requires_grad_()
    radial_g, sh_g = embed(graph)
    assert calls == [True]  # the graph path does not ask for the kernel
    torch.testing.assert_close(radial, radial_g.detach(), rtol=5e-15, atol=5e-15)
    torch.testing.assert_close(sh, sh_g.detach(), rtol=0, atol=0)


class _ShiftedGaussian(GaussianRBF):
    def forward(self, r):
        return super().forward(r + 1.0)


@pytest.mark.parametrize(
    ("radial", "cutoff_fn"),
    [
        (_ShiftedGaussian(num_basis=4, cutoff=CUTOFF), PolynomialCutoff(CUTOFF)),  # subclass
        (BesselRBF(num_basis=4, cutoff=CUTOFF, trainable=True), PolynomialCutoff(CUTOFF)),
        (GaussianRBF(num_basis=4, cutoff=CUTOFF), CosineCutoff(CUTOFF)),
    ],
    ids=["subclass", "trainable frequencies", "other envelope"],
)
def test_unknown_pairs_take_the_modules(radial, cutoff_fn):
    vec = _vectors(torch.float64, 50)
    with torch.no_grad():
        assert fused_edge_radial(vec, radial, cutoff_fn) is None
        got, _ = EdgeEmbedding(1, radial, cutoff_fn=cutoff_fn)(vec)
    torch.testing.assert_close(got, _composed(vec, radial, cutoff_fn), rtol=1e-14, atol=1e-14)


def test_without_numba_the_modules_serve(monkeypatch):
    monkeypatch.setitem(_numba._MODULES, "_radial_kernels", None)
    radial, cutoff_fn = GaussianRBF(num_basis=4, cutoff=CUTOFF), PolynomialCutoff(CUTOFF)
    vec = _vectors(torch.float32, 50)
    with torch.no_grad():
        assert fused_edge_radial(vec, radial, cutoff_fn) is None
        got, _ = EdgeEmbedding(1, radial)(vec)
    torch.testing.assert_close(got, _composed(vec, radial, cutoff_fn))


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_vectors_are_rejected(bad):
    vec = _vectors(torch.float32, 20)
    vec[3, 1] = bad
    with torch.no_grad(), pytest.raises(ValueError, match="NaN or infinite"):
        EdgeEmbedding(1, GaussianRBF(num_basis=4, cutoff=CUTOFF))(vec)


def test_empty_and_batched_shapes():
    embed = EdgeEmbedding(1, GaussianRBF(num_basis=4, cutoff=CUTOFF))
    with torch.no_grad():
        radial, sh = embed(torch.empty(0, 3))
        assert radial.shape == (0, 4) and sh.shape == (0, 4)
        vec = _vectors(torch.float32, 24).reshape(2, 3, 4, 3)
        radial, _ = embed(vec)
        assert radial.shape == (2, 3, 4, 4)
        torch.testing.assert_close(radial[1, 2], embed(vec[1, 2])[0], rtol=0, atol=0)


def test_rows_do_not_depend_on_their_block():
    """Row values are the same whatever the batch size (blocks of 64, remainders)."""
    radial, cutoff_fn = BesselRBF(num_basis=8, cutoff=CUTOFF), PolynomialCutoff(CUTOFF)
    vec = _vectors(torch.float32, 1000)
    with torch.no_grad():
        whole = fused_edge_radial(vec, radial, cutoff_fn)
        for start, stop in [(0, 1), (3, 70), (63, 129), (500, 1000)]:
            part = fused_edge_radial(vec[start:stop], radial, cutoff_fn)
            torch.testing.assert_close(part, whole[start:stop], rtol=0, atol=0)
