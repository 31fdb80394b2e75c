"""equibasis.benchmark: names, the grid, a tiny run that writes, resumes and reproduces."""

import csv
import dataclasses
import importlib.util
import sys

import pytest
import torch

from equibasis.benchmark import (
    COLUMNS,
    FAMILIES,
    RunSpec,
    default_grid,
    evaluate,
    make_model,
    make_radial,
    parse_basis,
    parse_model,
    run_benchmark,
    runner,
)
from equibasis.cli import main
from equibasis.datasets import load_qm9

REQUIRED = ("dataset", "model", "basis", "seed", "n_train", "energy_mae", "forces_mae",
            "params", "train_s")  # fmt: skip
TIMES = {"train_s", "epoch_s"}
has_tqdm = importlib.util.find_spec("tqdm") is not None


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """As the benchmark itself (run_grid): tiny tensors run faster on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_names_of_bases_and_models():
    assert parse_basis("gaussian-300") == ("gaussian", 300)
    assert parse_basis("spherical-bessel") == ("spherical-bessel", 20)
    assert parse_basis("spherical-bessel-8") == ("spherical-bessel", 8)
    for bad in ("gauss-5", "gaussian-0", "bessel-x"):
        with pytest.raises(ValueError, match="unknown basis"):
            parse_basis(bad)
    assert parse_model("tfn-l3") == ("tfn", 3) and parse_model("tfn") == ("tfn", 2)
    assert parse_model("spherenet-dig") == ("spherenet", "dig")
    assert parse_model("dimenet++") == ("dimenet++", "paper")
    for bad in ("schnet-x", "tfn-l0", "painn", "dimenet++-foo"):
        with pytest.raises(ValueError, match="unknown model"):
            parse_model(bad)
    for family in FAMILIES:
        basis = make_radial(f"{family}-6", cutoff=4.0)
        assert basis.num_basis == 6 and basis.cutoff == 4.0
        assert basis(torch.rand(5) * 4).reshape(5, -1).shape == (5, 6)


def test_the_grid_varies_one_thing_at_a_time():
    quick = default_grid("qm9", quick=True, seeds=(0, 1))
    assert len({s.basis for s in quick}) >= 3 and {s.seed for s in quick} == {0, 1}
    full = default_grid("qm9")
    keys = [s.key for s in full]
    assert len(keys) == len(set(keys))  # no run twice
    # everything but the model, the basis and the training-set size is shared
    shared = {(s.epochs, s.batch_size, s.lr, s.hidden, s.cutoff, s.n_val, s.n_test) for s in full}
    assert len(shared) == 1
    configs = {(s.model, s.basis, s.n_train) for s in full}
    n = max(s.n_train for s in full)
    assert {b for m, b, k in configs if m == "schnet" and k == n} >= {
        *(f"{f}-20" for f in FAMILIES),
        "gaussian-5",
        "gaussian-50",
        "gaussian-300",
    }
    assert {m for m, b, k in configs if b == "bessel-20"} >= {
        "schnet",
        "dimenet++",
        "spherenet",
        "spherenet-dig",
        "tfn-l1",
        "tfn-l2",
        "tfn-l3",
    }
    assert {k for m, b, k in configs if (m, b) == ("schnet", "gaussian-20")} == {n // 4, n // 2, n}
    assert {s.seed for s in full} == {0, 1, 2}
    products = default_grid("ethanol", models=("schnet", "tfn-l1"), bases=("bessel-8",))
    assert {(s.model, s.basis) for s in products} == {
        ("schnet", "bessel-8"),
        ("tfn-l1", "bessel-8"),
    }
    assert all(s.force_weight > 0 for s in products)
    with pytest.raises(ValueError, match="unknown basis"):
        default_grid("qm9", bases=("fourier",))


def test_run_keys_name_every_setting():
    spec = default_grid("qm9", quick=True)[0]
    assert spec.key == dataclasses.replace(spec).key
    changes = ({"seed": 7}, {"epochs": 3}, {"basis": "bessel-20"}, {"device": "cuda"},
               {"radial_scale": "none"})  # fmt: skip
    for change in changes:
        assert dataclasses.replace(spec, **change).key != spec.key


@pytest.mark.parametrize("name", ["schnet", "dimenet++", "spherenet-dig", "tfn-l1"])
def test_every_model_name_builds_on_every_family(name):
    for family in ("gaussian", "spherical-bessel"):
        model = make_model(name, f"{family}-4", hidden=16, cutoff=3.0)
        assert model.num_radial == 4 and model.cutoff == 3.0


def test_evaluate_of_a_silent_model_is_the_baseline_error():
    data = load_qm9().subset(torch.arange(40))
    model = make_model("schnet", "gaussian-4", hidden=8)
    model.set_reference(torch.zeros(11), scale=0.0)  # predicts exactly 0 for the residual
    residual = torch.linspace(-1.0, 2.0, 40, dtype=torch.float64)
    energy_mae, forces_mae = evaluate(model, data, residual, batch_size=16)
    assert forces_mae is None
    assert energy_mae == pytest.approx(1e3 * float(residual.abs().mean()), rel=1e-6)


def test_a_tiny_benchmark_writes_resumes_and_reproduces(tmp_path, monkeypatch):
    kwargs = dict(
        quick=True, models=["schnet"], bases=["gaussian-4", "bessel-4"], seeds=[0],
        n_train=16, epochs=2, progress=False,
    )  # fmt: skip
    page = run_benchmark(tmp_path, ["qm9", "ethanol"], **kwargs)
    rows = read(tmp_path / "results.csv")
    assert len(rows) == 4 and list(rows[0])[: len(REQUIRED)] == list(REQUIRED)
    assert list(rows[0]) == list(COLUMNS)
    for row in rows:
        assert float(row["energy_mae"]) > 0 and int(row["params"]) > 0
        assert float(row["train_s"]) > 0 and row["threads"] == "1"
        assert (row["forces_mae"] == "") == (row["dataset"] == "qm9")
    assert {(r["dataset"], r["basis"]) for r in rows} == {
        (d, b) for d in ("qm9", "ethanol") for b in ("gaussian-4", "bessel-4")
    }
    text = page.read_text()
    assert text.startswith("# Which basis makes the better model")
    for needle in ("## QM9, embedded subset", "## Ethanol MD", "Composition baseline",
                   "| model | basis | angular | n_train | seeds | energy MAE (meV)",
                   "![learning curves](learning_curves.png)"):  # fmt: skip
        assert needle in text
    for figure in ("learning_curves.png", "mae_vs_num_radial.png", "mae_vs_cost.png"):
        assert (tmp_path / figure).stat().st_size > 1000

    # a rerun with the same arguments trains nothing and keeps every number
    def refuse(*args, **kw):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(runner, "train_run", refuse)
    run_benchmark(tmp_path, ["qm9", "ethanol"], **kwargs)
    assert read(tmp_path / "results.csv") == rows

    # an interrupted grid: the lost run is trained again, with the same numbers (same seed)
    lost = next(tmp_path.glob("runs/*.json"))
    lost.unlink()
    calls = []

    def count(*args, **kw):
        calls.append(args[0])
        return train_run(*args, **kw)

    from equibasis.benchmark.train import train_run

    monkeypatch.setattr(runner, "train_run", count)
    run_benchmark(tmp_path, ["qm9", "ethanol"], **kwargs)
    again = read(tmp_path / "results.csv")
    assert len(calls) == 1 and calls[0].key == lost.stem
    strip = lambda rs: [{k: v for k, v in r.items() if k not in TIMES} for r in rs]  # noqa: E731
    assert strip(again) == strip(rows)


def test_parallel_jobs_give_the_numbers_of_one_process(tmp_path):
    specs = default_grid("qm9", models=("schnet",), bases=("gaussian-4", "bessel-4"),
                         seeds=(0,), n_train=16, epochs=1)  # fmt: skip
    specs[1] = dataclasses.replace(specs[1], radial_scale="none")
    serial = runner.run_grid(specs, tmp_path / "serial", progress=False)
    parallel = runner.run_grid(specs, tmp_path / "parallel", progress=False, jobs=2)
    strip = lambda rs: [{k: v for k, v in r.items() if k not in TIMES} for r in rs]  # noqa: E731
    assert strip(parallel) == strip(serial)
    assert read(tmp_path / "parallel" / "results.csv")[0]["key"] in {s.key for s in specs}
    with pytest.raises(ValueError, match="jobs must be an int >= 1"):
        runner.run_grid(specs, tmp_path / "serial", progress=False, jobs=0)


def test_rms_scale_is_the_published_basis_times_one_number():
    data = load_qm9().subset(torch.arange(64))
    from equibasis.benchmark.train import _training_distances

    dist = _training_distances(data, 5.0)
    assert dist.numel() > 1000 and float(dist.max()) < 5.0
    published = make_model("schnet", "bernstein-8")
    scaled = make_model("schnet", "bernstein-8")
    c = scaled.normalise_radial(dist)
    assert c > 1.0  # Bernstein polynomials are small: RMS 0.05-0.1
    pos = torch.zeros(2 * 50, 3)  # 50 pairs of atoms, 0.5-4.9 Å apart
    pos[1::2, 0] = torch.linspace(0.5, 4.9, 50)
    edges = torch.stack([torch.arange(1, 100, 2), torch.arange(0, 100, 2)])
    plain = published.edge_features(pos, edges)[2]
    normed = scaled.edge_features(pos, edges)[2]
    torch.testing.assert_close(normed, plain * c, rtol=1e-6, atol=0)
    features = scaled.radial(dist) * scaled.envelope(dist).unsqueeze(-1)
    assert float(features.square().mean()) == pytest.approx(1.0, rel=1e-9)


def test_a_torn_run_file_is_run_again(tmp_path):
    spec = RunSpec("qm9", "schnet", "gaussian-4", 0, 8, 4, 8, 1)
    from equibasis.benchmark import ResultStore

    store = ResultStore(tmp_path)
    store.path(spec).write_text('{"spec": ')
    assert not store.has(spec)
    rows = runner.run_grid([spec], tmp_path, progress=False)
    assert store.has(spec) and rows[0]["key"] == spec.key


@pytest.mark.skipif(not has_tqdm, reason="needs tqdm (the 'benchmark' extra)")
def test_cli_benchmark_with_progress_bars(tmp_path, capsys):
    argv = ["benchmark", "--out", str(tmp_path), "--dataset", "qm9", "--models", "schnet"]
    argv += ["--bases", "bernstein-4", "--seeds", "1", "--n-train", "8", "--epochs", "1"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "results.csv" in out and "benchmark" in err  # tqdm writes to stderr
    (row,) = read(tmp_path / "results.csv")
    assert (row["basis"], row["seed"], row["n_train"]) == ("bernstein-4", "1", "8")
    assert "equibasis benchmark --out" in (tmp_path / "benchmark.md").read_text()


def test_cli_benchmark_rejects_bad_names(capsys):
    assert main(["benchmark", "--models", "painn", "--no-progress"]) == 2
    assert "unknown model 'painn'" in capsys.readouterr().err
    assert main(["benchmark", "--bases", "gaussian-0", "--no-progress"]) == 2
    assert main(["benchmark", "--dataset", "md17"]) == 2


def test_missing_tqdm_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match=r"equibasis\[benchmark\].*--no-progress"):
        runner.run_grid([], "unused", progress=True)


@pytest.mark.gpu
def test_a_run_on_cuda_matches_the_cpu_closely():
    data = load_qm9()
    spec = RunSpec("qm9", "schnet", "gaussian-8", 0, 32, 16, 32, 2)
    from equibasis.benchmark.train import train_run

    cpu = train_run(spec, data)
    gpu = train_run(dataclasses.replace(spec, device="cuda"), data)
    assert gpu.params == cpu.params
    assert gpu.energy_mae == pytest.approx(cpu.energy_mae, rel=0.05)


def _rows(dataset, entries, forces=False, spread=0.02):
    """Three seeds per (model, basis, n_train, energy, time): the energy times 1 -/0/+ spread."""
    from equibasis.benchmark.results import _angular

    rows = []
    for model, basis, n_train, energy, seconds in entries:
        for seed, factor in enumerate((1 - spread, 1.0, 1 + spread)):
            rows.append({
                "dataset": dataset, "model": model, "basis": basis, "seed": str(seed),
                "n_train": str(n_train), "energy_mae": str(energy * factor),
                "forces_mae": str(energy * factor / 2) if forces else "",
                "train_s": str(seconds), "params": "100", "angular": _angular(model),
                "baseline_energy_mae": "900.0", "n_test": "50",
            })  # fmt: skip
    return rows


def test_findings_follow_the_numbers():
    from equibasis.benchmark.findings import findings

    entries = [
        ("schnet", "gaussian-20", 100, 400.0, 10.0), ("schnet", "bessel-20", 100, 200.0, 10.0),
        ("schnet", "bernstein-20", 100, 202.0, 10.5), ("schnet", "gaussian-5", 100, 600.0, 9.5),
        ("tfn-l1", "bessel-20", 100, 150.0, 40.0), ("spherenet", "bessel-20", 100, 160.0, 90.0),
        ("schnet", "gaussian-20", 25, 700.0, 3.0),
    ]  # fmt: skip
    text = findings(_rows("ethanol", entries, forces=True))
    assert "Lowest force error: **bessel-20**, 100.0 meV/Å" in text
    assert "Within seed noise of it: bernstein-20." in text  # 1 % apart, 2 % spread
    assert "forces: Bessel by 2.00x (beyond seed noise)" in text
    assert "agrees with DimeNet's ablation" in text
    assert "Training-set size** (schnet / gaussian-20, forces MAE): 25: 350.0, 100: 200.0" in text
    assert "Every configuration beats it" in text
    # equal cost: the 10 s SchNet winner and TFN (better, slower); SphereNet is beaten by TFN
    front = text.split("At equal cost")[1]
    assert "schnet / bessel-20 (100.0 in 10 s); tfn-l1 / bessel-20 (75.0 in 40 s)." in front
    assert "gaussian-5" not in front and "spherenet" not in front  # beaten at <= 1.1x its time


def test_findings_say_when_the_ablation_is_within_noise():
    from equibasis.benchmark.findings import findings

    entries = [
        ("schnet", "gaussian-20", 100, 300.0, 10.0),
        ("schnet", "bessel-20", 100, 298.0, 10.0),
    ]
    text = findings(_rows("qm9", entries, spread=0.1))
    assert "neither confirms nor contradicts DimeNet's ablation (within seed noise)" in text
    assert "forces MAE" not in text  # QM9 has no forces: no forces column
    contra = findings(_rows("qm9", [(m, b, 100, e, 10.0) for m, b, _, e, _ in
                                    [("schnet", "gaussian-20", 0, 100.0, 0),
                                     ("schnet", "bessel-20", 0, 300.0, 0)]]))  # fmt: skip
    assert "contradicts DimeNet's ablation" in contra and "neither" not in contra
