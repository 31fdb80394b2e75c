"""The ``equibasis`` command: files written, exit codes, one-line errors."""

import pytest

from equibasis.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.parametrize(
    "args",
    [
        ["radial", "--basis", "bessel", "--num-basis", "4", "--r-max", "6"],
        ["radial", "--preset", "schnetpack"],
        ["angle", "--num-spherical", "2", "--num-radial", "2", "--variant", "paper", "pyg"],
        ["torsion", "--num-spherical", "2", "--num-radial", "1", "--variant", "consistent"],
        ["harmonics", "--lmax", "1"],
    ],
    ids=["radial", "preset", "angle", "torsion", "harmonics"],
)
def test_plot_writes_a_png(tmp_path, capsys, args):
    out = tmp_path / "sub" / "figure.png"
    assert main(["plot", *args, "-o", str(out), "--dpi", "40"]) == 0
    data = out.read_bytes()
    assert data.startswith(PNG) and len(data) > 1000
    assert f"wrote {out}" in capsys.readouterr().out


def test_plot_interactive_writes_self_contained_html(tmp_path):
    pytest.importorskip("plotly")
    out = tmp_path / "sh.html"
    assert main(["plot", "harmonics", "--lmax", "1", "--interactive", "-o", str(out)]) == 0
    text = out.read_text()
    assert "<html" in text[:200].lower() and "plotly" in text
    assert "cdn.plot.ly" not in text[:2000] and len(text) > 1_000_000  # plotly.js inlined


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plot"], "required"),
        (["plot", "spiral", "-o", "x.png"], "invalid choice: 'spiral'"),
        (["plot", "radial"], "-o/--output"),
        (["plot", "radial", "--num-basis", "0", "-o", "x.png"], "integer >= 1"),
        (["plot", "radial", "--cutoff", "-1", "-o", "x.png"], "number > 0"),
        (["plot", "radial", "-o", "x.txt"], "must end in one of"),
        (["plot", "harmonics", "--interactive", "-o", "x.png"], "must end in one of .html"),
        (["plot", "radial", "--basis", "bessel", "--preset", "dig", "-o", "x.png"], "--preset"),
        (["report", "--seed", "x"], "expected an integer"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert message in err and "error" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_library_rejection_is_a_one_line_error(tmp_path, capsys):
    # a value argparse lets through but the basis rejects (start >= cutoff style): n > num_radial
    out = tmp_path / "t.png"
    assert main(["plot", "torsion", "--num-radial", "1", "--n", "2", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("equibasis: error:") and len(err.splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("argv", [["--help"], ["plot", "--help"], ["report", "--help"]])
def test_help_shows_examples(capsys, argv):
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "usage: equibasis" in out
    assert "examples:" in out and "equibasis plot harmonics --lmax 3 --interactive" in out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("equibasis ")


def test_check_prints_a_table(capsys):
    pytest.importorskip("equibasis.polar")
    code = main(["check", "--atoms", "5", "--rotations", "1"])
    out = capsys.readouterr().out
    assert out.startswith("| basis | inputs | output |")
    assert "spherical harmonics" in out and "TorsionBasis ('dig')" in out
    assert code == (0 if "**" not in out else 1)


USER_MODELS = """
import torch


class PairModel(torch.nn.Module):
    def forward(self, pos, z):
        pos = pos.detach().requires_grad_(True)
        d2 = ((pos[:, None] - pos[None]) ** 2).sum(-1)
        w = 1.0 + 0.1 * z.to(pos.dtype)
        energy = 0.5 * (w[:, None] * w[None] * torch.exp(-d2)).sum()
        forces = -torch.autograd.grad(energy, pos)[0]
        return {"energy": energy.detach(), "forces": forces}


def make_with_example():
    pos = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return PairModel(), {"pos": pos, "z": torch.arange(6)}


def absolute(z, pos):  # a model itself (required arguments), not a factory; args (z, pos)
    return {"energy": (pos * pos).sum() + torch.cdist(pos, pos).sum()}
"""


def test_check_model_from_the_command_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "user_models.py").write_text(USER_MODELS)
    monkeypatch.chdir(tmp_path)  # `module:attribute` is imported from the current folder
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["check", "user_models:PairModel", "--atoms", "12", "--rotations", "1"]) == 0
    out = capsys.readouterr().out
    assert "| energy | 1x0e | rotation |" in out and "| forces | 1x1o | permutation |" in out
    assert "dict example, 12 atoms" in out and "checks passed" in out
    argv = ["check", f"{tmp_path / 'user_models.py'}:make_with_example", "--outputs", "energy=0e"]
    assert main(argv) == 0
    assert "dict example, 6 atoms" in capsys.readouterr().out
    assert main(["check", "user_models:absolute", "--example", "args", "--positions", "1"]) == 1
    captured = capsys.readouterr()
    assert "| energy | 1x0e | translation |" in captured.out and "| NO |" in captured.out
    assert "output 'energy', irrep 1x0e, under translation" in captured.err
    assert "absolute positions" in captured.err


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_colon", "module:attribute"),
        ("no_such_module_xyz:f", "cannot import 'no_such_module_xyz'"),
        ("json:no_such_attribute", "has no attribute 'no_such_attribute'"),
    ],
)
def test_check_model_bad_targets(capsys, target, message):
    assert main(["check", target]) == 2
    assert message in capsys.readouterr().err


def test_check_model_on_a_structure_file(tmp_path, capsys, monkeypatch):
    ase_io = pytest.importorskip("ase.io")
    from ase.build import bulk, molecule

    (tmp_path / "user_models.py").write_text(USER_MODELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    ase_io.write(tmp_path / "ethanol.xyz", molecule("CH3CH2OH"))
    crystal = bulk("Si", "diamond", a=5.43)
    crystal.rattle(0.05, seed=0)
    ase_io.write(tmp_path / "si.extxyz", crystal)
    argv = ["check", "user_models:PairModel", "--rotations", "1", "--structure"]
    assert main([*argv, str(tmp_path / "ethanol.xyz")]) == 0
    assert "dict example, 9 atoms" in capsys.readouterr().out
    # a periodic file gives the example a cell: a model without periodic images is caught
    assert main([*argv, str(tmp_path / "si.extxyz")]) == 1
    captured = capsys.readouterr()
    assert "periodic" in captured.out and "under lattice shift" in captured.err
    assert main([*argv, str(tmp_path / "missing.xyz")]) == 2
    assert "cannot read" in capsys.readouterr().err
