"""hypothesis is optional: the checks work without it, the strategies say what to install."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import equibasis

HINT = "pip install 'equibasis[testing]'"


def _without_hypothesis(monkeypatch):
    """Hide hypothesis and re-import equibasis.testing fresh (all restored after the test)."""
    for name in [n for n in sys.modules if n == "hypothesis" or n.startswith("hypothesis.")]:
        monkeypatch.setitem(sys.modules, name, None)  # `import hypothesis...` now fails
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    for name in [n for n in sys.modules if n.startswith("equibasis.testing")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(equibasis, "testing", equibasis.testing)  # the parent's attribute
    return importlib.import_module("equibasis.testing")


def test_checks_import_and_run_without_hypothesis(monkeypatch):
    testing = _without_hypothesis(monkeypatch)
    pos = torch.randn(4, 3, dtype=torch.float64)
    assert testing.assert_invariant(lambda p: torch.pdist(p), pos)
    report = testing.check_model(lambda pos: {"energy": torch.pdist(pos).sum()}, {"pos": pos})
    assert report.ok
    # the structures need no hypothesis: `equibasis check` builds its example from them
    assert len(testing.strategies.cluster(20).numbers) == 20
    assert testing.strategies.load_molecules()[0].name == "H2O"


def test_strategies_say_what_to_install_without_hypothesis(monkeypatch):
    testing = _without_hypothesis(monkeypatch)
    with pytest.raises(ImportError, match=r"rotations needs hypothesis.*equibasis\[testing\]"):
        from equibasis.testing.strategies import rotations  # noqa: F401
    with pytest.raises(ImportError) as info:
        testing.strategies.molecules()
    assert HINT in str(info.value)
    assert info.value.name == "hypothesis"
    with pytest.raises(AttributeError):
        testing.strategies.no_such_strategy  # noqa: B018


@pytest.mark.slow  # a fresh interpreter imports torch and e3nn: ~5 s on 2 shared cores
def test_fresh_interpreter_without_hypothesis():
    code = f"""
import sys
sys.modules["hypothesis"] = None
import torch, equibasis, equibasis.testing
from equibasis.testing import assert_invariant, check_model
from equibasis.testing.strategies import cluster
pos = cluster(8).positions
assert_invariant(lambda p: torch.pdist(p), pos)
assert check_model(lambda pos: {{"energy": torch.pdist(pos).sum()}}, {{"pos": pos}}).ok
assert equibasis.tolerance_for(torch.float64) == 1e-9
try:
    from equibasis.testing.strategies import orthogonal_matrices
except ImportError as err:
    assert {HINT!r} in str(err), err
else:
    raise AssertionError("no ImportError without hypothesis")
"""
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
