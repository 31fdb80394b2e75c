"""Tests of equibasis.testing.strategies: each strategy gives what it promises and shrinks well."""

import json
import math
from importlib import resources

import numpy as np
import pytest
import torch
from e3nn import o3
from hypothesis import find, given, settings
from hypothesis import strategies as st

from equibasis.testing._structures import min_image_distance
from equibasis.testing.strategies import (
    cluster,
    crystals,
    distances,
    features,
    irreps,
    load_molecules,
    molecule_batches,
    molecules,
    orthogonal_matrices,
    point_clouds,
    rotations,
    translations,
    unit_vectors,
)

EYE = torch.eye(3, dtype=torch.float64)


def rotation_angle(R):
    return math.acos(max(-1.0, min(1.0, (float(R.trace()) - 1.0) / 2.0)))


# ------------------------------------------------------------------ rotations, O(3)


@given(R=rotations())
def test_rotations_are_orthogonal_with_det_one(R):
    assert R.dtype == torch.float64 and R.shape == (3, 3)
    assert float((R @ R.T - EYE).abs().max()) < 1e-12
    assert abs(float(torch.linalg.det(R)) - 1.0) < 1e-12


@given(g=orthogonal_matrices())
def test_orthogonal_matrices(g):
    assert float((g @ g.T - EYE).abs().max()) < 1e-12
    assert abs(abs(float(torch.linalg.det(g))) - 1.0) < 1e-12


def test_rotations_dtype_and_device(dtype, device):
    R = find(rotations(dtype=dtype, device=device), lambda R: rotation_angle(R.double().cpu()) > 1)
    assert R.dtype == dtype and R.device.type == device.type
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    assert float((R @ R.T - torch.eye(3, dtype=dtype, device=device)).abs().max()) < tol


def test_rotations_shrink_to_simple_cases():
    assert torch.equal(find(rotations(), lambda R: True), EYE)
    # the simplest non-trivial rotation is a half-turn about a coordinate axis
    R = find(rotations(), lambda R: not torch.equal(R, EYE))
    assert rotation_angle(R) == pytest.approx(math.pi)
    assert set(R.abs().reshape(-1).tolist()) <= {0.0, 1.0}
    # near-identity rotations are drawn on purpose (where small-angle slips hide)
    R = find(rotations(), lambda R: 0 < rotation_angle(R) < 1e-3)
    assert 0 < rotation_angle(R) < 1e-3
    # and the generic, Haar-distributed ones
    find(rotations(), lambda R: 1.0 < rotation_angle(R) < 2.0 and float(R.abs().min()) > 0.1)


@given(R=rotations(max_angle=0.5))
def test_rotations_max_angle(R):
    assert rotation_angle(R) <= 0.5 + 1e-12


def test_rotations_are_roughly_uniform():
    samples = []

    @given(R=rotations())
    @settings(max_examples=300, database=None, derandomize=True)
    def collect(R):
        samples.append(R)

    collect()
    # about a third of the draws are special or near-identity rotations (shrink targets);
    # the rest are Haar, for which P(angle > pi/2) = 1/2 + 1/pi ~ 0.82
    angles = torch.tensor([rotation_angle(R) for R in samples])
    assert float((angles > math.pi / 2).double().mean()) > 0.5
    off_diagonal = torch.stack(samples).mean(0)[~torch.eye(3, dtype=torch.bool)]
    assert float(off_diagonal.abs().max()) < 0.1


def test_orthogonal_matrices_reach_reflections_and_shrink_to_inversion():
    g = find(orthogonal_matrices(), lambda g: torch.linalg.det(g) < 0)
    assert torch.equal(g, -EYE)
    assert torch.equal(find(orthogonal_matrices(), lambda g: True), EYE)


def test_bad_strategy_arguments():
    with pytest.raises(ValueError, match="max_angle"):
        rotations(max_angle=4.0)
    with pytest.raises(TypeError, match="dtype"):
        rotations(dtype=torch.int64)
    with pytest.raises(ValueError, match="max_points must be >= 3"):
        point_clouds(min_points=3, max_points=2)
    with pytest.raises(ValueError, match="do not fit"):
        point_clouds(min_points=20, max_points=20, min_distance=1.0, box=3.0, degenerate=True)
    with pytest.raises(ValueError, match="degenerate must be one of"):
        point_clouds(degenerate="spherical")
    with pytest.raises(ValueError, match="unknown molecules"):
        molecules(names=["H2O", "unobtainium"])
    with pytest.raises(ValueError, match="min_value"):
        distances(1.0, min_value=2.0)


# ------------------------------------------------------------------ vectors, translations


@given(v=unit_vectors(), t=translations(max_abs=3.0), r=distances(5.0, min_value=0.5))
def test_vectors_translations_distances(v, t, r):
    assert abs(float(v.norm()) - 1.0) < 1e-12
    assert float(t.abs().max()) <= 3.0
    assert 0.5 <= float(r) <= 5.0


# ------------------------------------------------------------------ point clouds


@given(pos=point_clouds(min_points=2, max_points=10, min_distance=0.8, box=4.0, degenerate=True))
def test_point_clouds_honour_min_distance_and_box(pos):
    assert pos.shape[1] == 3 and 2 <= pos.shape[0] <= 10
    assert float(torch.pdist(pos).min()) >= 0.8
    assert float(pos.abs().max()) <= 2.0


@pytest.mark.parametrize(("kind", "rank"), [("collinear", 1), ("planar", 2)])
def test_degenerate_point_clouds(kind, rank):
    @given(pos=point_clouds(min_points=3, max_points=8, min_distance=0.5, degenerate=kind))
    @settings(max_examples=20)
    def check(pos):
        s = torch.linalg.svdvals(pos)  # lines/planes through the centre: rank of pos itself
        assert int((s > 1e-9 * s[0]).sum()) <= rank
        assert float(torch.pdist(pos).min()) >= 0.5

    check()


def test_point_clouds_shrink_to_few_points_near_the_origin():
    pos = find(point_clouds(min_distance=1.0, max_points=6), lambda p: p.shape[0] >= 4)
    assert pos.shape == (4, 3)
    assert float(pos.norm(dim=1).max()) <= 2.0 + 1e-12


def test_planted_failure_shrinks_to_a_small_cloud():
    """A 'model' that breaks from 3 atoms on: the falsifying example has exactly 3 atoms."""
    seen = []

    @given(pos=point_clouds(min_points=1, max_points=8))
    @settings(database=None, max_examples=100)
    def test_model(pos):
        seen.append(pos)
        assert pos.shape[0] < 3

    with pytest.raises(AssertionError):
        test_model()
    assert seen[-1].shape[0] == 3


# ------------------------------------------------------------------ molecules


def test_molecule_data_file_states_source_and_licence():
    text = resources.files("equibasis").joinpath("data", "molecules.json").read_text()
    data = json.loads(text)
    assert "Curtiss" in data["source"] and "ase" in data["source"].lower()
    assert "LGPL" in data["licence"]
    assert data["units"] == "angstrom"
    assert len(data["molecules"]) >= 30


def test_loaded_molecules_are_physical():
    mols = load_molecules()
    assert mols[0].name == "H2O"
    assert [len(m.numbers) for m in mols] == sorted(len(m.numbers) for m in mols)
    assert {"CH4", "C6H6", "CH3OH", "C5H5N"} <= {m.name for m in mols}
    for mol in mols:
        d = torch.pdist(mol.positions)
        assert 0.7 < float(d.min()) < 1.6, mol.name  # shortest bond: C-H / O-H / N-H ...
        assert int(mol.numbers.min()) >= 1 and mol.numbers.dtype == torch.int64


REFERENCE = {m.name: m for m in load_molecules()}


@given(mol=molecules(reflections=True))
@settings(max_examples=40)
def test_molecules_are_rigid_motions_of_the_reference(mol):
    ref = REFERENCE[mol.name]
    assert torch.equal(mol.numbers, ref.numbers)
    # all pair distances preserved: a rigid motion (rotation or reflection + translation)
    torch.testing.assert_close(
        torch.pdist(mol.positions), torch.pdist(ref.positions), atol=1e-12, rtol=0
    )


def test_molecules_filters_and_shrinking():
    mol = find(molecules(), lambda m: True)
    assert mol.name == "H2O" and torch.equal(mol.positions, REFERENCE["H2O"].positions)

    @given(mol=molecules(names=["C6H6", "CH4"], max_atoms=5, dtype=torch.float32))
    @settings(max_examples=5)
    def check(mol):
        assert mol.name == "CH4" and mol.positions.dtype == torch.float32

    check()


# ------------------------------------------------------------------ irreps, features


@given(ir=irreps(lmax=3, max_mul=4, max_terms=3))
def test_irreps_bounds(ir):
    assert isinstance(ir, o3.Irreps) and 1 <= len(ir) <= 3
    assert all(mul_ir.ir.l <= 3 and 1 <= mul_ir.mul <= 4 for mul_ir in ir)


def test_irreps_reach_both_parities_and_shrink():
    assert find(irreps(), lambda ir: True) == o3.Irreps("1x0e")
    assert find(irreps(), lambda ir: any(i.ir.p == -1 for i in ir)) == o3.Irreps("1x0o")
    odd = find(irreps(lmax=2), lambda ir: any(i.ir == o3.Irrep("2o") for i in ir))
    assert odd == o3.Irreps("1x2o")
    assert all(i.ir.p == 1 for i in find(irreps(parity=False), lambda ir: ir.lmax == 2))


@given(data=st.data())
def test_features_shape_bounds(data):
    ir = data.draw(irreps())
    x = data.draw(features(ir, shape=(2, 3), max_abs=2.0, dtype=torch.float32))
    assert x.shape == (2, 3, ir.dim) and x.dtype == torch.float32
    assert bool(torch.isfinite(x).all()) and float(x.abs().max()) <= 2.0


@given(x=features(irreps(lmax=1), shape=4))
def test_features_from_an_irreps_strategy(x):
    assert x.shape[0] == 4 and x.shape[1] >= 1


def test_strategy_geometry_is_built_in_float64():
    # the float32 draw is the float64 draw rounded once, not a float32 computation
    R64 = find(rotations(), lambda R: rotation_angle(R) > 2.0)
    R32 = find(rotations(dtype=torch.float32), lambda R: rotation_angle(R.double()) > 2.0)
    assert np.allclose(R32.double().numpy(), R64.numpy(), atol=1e-7)


# -- real sizes, chirality, batches, crystals ------------------------------------------------


def _pseudoscalar(pos, z):
    """sum_i det(u_i, v_i, w_i) of species-weighted neighbour sums: zero iff mirror-symmetric.

    Invariant under rotations, translations and relabelling of atoms, odd under reflections, so
    it vanishes for a molecule that is its own mirror image (up to relabelling) and, for generic
    weights, not for a chiral one.
    """
    r = pos[None, :, :] - pos[:, None, :]
    rho = torch.exp(-(r * r).sum(-1) / 4.0)
    u, v, w = (
        torch.einsum("ij,j,ijc->ic", rho, 1.0 + torch.sin(1.3 * k + 0.37 * z.double()), r)
        for k in range(3)
    )
    total = (u * torch.linalg.cross(v, w, dim=-1)).sum()
    scale = (u.norm(dim=-1) * v.norm(dim=-1) * w.norm(dim=-1)).sum()
    return float(total / scale)


@given(mol=molecules(min_atoms=30, max_atoms=300))
@settings(max_examples=10)
def test_molecules_min_atoms_draws_clusters_of_real_size(mol):
    n = len(mol.numbers)
    assert 30 <= n <= 300 and mol.positions.shape == (n, 3)
    assert mol.name.startswith("cluster of ") and f"({n} atoms" in mol.name
    assert float(torch.pdist(mol.positions).min()) > 0.7  # bonds inside, >= 2 A between


def test_molecules_size_filters():
    assert find(molecules(min_atoms=30), lambda m: True).numbers.shape == (30,)
    big = find(molecules(min_atoms=150, max_atoms=200), lambda m: True)
    assert len(big.numbers) == 150 and big.name.startswith("cluster of ")
    small = find(molecules(min_atoms=12, max_atoms=13), lambda m: True)
    assert 12 <= len(small.numbers) <= 13 and not small.name.startswith("cluster")
    with pytest.raises(ValueError, match="max_atoms"):
        molecules(min_atoms=10, max_atoms=5)
    with pytest.raises(ValueError, match="no molecule is left"):
        molecules(names=["H2O"], min_atoms=30)


def test_cluster_is_deterministic_and_exact():
    a, b = cluster(57, seed=3), cluster(57, seed=3)
    assert a.name == b.name and torch.equal(a.positions, b.positions)
    assert len(a.numbers) == 57 and not torch.equal(a.positions, cluster(57, seed=4).positions)
    assert len(cluster(1).numbers) == 1


@given(mol=molecules(chiral=True, reflections=True))
@settings(max_examples=15)
def test_chiral_strategy_draws_chiral_molecules(mol):
    # the shipped chiral molecules (and their mirror images) are far from mirror-symmetric
    assert abs(_pseudoscalar(mol.positions, mol.numbers)) > 1e-4, mol.name
    assert mol.name in {m.name for m in load_molecules(chiral=True)}


def test_chiral_flags_against_the_pseudoscalar():
    chiral = load_molecules(chiral=True)
    assert len(chiral) == 5 and all(len(m.numbers) <= 15 for m in chiral)
    for mol in chiral:
        p = _pseudoscalar(mol.positions, mol.numbers)
        assert abs(p) > 1e-4, mol.name
        # the mirror image has the opposite sign: it is the other enantiomer
        assert _pseudoscalar(-mol.positions, mol.numbers) == pytest.approx(-p, rel=1e-12)
    for name in ("H2O", "CH4", "C6H6", "CH3OH", "C2H6", "CH3CH2OH"):  # mirror planes
        mol = REFERENCE[name]
        assert abs(_pseudoscalar(mol.positions, mol.numbers)) < 1e-9, name
    assert not {m.name for m in chiral} & {m.name for m in load_molecules(chiral=False)}


@given(b=molecule_batches(min_molecules=2, max_molecules=4))
@settings(max_examples=10)
def test_molecule_batches(b):
    assert 2 <= len(b.names) <= 4
    assert b.batch.tolist() == sorted(b.batch.tolist()) and int(b.batch.max()) == len(b.names) - 1
    for k, name in enumerate(b.names):
        ref = REFERENCE[name]
        pos = b.positions[b.batch == k]
        assert torch.equal(b.numbers[b.batch == k], ref.numbers)
        torch.testing.assert_close(torch.pdist(pos), torch.pdist(ref.positions), atol=1e-12, rtol=0)


@given(c=crystals(min_atoms=1, max_atoms=6, min_distance=1.5, reflections=True))
@settings(max_examples=10)
def test_crystals(c):
    n = len(c.numbers)
    assert 1 <= n <= 6 and c.positions.shape == (n, 3) and c.cell.shape == (3, 3)
    assert abs(float(torch.linalg.det(c.cell))) > 10.0  # a real cell, not flat
    assert min_image_distance(c.positions.numpy(), c.cell.numpy()) >= 1.5 - 1e-9
    lengths = c.cell.norm(dim=1) / (max(1.0, n / 4.0) ** (1 / 3))
    assert bool(((lengths > 3.5 - 1e-9) & (lengths < 6.0 + 1e-9)).all())
