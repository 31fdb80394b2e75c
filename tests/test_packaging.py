"""The set-up and CI contract: the default run deselects slow tests, CI runs both (issue 16)."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / ".ci" / "run"


def test_default_run_deselects_slow_tests():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    addopts = config["addopts"]
    assert ["-m", "not slow"] in [addopts[i : i + 2] for i in range(len(addopts) - 1)]
    assert any(m.startswith("slow:") for m in config["markers"])


def test_readme_set_up_says_what_torch_it_installs():
    readme = (ROOT / "README.md").read_text()
    assert "CUDA build" in readme
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in readme
    # the README's test command is the one CI runs
    assert "python3 -m pytest -q -p no:cacheprovider " in readme
    assert "\npython3 -m pytest -q -p no:cacheprovider\n" in CI.read_text()


def _run_ci(tmp_path: Path, default_rc: int, slow_rc: int) -> tuple[int, list[str]]:
    """Run .ci/run with a stand-in python3 that logs its calls and plays pytest's exit codes."""
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "calls.log"
    script = fake / "python3"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        'case "$*" in\n'
        f'  *"pytest"*"-m slow"*) exit {slow_rc} ;;\n'
        f'  *"pytest"*) exit {default_rc} ;;\n'
        "esac\n"
        "exit 0\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", str(CI)], env=env, capture_output=True, timeout=60)
    calls = [line for line in log.read_text().splitlines() if "pytest" in line]
    return done.returncode, calls


@pytest.mark.skipif(shutil.which("bash") is None or sys.platform == "win32", reason="needs bash")
@pytest.mark.parametrize(
    ("default_rc", "slow_rc", "status", "runs"),
    [
        (0, 0, 0, 2),
        (0, 5, 0, 2),  # no test marked slow: pytest's "no tests collected" is not a failure
        (0, 1, 1, 2),  # a slow test failed
        (1, 0, 1, 1),  # the default run failed: CI stops there
    ],
)
def test_ci_runs_the_default_command_then_the_slow_tests(
    tmp_path, default_rc, slow_rc, status, runs
):
    code, calls = _run_ci(tmp_path, default_rc, slow_rc)
    assert code == status
    assert len(calls) == runs
    assert calls[0] == "-m pytest -q -p no:cacheprovider"
    if runs == 2:
        assert calls[1] == "-m pytest -q -p no:cacheprovider -m slow"


_WITHOUT_EXTRAS = r"""
import sys
for name in ("matplotlib", "scipy", "hypothesis", "markdown", "plotly"):
    sys.modules[name] = None  # as if not installed: importing it raises ImportError
import torch
import equibasis
from equibasis import AngleBasis, EdgeEmbedding, SphericalHarmonics, TorsionBasis
from equibasis.radial import RADIAL_FAMILIES, radial_basis
from equibasis.testing import assert_invariant
r = torch.rand(16, dtype=torch.float64) * 4
for family in RADIAL_FAMILIES:
    assert torch.isfinite(radial_basis(family, 6)(r)).all()
vec = torch.randn(16, 3, dtype=torch.float64)
SphericalHarmonics(3)(vec), EdgeEmbedding(2, radial_basis("bessel", 4))(vec)
AngleBasis()(r, r / 2), TorsionBasis()(r, r / 2, r / 3)
assert_invariant(lambda pos: torch.pdist(pos), vec)
try:
    equibasis.plot_radial_basis(radial_basis("gaussian"))
except ImportError as error:
    assert "equibasis[plots]" in str(error), error
else:
    raise AssertionError("plots ran without matplotlib")
try:
    from equibasis.testing.strategies import rotations
    rotations()
except ImportError as error:
    assert "equibasis[testing]" in str(error), error
else:
    raise AssertionError("strategies ran without hypothesis")
print("ok")
"""


def test_bases_and_checks_need_no_extra():
    # the runtime dependencies are torch, e3nn and numpy: everything else names its extra
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


def test_runtime_dependencies_are_torch_e3nn_numpy():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [d.split(">")[0].split("=")[0].split("<")[0].strip() for d in meta["dependencies"]]
    assert names == ["torch", "e3nn", "numpy"]
    extras = meta["optional-dependencies"]
    assert any(d.startswith("hypothesis") for d in extras["testing"])
    assert any(d.startswith("markdown") for d in extras["report"])
    assert any(d.startswith("matplotlib") for d in extras["plots"])


def _module_imports() -> dict[str, set[str]]:
    """Module-level imports between equibasis modules (imports inside functions are lazy)."""
    import ast

    package = ROOT / "equibasis"
    modules = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def test_imports_point_one_way():
    # public API -> implementation -> shared maths -> runtime: no cycle between modules (a
    # package importing its own submodules to re-export them is not one), and the shared
    # layers import no basis family
    graph = _module_imports()
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in graph[name]:
            if target.startswith(name + "."):
                continue
            assert state.get(target) != 1, "import cycle: " + " -> ".join([*path, target])
            if target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])
    shared = ("_runtime", "_validation", "_tracing", "_optional", "special", "cutoff")
    families = ("radial", "harmonics", "polar", "geometry", "tensor_field", "models")
    for name in shared:
        imported = {t.split(".")[1] for t in graph[f"equibasis.{name}"] if t.count(".")}
        assert not imported & set(families), f"equibasis.{name} imports {imported}"
