"""equibasis.datasets: the embedded QM9 subset, the qm9pack reader, the MD set, the baseline."""

import ast
import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from equibasis.datasets import (
    CompositionBaseline,
    MolecularDataset,
    load_dataset,
    load_ethanol,
    load_qm9,
    md,
    qm9,
)

DATA = Path(__file__).parent / "data"
HARTREE = 27.211386245988  # eV, CODATA 2018
SYMBOLS = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}
has_qm9pack = importlib.util.find_spec("qm9pack") is not None
has_md = all(importlib.util.find_spec(name) is not None for name in ("ase", "tblite"))
needs_qm9pack = pytest.mark.skipif(not has_qm9pack, reason="needs the 'data' extra (qm9pack)")
needs_md = pytest.mark.skipif(not has_md, reason="needs the 'md' extra (ase, tblite)")


@pytest.fixture(scope="module")
def subset() -> MolecularDataset:
    return load_qm9()


def csv_rows() -> list[dict[str, str]]:
    with open(DATA / "qm9_rows.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------------------------------------
# QM9
# ---------------------------------------------------------------------------------------------


def test_embedded_subset_shapes_units_and_selection_rule(subset):
    assert len(subset) == 4000 and subset.name == "qm9-subset"
    assert subset.units == {"length": "Å", "energy": "eV", "forces": "eV/Å"}
    assert subset.forces is None and not subset.has_forces
    assert subset.z.dtype == torch.int64 and subset.pos.dtype == torch.float64
    assert subset.pos.shape == (subset.num_atoms, 3) and subset.ptr[-1] == subset.num_atoms
    counts = subset.atom_counts
    assert int(counts.min()) >= 3 and int(counts.max()) <= 29  # QM9: 3..29 atoms
    assert set(torch.unique(subset.z).tolist()) == {1, 6, 7, 8, 9}
    ids = subset.ids
    assert bool((ids[1:] > ids[:-1]).all()) and 1 <= int(ids[0]) and int(ids[-1]) <= 133885
    # U0 per molecule: between water-like (-2e3 eV) and nine heavy atoms (-2e4 eV)
    assert float(subset.energy.max()) < -1e3 and float(subset.energy.min()) > -2e4
    # the documented rule: 4000 distinct rows of the 130,831, seed 0, sorted
    rows = qm9.subset_indices()
    assert rows.shape == (4000,) and np.unique(rows).size == 4000 and rows.max() < qm9.QM9_SIZE
    assert Path(qm9._embedded_path()).stat().st_size < 1.5e6


def test_embedded_subset_matches_the_qm9pack_csv_rows(subset):
    rows = csv_rows()
    assert len(rows) == 4
    position = {int(i): k for k, i in enumerate(subset.ids.tolist())}
    for row in rows:
        mol = subset[position[int(row["Index"])]]
        z = [SYMBOLS[s] for s in ast.literal_eval(row["Elements"])]
        xyz = torch.tensor(ast.literal_eval(row["XYZ_Ang"]), dtype=torch.float64)
        assert mol["z"].tolist() == z and int(row["N_atoms"]) == len(z)
        torch.testing.assert_close(mol["pos"], xyz, rtol=0, atol=1e-6)  # float32 storage
        u0 = float(row["InternalEnergy_0K_au"]) * HARTREE
        assert mol["energy"] == pytest.approx(u0, abs=1e-9)


@needs_qm9pack
def test_read_qm9pack_reads_rows_by_index_as_the_csv_says():
    rows = csv_rows()
    ds = qm9.read_qm9pack([int(r["Index"]) for r in rows[:2]])  # the first two files
    assert ds.ids.tolist() == [int(r["Index"]) for r in rows[:2]]
    for k, row in enumerate(rows[:2]):
        xyz = torch.tensor(ast.literal_eval(row["XYZ_Ang"]), dtype=torch.float64)
        torch.testing.assert_close(ds[k]["pos"], xyz, rtol=0, atol=1e-12)
        assert ds[k]["energy"] == float(row["InternalEnergy_0K_au"]) * HARTREE
    with pytest.raises(KeyError, match=r"no molecule with index \[58\]"):
        qm9.read_qm9pack([1, 58])  # 58 is one of the 3,054 molecules QM9 left out


@needs_qm9pack
@pytest.mark.slow
def test_the_embedded_subset_is_rebuilt_byte_for_byte_from_qm9pack(tmp_path):
    out = tmp_path / "subset.npz"
    assert qm9.main(["--out", str(out)]) == 0
    shipped, rebuilt = np.load(qm9._embedded_path()), np.load(out)
    for key in ("index", "counts", "z", "pos", "u0_hartree"):
        np.testing.assert_array_equal(shipped[key], rebuilt[key])


def test_qm9pack_missing_names_the_extra(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(ImportError, match=r"'data' extra.*equibasis\[data\]"):
        qm9.qm9pack_data_dir()


def test_load_dataset_names():
    with pytest.raises(ValueError, match="unknown dataset 'md17'"):
        load_dataset("md17")
    with pytest.raises(ValueError, match="source must be"):
        load_qm9("network")


# ---------------------------------------------------------------------------------------------
# the container
# ---------------------------------------------------------------------------------------------


def test_subset_batch_and_split(subset):
    index = torch.tensor([5, 0, 17])
    part = subset.subset(index)
    assert part.ids.tolist() == subset.ids[index].tolist()
    for k, m in enumerate(index.tolist()):
        torch.testing.assert_close(part[k]["pos"], subset[m]["pos"], rtol=0, atol=0)
    b = subset.batch(index)
    owner = [k for k, m in enumerate(index.tolist()) for _ in range(int(subset.atom_counts[m]))]
    assert b.num_molecules == 3 and b.batch.tolist() == owner
    torch.testing.assert_close(b.pos[b.batch == 1], subset[0]["pos"], rtol=0, atol=0)
    train, val, test = subset.split(100, 50, 200, seed=3)
    ids = [set(d.ids.tolist()) for d in (train, val, test)]
    assert [len(s) for s in ids] == [100, 50, 200]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    # the test set depends on the seed only, not on the training-set size
    assert set(subset.split(10, 50, 200, seed=3)[2].ids.tolist()) == ids[2]
    assert set(subset.split(100, 50, 200, seed=4)[2].ids.tolist()) != ids[2]
    with pytest.raises(ValueError, match="must be <= 4000"):
        subset.split(4000, 1, 0)
    with pytest.raises(IndexError, match="out of range"):
        subset[4000]


def test_container_rejects_inconsistent_arrays():
    with pytest.raises(ValueError, match="ptr must have shape"):
        MolecularDataset(
            "x", torch.ones(3, dtype=torch.int64), torch.zeros(3, 3), torch.tensor([0, 2]),
            torch.zeros(1), None, torch.zeros(1, dtype=torch.int64),
        )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# composition baseline
# ---------------------------------------------------------------------------------------------


def test_composition_fit_recovers_per_element_energies():
    rng = np.random.default_rng(0)
    truth = {1: -13.6, 6: -1030.0, 8: -2040.0}
    numbers = [rng.choice([1, 6, 8], size=rng.integers(2, 9)).tolist() for _ in range(40)]
    energies = [sum(truth[z] for z in n) + rng.normal(0, 1e-3) for n in numbers]
    ds = MolecularDataset.from_molecules(
        "toy", numbers, [np.zeros((len(n), 3)) for n in numbers], energies
    )
    fit = CompositionBaseline.fit(ds)
    assert fit.elements.tolist() == [1, 6, 8]
    np.testing.assert_allclose(fit.atom_energy.numpy(), list(truth.values()), atol=2e-3)
    assert fit.mae(ds) < 2e-3
    assert fit.table(10)[[1, 6, 8, 7]].tolist() == pytest.approx([*truth.values(), 0.0], abs=2e-3)
    with pytest.raises(ValueError, match=r"elements \[9\] were not"):
        fit.predict(MolecularDataset.from_molecules("f", [[9]], [[[0.0] * 3]], [-2700.0]))


def test_composition_fit_of_one_composition_is_the_mean_energy():
    eth = load_ethanol()
    fit = CompositionBaseline.fit(eth)
    torch.testing.assert_close(fit.predict(eth), eth.energy.mean().expand(len(eth)))
    # the baseline on QM9 is far from exact: what every model must beat (hundreds of meV)
    q = load_qm9()
    train, _, test = q.split(2000, 0, 1000)
    assert 0.2 < CompositionBaseline.fit(train).mae(test) < 2.0


# ---------------------------------------------------------------------------------------------
# MD: the shipped ethanol frames
# ---------------------------------------------------------------------------------------------


def test_ethanol_shapes_units_and_physics():
    eth = load_ethanol()
    assert (len(eth), eth.num_atoms, eth.name) == (1000, 9000, "ethanol")
    assert eth[0]["z"].tolist() == [6, 6, 8, 1, 1, 1, 1, 1, 1]
    assert eth.units["energy"] == "eV" and eth.units["forces"] == "eV/Å"
    assert "GFN2-xTB" in eth.source and "500.0 K" in eth.source
    # GFN2-xTB ethanol is about -309.9 eV at its minimum; thermal frames lie above it
    assert -311 < float(eth.energy.min()) and float(eth.energy.max()) < -308
    forces = eth.forces.reshape(1000, 9, 3)
    # the energy is translation invariant, so the forces on each frame sum to zero
    assert float(forces.sum(1).abs().max()) < 1e-4
    assert 0.3 < float(forces.abs().mean()) < 2.0  # eV/Å at 500 K
    # frames are 5 fs apart: bonded neighbours stay bonded (C-O about 1.43 Å)
    co = (eth.pos.reshape(1000, 9, 3)[:, 1] - eth.pos.reshape(1000, 9, 3)[:, 2]).norm(dim=-1)
    assert 1.2 < float(co.min()) and float(co.max()) < 1.7


@needs_md
def test_ethanol_frames_match_a_fresh_gfn2_xtb_calculation():
    eth = load_ethanol()
    for frame in (0, 500, 999):
        mol = eth[frame]
        energy, forces = md.xtb_energy_forces(mol["z"], mol["pos"])
        assert energy == pytest.approx(mol["energy"], abs=1e-4)  # eV
        np.testing.assert_allclose(forces, mol["forces"].numpy(), atol=1e-3)  # eV/Å


@needs_md
def test_generate_md_is_seeded_and_labels_its_own_frames(tmp_path, monkeypatch):
    a = md.generate_md("ethanol", frames=3, stride=2, equilibration=2, seed=5)
    b = md.generate_md("ethanol", frames=3, stride=2, equilibration=2, seed=5)
    np.testing.assert_array_equal(a["pos"], b["pos"])
    np.testing.assert_array_equal(a["energy"], b["energy"])
    energy, forces = md.xtb_energy_forces(a["z"], a["pos"][2])
    assert energy == pytest.approx(a["energy"][2], abs=1e-8)
    # the dynamics restarts each SCC from the previous step's charges: 1e-4 eV/Å apart
    np.testing.assert_allclose(forces, a["forces"][2], atol=5e-4)
    # load_md generates into the cache once, then reads it back
    monkeypatch.setenv("EQUIBASIS_CACHE", str(tmp_path))
    monkeypatch.setattr(md, "generate_md", lambda *args, **kw: a)
    first = md.load_md("ethanol", frames=3, seed=9)
    assert len(first) == 3 and list(tmp_path.glob("*.npz"))
    monkeypatch.setattr(md, "generate_md", lambda *args, **kw: pytest.fail("regenerated"))
    again = md.load_md("ethanol", frames=3, seed=9)
    torch.testing.assert_close(again.forces, first.forces, rtol=0, atol=0)


def test_md_generation_without_the_extra_names_it(monkeypatch):
    monkeypatch.setattr(md, "_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"equibasis\[md\]"):
        md.generate_md(frames=1)


def test_generator_command_dispatch(capsys):
    from equibasis.datasets.__main__ import main

    assert main([]) == 2 and "qm9-subset,md" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["md", "--help"])
    assert exit_.value.code == 0 and "--frames" in capsys.readouterr().out
