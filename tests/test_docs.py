"""The Python examples of docs/deploy.md, each run as written (from a file: TorchScript reads
the source of the classes it scripts)."""

import re
import runpy
from pathlib import Path

import pytest

DOC = Path(__file__).parent.parent / "docs" / "deploy.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def _params():
    for k, code in enumerate(BLOCKS):
        slow = "torch.compile(" in code  # an inductor compile: tens of seconds on 2 cores
        yield pytest.param(code, id=f"deploy-{k}", marks=[pytest.mark.slow] if slow else [])


def test_the_doc_has_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("code", list(_params()))
def test_deploy_example_runs(code, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(code)
    runpy.run_path(str(script), run_name="deploy_example")
