"""The check_model recipes of docs/testing.md run as written (skipped where a library lacks)."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "testing.md"
RECIPE = re.compile(
    r"<!-- recipe: (?P<name>\w+)(?: \(needs (?P<needs>[\w.]+)\))? -->\n```python\n(?P<code>.*?)```",
    re.S,
)
# the real-model recipes that take more than a few seconds on 2 shared cores
SLOW = {"schnet", "dimenet", "e3nn_network"}


def _recipes() -> dict[str, tuple[str | None, str]]:
    return {m["name"]: (m["needs"], m["code"]) for m in RECIPE.finditer(DOC.read_text())}


def test_every_promised_recipe_is_in_the_docs():
    names = set(_recipes())
    assert {"schnet", "dimenet", "e3nn_network", "mace_style", "ase_calculator"} <= names


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=[pytest.mark.slow] if n in SLOW else []) for n in sorted(_recipes())],
)
def test_recipe_runs(name):
    needs, code = _recipes()[name]
    if needs is not None and not _available(needs):
        pytest.skip(f"recipe {name!r} needs {needs}, which is not installed")
    namespace: dict = {"__name__": f"recipe_{name}"}
    exec(compile(code, f"docs/testing.md:{name}", "exec"), namespace)


@pytest.mark.slow  # a fresh interpreter imports torch and e3nn: ~5 s on 2 shared cores
def test_import_needs_neither_torch_geometric_nor_ase():
    code = (
        "import sys, equibasis.testing, equibasis.testing.model_check; "
        "bad = [m for m in ('torch_geometric', 'ase') if m in sys.modules]; "
        "assert not bad, bad"
    )
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
