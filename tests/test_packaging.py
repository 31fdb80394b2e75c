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
