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

from equibasis.testing.strategies import (
    distances,
    features,
    irreps,
    load_molecules,
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
