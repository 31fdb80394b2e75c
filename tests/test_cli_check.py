"""``equibasis check module:attribute``: check_model on a user's model from the command line."""

import pytest

from equibasis.cli import main

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


def test_an_unknown_option_keeps_its_value(capsys):
    # the optional target must not swallow the value of an unknown option
    assert main(["check", "--bogus", "1"]) == 2
    assert "unrecognized arguments: --bogus 1" in capsys.readouterr().err
