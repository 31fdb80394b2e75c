"""equibasis.models: symmetry of energies and forces, forces = -dE/dpos, batching, references."""

import pytest
import torch

from equibasis.geometry import molecular_graph, radius_graph
from equibasis.models import DimeNetPPLike, FlatRadial, SchNetLike, SphereNetLike, TFNLike
from equibasis.polar import AngleBasis, TorsionBasis
from equibasis.radial import BernsteinRBF, BesselRBF, GaussianRBF, SphericalBesselRBF
from equibasis.testing import POINTS, assert_equivariant, assert_invariant, forces_from

CUTOFF = 3.0


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: with 2 threads on a loaded 2-core machine, OpenMP barrier waits made these
    tests 4x slower (81 s against 19 s; the benchmark trains with 1 thread for the same reason)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def molecule(n: int = 7, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A compact, chiral-in-general cloud (atoms >= 0.9 Å apart) and its atomic numbers."""
    g = torch.Generator().manual_seed(seed)
    pos = []
    while len(pos) < n:
        p = torch.randn(3, generator=g, dtype=torch.float64) * 1.1
        if all(float((p - q).norm()) > 0.9 for q in pos):
            pos.append(p)
    z = torch.tensor([6, 8, 1, 7, 1, 6, 1, 1, 9][:n])
    return torch.stack(pos), z


MODELS = {
    "schnet-gaussian": lambda: SchNetLike(GaussianRBF(12, cutoff=CUTOFF), hidden=16),
    "schnet-spherical-bessel": lambda: SchNetLike(
        SphericalBesselRBF(2, 4, cutoff=CUTOFF), hidden=16, num_interactions=2
    ),
    "dimenet++": lambda: DimeNetPPLike(
        BesselRBF(6, cutoff=CUTOFF), AngleBasis(4, 3, CUTOFF), hidden=16, int_emb=8
    ),
    "dimenet++-pyg": lambda: DimeNetPPLike(
        BernsteinRBF(6, cutoff=CUTOFF),
        AngleBasis(3, 3, CUTOFF, variant="pyg"),
        hidden=16,
        int_emb=8,
        num_blocks=2,
    ),
    "spherenet-consistent": lambda: SphereNetLike(
        BesselRBF(6, cutoff=CUTOFF), TorsionBasis(3, 3, CUTOFF), hidden=16, int_emb=8
    ),
    "spherenet-dig": lambda: SphereNetLike(
        BesselRBF(6, cutoff=CUTOFF),
        TorsionBasis(3, 3, CUTOFF, variant="dig"),
        hidden=16,
        int_emb=8,
    ),
    "tfn-l1": lambda: TFNLike(BesselRBF(6, cutoff=CUTOFF), lmax=1, hidden=8, vectors=4),
    "tfn-l3": lambda: TFNLike(
        GaussianRBF(8, cutoff=CUTOFF), lmax=3, hidden=8, vectors=2, num_layers=2
    ),
}
# SphereNet's torsion is counter-clockwise: its energies tell a molecule from its mirror image
PROPER_ONLY = {"spherenet-consistent", "spherenet-dig"}


def build(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return MODELS[name]().double().eval()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_energy_is_invariant_and_forces_equivariant(name):
    model = build(name)
    pos, z = molecule()
    energy = lambda p, zz: model(zz, p)  # noqa: E731
    assert float(energy(pos, z).detach().abs()) > 0  # a real output, not a trivially invariant zero
    parity = name not in PROPER_ONLY
    assert_invariant(energy, pos, z, parity=parity, permutation=True)
    assert_equivariant(
        forces_from(energy), [POINTS, None], "1o", [pos, z], parity=parity, permutation=True
    )


@pytest.mark.parametrize("name", sorted(PROPER_ONLY))
def test_spherenet_energy_changes_under_a_mirror(name):
    model = build(name)
    pos, z = molecule()
    mirrored = pos * torch.tensor([-1.0, 1.0, 1.0], dtype=pos.dtype)
    assert abs(float((model(z, mirrored) - model(z, pos)).detach())) > 1e-6
    with pytest.raises(AssertionError, match="inversion"):
        assert_invariant(lambda p, zz: model(zz, p), pos, z, parity=True)


@pytest.mark.parametrize("name", ["schnet-gaussian", "dimenet++", "tfn-l1"])
def test_forces_are_minus_the_gradient_by_finite_differences(name):
    model = build(name)
    pos, z = molecule(5, seed=1)
    _, forces = model.energy_and_forces(z, pos)
    h = 1e-5
    for atom, axis in [(0, 0), (2, 1), (4, 2)]:
        step = torch.zeros_like(pos)
        step[atom, axis] = h
        slope = (model(z, pos + step) - model(z, pos - step)).detach() / (2 * h)
        assert float(-slope) == pytest.approx(float(forces[atom, axis]), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name", ["schnet-gaussian", "dimenet++", "spherenet-dig", "tfn-l3"])
def test_energies_are_sums_over_molecules_of_a_batch(name):
    model = build(name)
    (p1, z1), (p2, z2) = molecule(5, seed=2), molecule(7, seed=3)
    pos = torch.cat([p1, p2 + 100.0])  # far apart, yet only the batch vector separates them
    batch = torch.tensor([0] * 5 + [1] * 7)
    both = model(torch.cat([z1, z2]), pos, batch)
    torch.testing.assert_close(both, torch.cat([model(z1, p1), model(z2, p2)]))
    _, forces = model.energy_and_forces(torch.cat([z1, z2]), pos, batch)
    torch.testing.assert_close(forces[:5], model.energy_and_forces(z1, p1)[1])


def test_reference_energies_add_per_atom():
    model = build("schnet-gaussian")
    pos, z = molecule()
    learnt = model.interaction_energy(z, pos)
    table = torch.zeros(11, dtype=torch.float64)
    table[[1, 6, 7, 8, 9]] = torch.tensor([-13.6, -1030.0, -1485.0, -2040.0, -2713.0]).double()
    model.set_reference(table, scale=2.0)
    expected = 2.0 * learnt + table[z].sum()
    torch.testing.assert_close(model(z, pos), expected)
    torch.testing.assert_close(model.interaction_energy(z, pos), 2.0 * learnt)


@pytest.mark.parametrize("name", ["schnet-gaussian", "dimenet++", "tfn-l1"])
def test_energy_is_continuous_as_an_atom_leaves_the_cutoff(name):
    model = build(name)
    z = torch.tensor([6, 8])
    at = lambda r: model(z, torch.tensor([[0.0, 0, 0], [r, 0, 0]], dtype=torch.float64))  # noqa: E731
    with torch.no_grad():
        inside, outside, near = at(CUTOFF - 1e-7), at(CUTOFF + 1e-7), at(CUTOFF - 0.5)
    assert abs(float(inside - outside)) < 1e-9
    assert abs(float(near - outside)) > 1e-6  # the pair does interact inside


@pytest.mark.parametrize("cutoff", [1.5, 3.0])
def test_molecular_graph_equals_radius_graph(cutoff):
    (p1, _), (p2, _) = molecule(6, seed=4), molecule(9, seed=5)
    pos, batch = torch.cat([p1, p2]), torch.tensor([0] * 6 + [1] * 9)
    torch.testing.assert_close(
        molecular_graph(pos, batch, cutoff), radius_graph(pos, cutoff, batch), rtol=0, atol=0
    )
    assert molecular_graph(pos[:0], batch[:0], cutoff).shape == (2, 0)
    with pytest.raises(ValueError, match="batch must be sorted"):
        molecular_graph(pos, batch.flip(0), cutoff)


def test_float32_models_run_and_agree_with_float64():
    torch.manual_seed(0)
    model = SchNetLike(GaussianRBF(12, cutoff=CUTOFF), hidden=16).eval()
    pos, z = molecule()
    e32 = model(z, pos.float())
    assert e32.dtype == torch.float32
    torch.testing.assert_close(e32.double(), model.double()(z, pos), rtol=1e-5, atol=1e-5)


def test_bad_arguments_have_clear_errors():
    radial = BesselRBF(6, cutoff=CUTOFF)
    with pytest.raises(ValueError, match="lmax must be an int >= 1"):
        TFNLike(radial, lmax=0)
    with pytest.raises(ValueError, match=r"cutoff \(5.0\) must equal the radial basis' cutoff"):
        DimeNetPPLike(radial, AngleBasis(3, 3, cutoff=5.0))
    with pytest.raises(TypeError, match="radial must be an equibasis radial basis"):
        SchNetLike(torch.nn.Linear(3, 3))
    model = SchNetLike(radial, hidden=8)
    with pytest.raises(ValueError, match=r"atomic numbers must lie in 1\.\.10"):
        model(torch.tensor([6, 17]), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"expected z \(A,\) and pos \(A, 3\)"):
        model(torch.tensor([6]), torch.zeros(2, 3))
    flat = FlatRadial(SphericalBesselRBF(2, 3, cutoff=CUTOFF))
    assert flat(torch.rand(4, 5)).shape == (4, 5, 6) and flat.num_basis == 6
