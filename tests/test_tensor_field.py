"""EdgeEmbedding and TensorFieldConv: O(3) equivariance, envelopes, forces, the example model."""

import functools
import importlib.util
import math
from pathlib import Path

import pytest
import torch
from e3nn import o3

from equibasis.cutoff import CosineCutoff, PolynomialCutoff
from equibasis.geometry import edge_vectors, radius_graph
from equibasis.harmonics import spherical_harmonics
from equibasis.radial import BesselRBF, GaussianRBF
from equibasis.tensor_field import EdgeEmbedding, TensorFieldConv
from equibasis.testing import assert_equivariant, forces_from, tolerance_for

CUTOFF = 3.0
IRREPS_IN = o3.Irreps("3x0e + 2x1o + 1x1e")
IRREPS_OUT = o3.Irreps("4x0e + 2x0o + 2x1o + 2x1e + 1x2e + 1x2o")


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """These graphs have tens of atoms: one thread is several times faster than two."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _example():
    path = Path(__file__).resolve().parents[1] / "examples" / "tetris_chirality.py"
    spec = importlib.util.spec_from_file_location("tetris_chirality", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example():
    return _example()


def _float64(build):
    """Build under float64 default dtype: e3nn makes its Clebsch-Gordan buffers in it, and a
    float32-built module converted with .double() is only accurate to ~1e-7."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return build()
    finally:
        torch.set_default_dtype(old)


@pytest.fixture(scope="module")
def conv64():
    torch.manual_seed(0)
    radial = BesselRBF(num_basis=8, cutoff=CUTOFF)
    return _float64(lambda: TensorFieldConv(IRREPS_IN, IRREPS_OUT, 2, radial, hidden=[16]))


def _cloud(n=12, dtype=torch.float64, device="cpu", seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 3, generator=gen, dtype=dtype) * 4.0).to(device)


def _e3nn_wigner_d_reaches(l: int) -> bool:
    """e3nn 0.4.x computes Wigner D only up to l = 11 (0.5 and later: any l)."""
    try:
        o3.Irrep(l, 1).D_from_angles(torch.zeros(()), torch.zeros(()), torch.zeros(()))
    except NotImplementedError:
        return False
    return True


OLD_E3NN_D = pytest.mark.skipif(
    not _e3nn_wigner_d_reaches(13), reason="this e3nn's Wigner D stops below l = 13 (e3nn < 0.5)"
)


# ---------------------------------------------------------------- EdgeEmbedding


@pytest.mark.parametrize(
    "irreps_sh", [0, 3, "1o", "0e + 2e + 1o", pytest.param("13o", marks=OLD_E3NN_D)]
)
def test_embedding_equivariant(irreps_sh, dtype, device):
    embed = EdgeEmbedding(irreps_sh, GaussianRBF(num_basis=10, cutoff=CUTOFF)).to(device)
    vec = _cloud(20, dtype, device) - 2.0
    out = [f"{embed.num_basis}x0e", embed.irreps_sh]
    assert_equivariant(embed, "1o", out, [vec], translation=False, ntrials=2)


@pytest.mark.parametrize("normalization", ["integral", "component", "norm"])
def test_embedding_matches_e3nn_and_components(normalization):
    radial = BesselRBF(num_basis=6, cutoff=CUTOFF)
    embed = EdgeEmbedding("0e + 1o + 2e + 3o", radial, normalization=normalization)
    vec = _cloud(50) - 2.0
    rad, sh = embed(vec)
    r = vec.norm(dim=-1)
    want_sh = o3.spherical_harmonics("0e + 1o + 2e + 3o", vec, True, normalization=normalization)
    torch.testing.assert_close(sh, want_sh, rtol=1e-12, atol=1e-12)
    envelope = PolynomialCutoff(CUTOFF, p=6)(r)
    torch.testing.assert_close(rad, radial(r) * envelope[:, None], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("irreps_sh", ["0e", "1o", "2e + 0e", "0e + 1o + 2e", "1o + 1o"])
@pytest.mark.parametrize("normalization", ["integral", "component", "norm"])
def test_embedding_low_degree_path_matches_e3nn(irreps_sh, normalization, dtype):
    """The l <= 2 column writer against e3nn's own harmonics, values and gradients."""
    embed = EdgeEmbedding(
        irreps_sh, GaussianRBF(num_basis=3, cutoff=CUTOFF), normalization=normalization
    )
    vec = (_cloud(40, dtype) - 2.0).requires_grad_()
    _, sh = embed(vec)
    want = o3.spherical_harmonics(irreps_sh, vec, True, normalization=normalization)
    torch.testing.assert_close(sh, want)
    assert sh.requires_grad == want.requires_grad  # a lone 0e is a constant
    if not want.requires_grad:
        return
    weights = torch.randn(sh.shape, dtype=dtype)
    (grad,) = torch.autograd.grad((sh * weights).sum(), vec)
    (want_grad,) = torch.autograd.grad((want * weights).sum(), vec)
    torch.testing.assert_close(grad, want_grad)


def test_embedding_high_l_uses_equibasis_harmonics():
    embed = EdgeEmbedding("13o + 14e", GaussianRBF(num_basis=4, cutoff=CUTOFF))
    vec = _cloud(10) - 2.0
    _, sh = embed(vec)
    torch.testing.assert_close(sh, spherical_harmonics("13o + 14e", vec, normalization="component"))


def test_embedding_custom_cutoff_fn_and_attributes():
    embed = EdgeEmbedding(2, GaussianRBF(num_basis=5, cutoff=2.0), cutoff_fn=CosineCutoff(2.0))
    assert embed.irreps_sh == o3.Irreps("0e + 1o + 2e")
    assert (embed.num_basis, embed.cutoff) == (5, 2.0)
    r = torch.tensor([0.5, 1.0, 1.5], dtype=torch.float64)
    rad, _ = embed(r[:, None] * torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64))
    want = GaussianRBF(num_basis=5, cutoff=2.0)(r) * CosineCutoff(2.0)(r)[:, None]
    torch.testing.assert_close(rad, want)


def test_embedding_vanishes_smoothly_at_cutoff():
    """Radial features and their r-derivative are 0 at and beyond the cutoff, finite near it."""
    embed = EdgeEmbedding(2, BesselRBF(num_basis=8, cutoff=CUTOFF))
    r = torch.tensor(
        [CUTOFF - 1e-3, CUTOFF - 1e-9, CUTOFF, CUTOFF + 1e-9, 2 * CUTOFF],
        dtype=torch.float64,
        requires_grad=True,
    )
    direction = torch.tensor([0.3, -0.5, 0.8], dtype=torch.float64)
    rad, _ = embed(r[:, None] * direction / direction.norm())
    (grad,) = torch.autograd.grad(rad.sum(), r)
    assert torch.isfinite(grad).all()
    assert rad[2:].abs().max() == 0 and grad[2:].abs().max() == 0
    assert rad[1].abs().max() < 1e-20 and grad[1].abs() < 1e-12  # p = 6 envelope: ~(c - r)^3
    assert rad[0].abs().max() > 0


def test_embedding_zero_vector():
    embed = EdgeEmbedding(2, GaussianRBF(num_basis=4, cutoff=CUTOFF))
    vec = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    rad, sh = embed(vec)
    assert torch.equal(sh[0, 1:], torch.zeros(8, dtype=torch.float64))
    (grad,) = torch.autograd.grad(rad.sum() + sh.sum(), vec)
    assert torch.isfinite(grad).all()


@pytest.mark.parametrize("lmax", [2, 3])  # the column writer and e3nn's code
def test_embedding_gradcheck(lmax):
    embed = EdgeEmbedding(lmax, BesselRBF(num_basis=4, cutoff=CUTOFF))
    vec = (_cloud(6) - 2.0).requires_grad_()
    torch.autograd.gradcheck(embed, (vec,))
    torch.autograd.gradgradcheck(lambda v: embed(v)[1], (vec,))


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ({"irreps_sh": "1e"}, ValueError, "irreps_sh"),
        ({"irreps_sh": "2x1o"}, ValueError, "irreps_sh"),
        ({"irreps_sh": -1}, ValueError, "irreps_sh"),
        ({"irreps_sh": "garbage"}, ValueError, "irreps_sh"),
        ({"radial": torch.nn.Linear(1, 1)}, TypeError, "num_basis"),
        ({"radial": "bessel"}, TypeError, "radial"),
        ({"cutoff_fn": 3.0}, TypeError, "cutoff_fn"),
        ({"normalization": "unit"}, ValueError, "normalization"),
    ],
)
def test_embedding_errors(args, error, match):
    kwargs = {"irreps_sh": 2, "radial": GaussianRBF(num_basis=4, cutoff=CUTOFF), **args}
    with pytest.raises(error, match=match):
        EdgeEmbedding(**kwargs)


def test_embedding_input_errors():
    embed = EdgeEmbedding(1, GaussianRBF(num_basis=4, cutoff=CUTOFF))
    with pytest.raises(ValueError, match="vec"):
        embed(torch.zeros(4, 2))
    with pytest.raises(TypeError, match="vec"):
        embed(torch.zeros(4, 3, dtype=torch.long))


# ---------------------------------------------------------------- TensorFieldConv


def test_conv_equivariant_o3_translation_permutation(conv64):
    pos = _cloud()
    x = IRREPS_IN.randn(pos.shape[0], -1, dtype=torch.float64)

    def fn(x, pos):
        return conv64(x, pos, radius_graph(pos, CUTOFF))

    assert_equivariant(fn, [IRREPS_IN, "cartesian_points"], IRREPS_OUT, [x, pos], permutation=True)


def test_conv_equivariant_float32_and_device(device):
    torch.manual_seed(1)
    conv = TensorFieldConv(IRREPS_IN, IRREPS_OUT, 2, GaussianRBF(num_basis=8, cutoff=CUTOFF))
    conv = conv.to(device)
    pos = _cloud(dtype=torch.float32, device=device)
    x = IRREPS_IN.randn(pos.shape[0], -1).to(device)
    edge_index = radius_graph(pos, CUTOFF)
    out = conv(x, pos, edge_index)
    assert out.shape == (12, IRREPS_OUT.dim) and out.device == pos.device
    fn = lambda x, pos: conv(x, pos, edge_index)  # noqa: E731
    assert_equivariant(fn, [IRREPS_IN, "cartesian_points"], IRREPS_OUT, [x, pos])


def test_conv_wrong_parity_is_caught(conv64):
    """Negative control: declaring the output 1e where it is 1o must fail."""
    pos = _cloud()
    x = IRREPS_IN.randn(pos.shape[0], -1, dtype=torch.float64)
    edge_index = radius_graph(pos, CUTOFF)
    wrong = o3.Irreps("4x0e + 2x0o + 2x1e + 2x1o + 1x2e + 1x2o")
    with pytest.raises(AssertionError, match="not equivariant"):
        fn = lambda x, pos: conv64(x, pos, edge_index)  # noqa: E731
        assert_equivariant(fn, [IRREPS_IN, "cartesian_points"], wrong, [x, pos])


def test_conv_locality_linearity_and_isolated_atoms(conv64):
    pos = _cloud()
    pos[-1] = torch.tensor([50.0, 50.0, 50.0], dtype=torch.float64)  # isolated atom
    x1, x2 = (IRREPS_IN.randn(pos.shape[0], -1, dtype=torch.float64) for _ in range(2))
    ei = radius_graph(pos, CUTOFF)
    with torch.no_grad():
        out = conv64(x1, pos, ei)
        # linear in the node features (weights depend on geometry only)
        torch.testing.assert_close(conv64(2 * x1 - x2, pos, ei), 2 * out - conv64(x2, pos, ei))
        # no self-interaction: an atom without neighbours gets zero
        assert out[-1].abs().max() == 0
        # messages come from sources: changing the isolated atom's features changes nothing
        x3 = x1.clone()
        x3[-1] += 1.0
        torch.testing.assert_close(conv64(x3, pos, ei), out, rtol=0, atol=0)


def test_conv_continuous_across_cutoff(conv64):
    """An atom crossing the cutoff changes the output continuously (the envelope at work)."""
    pos = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    x = IRREPS_IN.randn(3, -1, dtype=torch.float64)
    outs = []
    for r in (CUTOFF - 1e-6, CUTOFF + 1e-6):
        pos[2] = torch.tensor([0.0, 0.0, r], dtype=torch.float64)
        with torch.no_grad():
            outs.append(conv64(x, pos, radius_graph(pos, CUTOFF)))
    assert radius_graph(pos, CUTOFF).shape[1] == 2  # atom 2 has left
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=1e-12)


def test_conv_mean_aggregation():
    """Mean over k neighbours equals the sum divided by sqrt(num_neighbors = k^2)."""
    torch.manual_seed(2)
    radial = GaussianRBF(num_basis=6, cutoff=CUTOFF)
    irreps = "2x0e + 1x1o"
    mean = _float64(lambda: TensorFieldConv(irreps, irreps, 1, radial, aggregation="mean"))
    total = _float64(lambda: TensorFieldConv(irreps, irreps, 1, radial, num_neighbors=9.0))
    total.load_state_dict(mean.state_dict())
    pos = torch.tensor([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=torch.float64)
    ei = radius_graph(pos, CUTOFF)  # all pairs: 3 neighbours each
    x = o3.Irreps("2x0e + 1x1o").randn(4, -1, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(mean(x, pos, ei), total(x, pos, ei))


def _energy(conv):
    def energy(pos, x):
        return conv(x, pos, radius_graph(pos, CUTOFF))[:, :4].sum()

    return energy


def test_forces_equivariant_and_finite(conv64):
    pos = _cloud()
    x = IRREPS_IN.randn(pos.shape[0], -1, dtype=torch.float64)
    x[:, 3:] = 0  # scalar inputs only: the energy is invariant, forces rotate as 1o
    forces = forces_from(_energy(conv64))
    assert torch.isfinite(forces(pos, x)).all()
    assert_equivariant(forces, ["cartesian_points", None], "1o", [pos, x])


def test_forces_at_exact_cutoff(conv64):
    """Pairs exactly at the cutoff (kept in edge_index on purpose): finite, zero contribution."""
    pos = torch.tensor(
        [[0.0, 0.0, 0.0], [CUTOFF, 0.0, 0.0], [0.0, CUTOFF, 0.0], [0.0, 0.0, 1.0]],
        dtype=torch.float64,
        requires_grad=True,
    )
    x = torch.zeros(4, IRREPS_IN.dim, dtype=torch.float64)
    x[:, :3] = 1.0
    full = torch.tensor([[j for i in range(4) for j in range(4) if i != j],
                         [i for i in range(4) for j in range(4) if i != j]])  # fmt: skip
    _, dist = edge_vectors(pos, full)
    at_cutoff = dist == CUTOFF
    assert at_cutoff.sum() == 4
    energy = conv64(x, pos, full)[:, :4].sum()
    (grad,) = torch.autograd.grad(energy, pos)
    assert torch.isfinite(grad).all()
    # the same as without those edges: the envelope (and its derivative) is zero there
    pruned = conv64(x, pos, full[:, ~at_cutoff])[:, :4].sum()
    (grad_pruned,) = torch.autograd.grad(pruned, pos)
    torch.testing.assert_close(grad, grad_pruned, rtol=0, atol=1e-12)


def test_conv_gradcheck():
    torch.manual_seed(3)
    radial = BesselRBF(num_basis=4, cutoff=CUTOFF)
    conv = _float64(lambda: TensorFieldConv("1x0e + 1x1o", "1x0e + 1x1o", 1, radial))
    pos = _cloud(4).requires_grad_()
    x = torch.randn(4, 4, dtype=torch.float64, requires_grad=True)
    ei = radius_graph(pos, CUTOFF)
    torch.autograd.gradcheck(lambda x, p: conv(x, p, ei), (x, pos))


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ({"irreps_out": "1x3o"}, ValueError, "no tensor-product path"),
        ({"irreps_in": ""}, ValueError, "non-empty"),
        ({"aggregation": "max"}, ValueError, "aggregation"),
        ({"num_neighbors": 0.0}, ValueError, "num_neighbors"),
        ({"hidden": [0]}, ValueError, "hidden"),
        ({"radial": torch.nn.Identity()}, TypeError, "radial"),
    ],
)
def test_conv_errors(args, error, match):
    kwargs = {
        "irreps_in": "1x0e",
        "irreps_out": "1x0e",
        "irreps_sh": 1,
        "radial": GaussianRBF(num_basis=4, cutoff=CUTOFF),
        **args,
    }
    with pytest.raises(error, match=match):
        TensorFieldConv(**kwargs)


def test_conv_input_errors(conv64):
    pos = _cloud(3)
    ei = radius_graph(pos, CUTOFF)
    with pytest.raises(ValueError, match="x must have shape"):
        conv64(torch.zeros(3, 2, dtype=torch.float64), pos, ei)
    with pytest.raises(ValueError, match="x must have shape"):
        conv64(torch.zeros(4, IRREPS_IN.dim, dtype=torch.float64), pos, ei)
    with pytest.raises(TypeError, match="x"):
        conv64(torch.zeros(3, IRREPS_IN.dim, dtype=torch.long), pos, ei)


# ---------------------------------------------------------------- the example model


def test_example_readout_scalars_invariant_pseudoscalars_flip(example):
    """Read-out of the parity model: 0e invariant, 0o flips sign under reflection (and is
    non-zero for a chiral piece, so the check cannot pass trivially)."""
    torch.manual_seed(0)
    model = _float64(lambda: example.TFN(parity=True, cutoff=3.5, mul=4))
    chiral = torch.tensor(example.SHAPES["chiral_a"], dtype=torch.float64)

    def readout(pos):
        return model.readout(example.Graphs(pos, torch.zeros(1, dtype=torch.long), 3.5))

    assert_equivariant(readout, "cartesian_points", model.irreps_readout, [chiral])
    # an achiral shape has no pseudoscalar at all
    square = torch.tensor(example.SHAPES["square"], dtype=torch.float64)
    pseudo = readout(square)[:, 4:]
    assert pseudo.abs().max() < 1e-12 * readout(square).abs().max()


def test_example_logits_distinguish_mirror_images_only_with_parity(example):
    torch.manual_seed(0)
    chiral = torch.tensor(example.SHAPES["chiral_a"], dtype=torch.float64)
    mirror = chiral * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    labels = torch.zeros(1, dtype=torch.long)
    for parity in (True, False):
        model = _float64(functools.partial(example.TFN, parity=parity, cutoff=3.5, mul=4))
        with torch.no_grad():
            a = model(example.Graphs(chiral, labels, 3.5))
            b = model(example.Graphs(mirror, labels, 3.5))
        differ = (a - b).abs().max() > tolerance_for(torch.float64) * a.abs().max()
        assert bool(differ) == parity


@pytest.mark.parametrize("name", ["tfn-odd", "schnet", "dimenet"])
def test_example_training_reduces_loss(example, name):
    torch.manual_seed(0)
    graphs = example.tetris(3.5)
    model = example.build(name, 3.5, mul=4)
    losses = example.train(model, graphs, steps=12, lr=1e-2)
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.8 * losses[0]


# ------------------------------------------------------------------------------------------
# hardening (issue 16): dtype mismatch, hidden as an int, vectors whose square overflows
# ------------------------------------------------------------------------------------------


def test_conv_dtype_mismatch_names_the_fix():
    conv = TensorFieldConv("2x0e", "2x0e", 1, GaussianRBF(8, 3.0), hidden=[4])
    pos = torch.randn(3, 3)
    edge_index = torch.tensor([[1, 2, 0, 0], [0, 0, 1, 2]])
    # was an 11-frame e3nn error: "expected m1 and m2 to have the same dtype"
    with pytest.raises(
        TypeError,
        match=r"x is torch\.float64 but the module's parameters are "
        r"torch\.float32: call conv\.to\(torch\.float64\)",
    ):
        conv(torch.randn(3, 2, dtype=torch.float64), pos.double(), edge_index)
    with pytest.raises(TypeError, match=r"pos is torch\.float64"):
        conv(torch.randn(3, 2), pos.double(), edge_index)
    out = conv.double()(torch.randn(3, 2, dtype=torch.float64), pos.double(), edge_index)
    assert out.dtype == torch.float64


def test_conv_hidden_int_is_one_layer():
    radial = GaussianRBF(8, 3.0)
    torch.manual_seed(0)
    a = TensorFieldConv("2x0e", "2x0e + 1x1o", 1, radial, hidden=16)
    torch.manual_seed(0)
    b = TensorFieldConv("2x0e", "2x0e + 1x1o", 1, radial, hidden=[16])
    assert [p.shape for p in a.parameters()] == [p.shape for p in b.parameters()]
    pos = torch.randn(4, 3)
    x = torch.randn(4, 2)
    edge_index = radius_graph(pos, 3.0)
    torch.testing.assert_close(a(x, pos, edge_index), b(x, pos, edge_index))
    with pytest.raises(TypeError, match="hidden must be an int or a sequence of ints"):
        TensorFieldConv("2x0e", "2x0e", 1, radial, hidden=16.0)
    with pytest.raises(ValueError, match="hidden must be >= 1"):
        TensorFieldConv("2x0e", "2x0e", 1, radial, hidden=0)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_embedding_refuses_vectors_whose_square_overflows(dtype, requires_grad):
    embed = EdgeEmbedding(2, BesselRBF(num_basis=6, cutoff=5.0))
    big = torch.finfo(dtype).max ** 0.5  # its square is inf
    vec = torch.tensor([[1.0, 0.0, 0.0], [big, 0.0, 0.0]], dtype=dtype)
    vec.requires_grad_(requires_grad)
    # was NaN radial features (no graph) or "r contains NaN or infinite values" (finite input)
    with pytest.raises(ValueError, match=r"vec entries must be below .* \(their squares overflow"):
        embed(vec)
    below = torch.tensor([[1e3, 2.0, -3.0]], dtype=dtype)  # far beyond the cutoff: zeros
    radial, sh = embed(below)
    assert (radial == 0).all() and torch.isfinite(sh).all()
