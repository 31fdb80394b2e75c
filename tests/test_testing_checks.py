"""Tests of equibasis.testing.checks: true symmetries pass, planted bugs are caught and named."""

import importlib.util
import math

import pytest
import torch
from e3nn import o3
from e3nn.math import soft_one_hot_linspace
from e3nn.util.test import assert_equivariant as e3nn_assert_equivariant
from hypothesis import given, settings

from equibasis.testing import (
    POINTS,
    assert_equivariant,
    assert_invariant,
    equivariance_error,
    forces_from,
    tolerance_for,
)
from equibasis.testing.checks import describe_group_element, random_rotation
from equibasis.testing.strategies import molecules, orthogonal_matrices, point_clouds, rotations

pytest_plugins = ["pytester"]

SH_IRREPS = o3.Irreps.spherical_harmonics(4)  # 1x0e + 1x1o + 1x2e + 1x3o + 1x4e


def e3nn_sh(x):
    return o3.spherical_harmonics(SH_IRREPS, x, normalize=True)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def spring_energy(pos, *args):
    """Invariant pair energy, permutation invariant."""
    d = torch.cdist(pos, pos)
    mask = ~torch.eye(pos.shape[0], dtype=torch.bool, device=pos.device)
    return ((d[mask] - 1.0) ** 2).sum()


# ------------------------------------------------------------------ true symmetries pass


@pytest.mark.parametrize("normalization", ["integral", "component", "norm"])
def test_e3nn_spherical_harmonics_pass(normalization, dtype, device):
    def sh(x):
        return o3.spherical_harmonics(SH_IRREPS, x, normalize=True, normalization=normalization)

    results = assert_equivariant(
        sh, "1o", SH_IRREPS, dtype=dtype, device=device, num_points=32, generator=gen()
    )
    assert len(results) == 2  # a rotation and its reflection
    assert [e.irrep for e in results[0].errors] == ["1x0e", "1x1o", "1x2e", "1x3o", "1x4e"]
    # float64 is exact to rounding because D is built with a float64 default dtype
    bound = 1e-12 if dtype == torch.float64 else 1e-5
    assert max(r.max_rel_error for r in results) < bound


def test_wigner_d_is_float64_under_float32_default():
    # PITFALLS: e3nn builds generators in the default dtype; the check must not inherit float32
    assert torch.get_default_dtype() == torch.float32
    result = equivariance_error(e3nn_sh, "1o", SH_IRREPS, dtype=torch.float64, generator=gen(1))
    assert result.max_abs_error < 1e-12
    assert torch.get_default_dtype() == torch.float32  # restored


def test_e3nn_module_irreps_are_inferred():
    module = o3.SphericalHarmonics(SH_IRREPS, normalize=True, irreps_in="1o")
    results = assert_equivariant(module, dtype=torch.float64, no_grad=True, generator=gen())
    assert results[0].errors[-1].irrep == "1x4e"


def test_e3nn_tensor_product_network_float32():
    torch.manual_seed(0)
    tp1 = o3.FullyConnectedTensorProduct("4x0e + 2x1o + 2x2e", "0e + 1o", "4x0e + 4x1o + 2x1e")
    tp2 = o3.FullyConnectedTensorProduct("4x0e + 4x1o + 2x1e", "0e + 1o", "2x0e + 2x1o + 1x0o")

    def net(x, y):
        return tp2(tp1(x, y), y)

    irreps_in = ["4x0e + 2x1o + 2x2e", "0e + 1o"]
    # the 0o output is (x cross y) . y = 0 for every input: flagged, then accepted when told
    with pytest.raises(AssertionError, match=r"irrep 1x0o \(block 2.* is \(numerically\) zero"):
        assert_equivariant(net, irreps_in, tp2.irreps_out, num_points=64, generator=gen())
    results = assert_equivariant(
        net, irreps_in, tp2.irreps_out, num_points=64, allow_zero=True, generator=gen()
    )
    rel = [e.rel_error for r in results for e in r.errors if e.irrep != "1x0o"]
    assert max(rel) < tolerance_for(torch.float32)


def test_simple_invariants_pass(dtype, device):
    pos = torch.randn(7, 3, generator=gen(), dtype=torch.float64).to(device, dtype)
    z = torch.tensor([1, 6, 6, 7, 8, 1, 1], device=device)

    def energy(p, numbers):
        d = torch.cdist(p, p) + torch.eye(p.shape[0], dtype=p.dtype, device=p.device)
        q = numbers.to(p.dtype)
        return (q[:, None] * q[None, :] / d).sum()

    results = assert_invariant(energy, pos, z, permutation=True, ntrials=2, generator=gen(1))
    # 2 rotations, 2 reflections, 2 translations, 2 permutations
    assert len(results) == 8
    assert sum(r.permutation is not None for r in results) == 2
    assert assert_invariant(lambda p: torch.pdist(p), pos, generator=gen(2))


def test_forces_rotate_as_vectors(dtype):
    pos = torch.randn(5, 3, generator=gen(), dtype=torch.float64).to(dtype)
    results = assert_equivariant(
        forces_from(spring_energy), POINTS, "1o", [pos], permutation=True, generator=gen(1)
    )
    assert {e.irrep for r in results for e in r.errors} == {"1x1o"}
    # forces are per atom: under a permutation they are compared permuted, and pass


def test_forces_work_under_no_grad():
    pos = torch.randn(4, 3, generator=gen(), dtype=torch.float64)
    assert_equivariant(forces_from(spring_energy), POINTS, "1o", [pos], no_grad=True)


def test_points_output_and_translation():
    def centroid(pos):
        return pos.mean(dim=0, keepdim=True)

    pos = torch.randn(6, 3, generator=gen(), dtype=torch.float64)
    results = assert_equivariant(centroid, POINTS, POINTS, [pos], generator=gen(1))
    assert any(r.translation is not None for r in results)


@given(mol=molecules(max_atoms=9), g=orthogonal_matrices())
@settings(max_examples=10)
def test_hypothesis_molecules_energy_invariant(mol, g):
    assert_invariant(spring_energy, mol.positions, g=g, translation=False)


@pytest.mark.skipif(
    importlib.util.find_spec("equibasis.radial") is None,
    reason="equibasis.radial does not exist yet (another issue)",
)
@pytest.mark.parametrize("name", ["GaussianRBF", "BesselRBF"])
def test_equibasis_radial_bases_are_invariant(name, dtype, device):
    import equibasis.radial as radial

    basis = getattr(radial, name)(num_basis=8, cutoff=5.0).to(device)
    pos = 1.5 * torch.randn(8, 3, generator=gen(), dtype=torch.float64).to(device, dtype)
    results = assert_invariant(lambda p: basis(torch.pdist(p)), pos, generator=gen(1))
    assert results[0].errors[0].scale > 0.01  # not trivially zero

    def bad(p):  # the same basis on a coordinate difference instead of a distance
        i, j = torch.triu_indices(p.shape[0], p.shape[0], 1, device=p.device)
        return basis((p[i] - p[j])[:, 0].abs())

    with pytest.raises(AssertionError, match=r"invariant \(0e\) is not invariant"):
        assert_invariant(bad, pos, generator=gen(1))


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


@pytest.mark.skipif(
    importlib.util.find_spec("equibasis.harmonics") is None,
    reason="equibasis.harmonics does not exist yet (another issue)",
)
# l = 13 is beyond e3nn's cap of 12; checked in float64 only (e3nn's D costs ~0.3 s per g there)
@pytest.mark.parametrize(
    ("lmax", "dtype"),
    [
        (3, torch.float32),
        (3, torch.float64),
        pytest.param(13, torch.float64, marks=[pytest.mark.slow, OLD_E3NN_D]),  # 8 s
    ],
    ids=["l3-float32", "l3-float64", "l13-float64"],
)
def test_equibasis_harmonics_are_equivariant(lmax, dtype, device):
    from equibasis.harmonics import spherical_harmonics

    irreps = o3.Irreps.spherical_harmonics(lmax)

    def sh(x):
        return spherical_harmonics(irreps, x, normalize=True)

    results = assert_equivariant(sh, "1o", irreps, dtype=dtype, device=device, generator=gen())
    if dtype == torch.float64:
        assert max(r.max_rel_error for r in results) < 1e-10

    def flipped(x):  # planted bug: one sign in one m of the top degree
        y = sh(x).clone()
        y[..., lmax * lmax + 1] = -y[..., lmax * lmax + 1]
        return y

    with pytest.raises(AssertionError, match=rf"irrep 1x{lmax}{'e' if lmax % 2 == 0 else 'o'} "):
        assert_equivariant(flipped, "1o", irreps, dtype=dtype, device=device, generator=gen())


# ------------------------------------------------------------------ planted bugs are caught


@pytest.mark.parametrize(("degree", "m"), [(1, -1), (1, 1), (2, 1), (3, 0), (4, -4)])
def test_mutation_one_wrong_sign_in_one_m(degree, m):
    col = degree * degree + degree + m  # e3nn order within the block: m = -l..l

    def bad(x):
        y = e3nn_sh(x).clone()
        y[..., col] = -y[..., col]
        return y

    irrep = f"1x{degree}{'e' if degree % 2 == 0 else 'o'}"
    with pytest.raises(AssertionError, match=rf"irrep {irrep} .* not equivariant") as info:
        assert_equivariant(bad, "1o", SH_IRREPS, dtype=torch.float64, generator=gen())
    message = str(info.value)
    assert "tolerance" in message and "g = [[" in message
    # only the broken degree is reported as failing
    others = [str(i) for i in SH_IRREPS if str(i) != irrep]
    assert not any(f"irrep {o} (" in message.split("\n  (")[0] for o in others)


def test_mutation_x_instead_of_norm_in_an_invariant():
    def edge_basis(vec, bug):
        r = vec[..., 0] if bug else vec.norm(dim=-1)
        return soft_one_hot_linspace(r, -4.0, 4.0, 8, basis="gaussian", cutoff=False)

    pos = torch.randn(6, 3, generator=gen(), dtype=torch.float64)

    def layer(p, bug=False):
        i, j = torch.triu_indices(p.shape[0], p.shape[0], 1)
        return edge_basis(p[i] - p[j], bug)

    assert_invariant(layer, pos)
    with pytest.raises(AssertionError, match=r"output 0, invariant \(0e\) is not invariant"):
        assert_invariant(lambda p: layer(p, bug=True), pos, generator=gen())
    # the same bug through assert_equivariant names the declared irreps
    vec = torch.randn(10, 3, generator=gen(), dtype=torch.float64)
    assert_equivariant(lambda v: edge_basis(v, False), "1o", "8x0e", [vec])
    with pytest.raises(AssertionError, match=r"irrep 8x0e \(block 0, components 0:8\)"):
        assert_equivariant(lambda v: edge_basis(v, True), "1o", "8x0e", [vec], generator=gen())


def test_mutation_parity_mistake_1e_for_1o():
    wrong = "1x0e + 1x1e + 1x2e + 1x3o + 1x4e"  # l = 1 declared even
    # proper rotations cannot tell 1e from 1o ...
    assert_equivariant(e3nn_sh, "1o", wrong, parity=False, dtype=torch.float64)
    # ... the reflection does, and the message names the irrep and the improper element
    with pytest.raises(AssertionError, match=r"irrep 1x1e \(block 1") as info:
        assert_equivariant(e3nn_sh, "1o", wrong, dtype=torch.float64, generator=gen())
    assert "inversion x rotation" in str(info.value) and "(det -1)" in str(info.value)


def test_mutation_rotation_but_not_reflection_equivariant():
    def cross(a, b):  # a pseudovector (1e) claimed to be a vector (1o)
        return torch.linalg.cross(a, b, dim=-1)

    assert_equivariant(cross, ["1o", "1o"], "1o", parity=False, dtype=torch.float64)
    assert_equivariant(cross, ["1o", "1o"], "1e", dtype=torch.float64)
    with pytest.raises(AssertionError, match=r"irrep 1x1o .* not equivariant") as info:
        assert_equivariant(cross, ["1o", "1o"], "1o", dtype=torch.float64, generator=gen())
    assert "(det -1)" in str(info.value)

    def chiral(pos):  # invariant under rotations only: a triple product
        return torch.linalg.det(pos[:3] - pos[3])

    pos = torch.randn(4, 3, generator=gen(), dtype=torch.float64)
    assert_invariant(chiral, pos, parity=False)
    with pytest.raises(AssertionError, match=r"inversion x rotation .*\n.*invariant \(0e\)"):
        assert_invariant(chiral, pos, generator=gen())


def test_mutation_all_zero_output_is_caught():
    def zero(x):
        return torch.zeros(*x.shape[:-1], SH_IRREPS.dim, dtype=x.dtype)

    x = torch.randn(5, 3, generator=gen())
    e3nn_assert_equivariant(zero, [x], irreps_in=["1o"], irreps_out=[SH_IRREPS])  # e3nn: passes
    with pytest.raises(AssertionError, match=r"irrep 1x0e .* is \(numerically\) zero"):
        assert_equivariant(zero, "1o", SH_IRREPS, [x])
    assert_equivariant(zero, "1o", SH_IRREPS, [x], allow_zero=True)


def test_zero_by_coincidence_is_not_flagged():
    # hypothesis shrinks towards such inputs: two atoms at the spring's rest length, zero features
    pos = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    assert spring_energy(pos) == 0
    assert_invariant(spring_energy, pos)
    assert_equivariant(lambda v: 2.0 * v, "1o", "1o", [torch.zeros(3, 3)])
    # identically zero stays flagged with given inputs too
    with pytest.raises(AssertionError, match=r"invariant \(0e\) is \(numerically\) zero"):
        assert_invariant(lambda p: 0.0 * spring_energy(p), pos)


def test_zero_block_is_named_alone():
    def half_zero(x):
        y = e3nn_sh(x).clone()
        y[..., 4:9] = 0.0  # the l = 2 block vanishes
        return y

    with pytest.raises(AssertionError, match=r"irrep 1x2e .* zero") as info:
        assert_equivariant(half_zero, "1o", SH_IRREPS, dtype=torch.float64)
    assert "1x3o (block" not in str(info.value)


def test_nan_output_fails():
    def nan(x):
        y = e3nn_sh(x).clone()
        y[0, 1] = float("nan")
        return y

    with pytest.raises(AssertionError, match=r"1x1o .* NaN or infinite"):
        assert_equivariant(nan, "1o", SH_IRREPS, dtype=torch.float64)


def test_translation_and_permutation_bugs_are_caught():
    pos = torch.randn(5, 3, generator=gen(), dtype=torch.float64)
    with pytest.raises(AssertionError, match=r"identity \| translation"):
        assert_invariant(lambda p: p.norm(dim=-1).sum(), pos, generator=gen())
    weights = torch.arange(1.0, 6.0, dtype=torch.float64)

    def weighted(p):
        return (weights * (p - p.mean(0)).norm(dim=-1)).sum()

    assert_invariant(weighted, pos)  # fine without permutations
    with pytest.raises(AssertionError, match=r"permutation of atoms \["):
        assert_invariant(weighted, pos, permutation=True, generator=gen())
    # per-atom outputs are compared permuted
    assert_invariant(lambda p: (p - p.mean(0)).norm(dim=-1), pos, permutation=True)


def test_given_group_element_and_tolerance_scaling():
    # a float32 rotation is snapped to the nearest orthogonal matrix before a float64 check
    R = o3.rand_matrix(dtype=torch.float32)
    results = assert_equivariant(e3nn_sh, "1o", SH_IRREPS, g=R, dtype=torch.float64)
    assert len(results) == 1 and results[0].max_abs_error < 1e-12

    # a small error passes in float32 and fails in float64
    def noisy(x):  # a 1e-6 relative non-equivariant perturbation
        return e3nn_sh(x) + 1e-6 * x.norm(dim=-1, keepdim=True) * x[..., :1]

    assert_equivariant(noisy, "1o", SH_IRREPS, dtype=torch.float32, generator=gen())
    with pytest.raises(AssertionError, match=r"atol 1\.0e-09"):
        assert_equivariant(noisy, "1o", SH_IRREPS, dtype=torch.float64, generator=gen())
    # explicit tolerances override the dtype's
    assert_equivariant(noisy, "1o", SH_IRREPS, dtype=torch.float64, atol=1e-4, rtol=1e-4)


def test_equivariance_error_reports_every_block():
    def bad(x):
        y = e3nn_sh(x).clone()
        y[..., 4:9] *= 2.0 * (x[..., :1] > 0)  # breaks l = 2 only
        return y

    R = o3.rand_matrix(dtype=torch.float64)
    result = equivariance_error(bad, "1o", SH_IRREPS, g=R, dtype=torch.float64, num_points=50)
    by_irrep = {e.irrep: e for e in result.errors}
    assert set(by_irrep) == {"1x0e", "1x1o", "1x2e", "1x3o", "1x4e"}
    assert by_irrep["1x2e"].abs_error > 0.1 and by_irrep["1x2e"].rel_error > 0.1
    assert max(e.abs_error for k, e in by_irrep.items() if k != "1x2e") < 1e-12
    assert by_irrep["1x2e"].components == (4, 9)
    assert result.g is not None and torch.equal(result.g, R)


def test_describe_group_element():
    assert describe_group_element(torch.eye(3)).startswith("identity")
    half_turn = torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))
    text = describe_group_element(half_turn)
    assert "rotation by 3.1416 rad (180.0 deg) about (+1.0000, +0.0000, +0.0000)" in text
    c, s = math.cos(0.3), math.sin(0.3)
    Rz = torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    assert "0.3000 rad" in describe_group_element(-Rz) and "det -1" in describe_group_element(-Rz)


def test_bad_arguments():
    x = torch.randn(3, 3)
    with pytest.raises(ValueError, match=r"irreps_in\[0\] must be e3nn irreps"):
        assert_equivariant(e3nn_sh, "nonsense", SH_IRREPS)
    with pytest.raises(ValueError, match="2 entries but 1 inputs"):
        assert_equivariant(e3nn_sh, ["1o", "1o"], SH_IRREPS, [x])
    with pytest.raises(ValueError, match="g must be orthogonal"):
        assert_equivariant(e3nn_sh, "1o", SH_IRREPS, g=2 * torch.eye(3))
    with pytest.raises(ValueError, match=r"output 0 must have shape \(\.\.\., 9\)"):
        assert_equivariant(e3nn_sh, "1o", o3.Irreps.spherical_harmonics(2))
    with pytest.raises(ValueError, match=r"input 0 must have shape \(\.\.\., 3\)"):
        assert_equivariant(e3nn_sh, "1o", SH_IRREPS, [torch.randn(3, 4)])
    with pytest.raises(ValueError, match="cannot be sampled"):
        assert_equivariant(e3nn_sh, [None], SH_IRREPS)
    with pytest.raises(ValueError, match="has no attribute irreps_in"):
        assert_equivariant(e3nn_sh)
    with pytest.raises(TypeError, match="must return a tensor"):
        assert_equivariant(lambda v: "no", "1o", "0e")
    with pytest.raises(ValueError, match="1 output"):
        assert_equivariant(e3nn_sh, "1o", [SH_IRREPS, SH_IRREPS])
    with pytest.raises(TypeError, match="dtype must be one of"):
        tolerance_for(torch.int64)
    with pytest.raises(ValueError, match=r"pos must have shape \(\.\.\., 3\)"):
        assert_invariant(torch.sum, torch.randn(4, 2))
    with pytest.raises(ValueError, match="permutation of range"):
        assert_invariant(torch.sum, x, permutation=torch.tensor([0, 0, 1]))


# ------------------------------------------------------------------ hypothesis and the plugin


def test_hypothesis_shrinks_a_reflection_bug_to_the_inversion():
    def cross(a, b):
        return torch.linalg.cross(a, b, dim=-1)

    seen = []
    ab = torch.randn(2, 4, 3, generator=gen(), dtype=torch.float64)

    @given(g=orthogonal_matrices())
    @settings(max_examples=50, database=None)
    def test_cross_is_a_vector(g):
        seen.append(g)
        assert_equivariant(cross, ["1o", "1o"], "1o", [ab[0], ab[1]], g=g)

    with pytest.raises(AssertionError, match=r"irrep 1x1o"):
        test_cross_is_a_vector()
    # hypothesis replays the minimal failing example last: the inversion itself
    assert torch.equal(seen[-1], -torch.eye(3, dtype=torch.float64))


def test_hypothesis_shrinks_a_sign_bug_to_a_simple_rotation():
    def bad(x):
        y = e3nn_sh(x).clone()
        y[..., 5] = -y[..., 5]  # l = 2, m = -1
        return y

    x = torch.randn(4, 3, generator=gen(), dtype=torch.float64)
    seen = []

    @given(R=rotations())
    @settings(max_examples=50, database=None)
    def test_bad_sh(R):
        seen.append(R)
        assert_equivariant(bad, "1o", SH_IRREPS, [x], g=R)

    with pytest.raises(AssertionError, match=r"irrep 1x2e"):
        test_bad_sh()
    R = seen[-1]
    # shrunk to a special rotation (a half or quarter turn about a coordinate axis: entries in
    # {0, +-1, +-sqrt(1/2)}) or to a near-identity one (angle below 1e-3 rad)
    entries = {round(abs(float(v)), 6) for v in R.reshape(-1)}
    angle = math.acos(max(-1.0, min(1.0, (float(R.trace()) - 1) / 2)))
    assert entries <= {0.0, 1.0, round(math.sqrt(0.5), 6)} or 0 < angle <= 1e-3, R


def test_worked_example_from_the_docs():
    # docs/testing.md: five lines
    from equibasis.testing import assert_invariant as check

    @given(pos=point_clouds(min_points=2, max_points=6), R=rotations())
    @settings(max_examples=10)
    def test_my_model(pos, R):
        check(spring_energy, pos, g=R)

    test_my_model()


PLUGIN_TEST = """
import torch
from hypothesis import given, settings
from equibasis.testing import assert_equivariant
from equibasis.testing.strategies import rotations
from e3nn import o3

@given(R=rotations())
@settings(max_examples=3)
def test_sh(R, device, dtype, tolerance):
    x = torch.randn(5, 3, device=device, dtype=dtype)
    sh = lambda v: o3.spherical_harmonics("0e + 1o + 2e", v, True)
    assert_equivariant(sh, "1o", "0e + 1o + 2e", [x], g=R, atol=tolerance)

@given(R=rotations())
@settings(max_examples=3)
def test_sh_parity_bug(R, device):
    x = torch.randn(5, 3, device=device)
    sh = lambda v: o3.spherical_harmonics("0e + 1o + 2e", v, True)
    assert_equivariant(sh, "1o", "0e + 1e + 2e", [x], g=-R)

@pytest.mark.gpu
def test_marker_registered():
    pass
"""


def test_pytest_plugin(pytester):
    pytester.makeconftest('pytest_plugins = ["equibasis.testing.pytest_plugin"]')
    pytester.makepyfile("import pytest\n" + PLUGIN_TEST)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--strict-markers", "-rs")
    cuda = torch.cuda.is_available()
    # test_sh: 2 devices x 2 dtypes; the parity bug fails on every available device
    result.assert_outcomes(
        passed=(4 if cuda else 2) + 1,
        failed=2 if cuda else 1,
        skipped=0 if cuda else 3,
    )
    result.stdout.fnmatch_lines(["*irrep 1x1e (block 1*"])
    if not cuda:
        result.stdout.fnmatch_lines(["*needs CUDA*"])


def test_wigner_d_is_exact_to_rounding_for_every_rotation():
    # e3nn's D_from_matrix is off by up to 2e-10 for ~1% of Haar rotations (torch.linalg.
    # matrix_exp at small angles, acos near the poles); the checks' own D is not
    from equibasis.testing._group import _WignerCache

    gen = torch.Generator().manual_seed(0)
    cpu = torch.device("cpu")
    worst_vector = worst_product = 0.0
    for i in range(150):
        g = random_rotation(gen) * (-1.0 if i % 2 else 1.0)
        h = random_rotation(gen)
        d1 = _WignerCache(g)(o3.Irrep("1o"), cpu)
        worst_vector = max(worst_vector, float((d1 - g).abs().max()))  # 1o in e3nn is (x, y, z)
        for ir in (o3.Irrep("2e"), o3.Irrep("3o")):
            dgh = _WignerCache(g @ h)(ir, cpu)
            product = _WignerCache(g)(ir, cpu) @ _WignerCache(h)(ir, cpu)
            worst_product = max(worst_product, float((dgh - product).abs().max()))
    assert worst_vector < 1e-14 and worst_product < 1e-13
    # the rotation by 0.047 rad about x where torch's matrix_exp loses 1.9e-10
    t = 0.0471238898038469
    rx = torch.tensor(
        [[1, 0, 0], [0, math.cos(t), -math.sin(t)], [0, math.sin(t), math.cos(t)]],
        dtype=torch.float64,
    )
    assert float((_WignerCache(rx)(o3.Irrep("1o"), cpu) - rx).abs().max()) < 1e-14
