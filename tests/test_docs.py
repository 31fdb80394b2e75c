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


_ROOT = Path(__file__).parent.parent
_PAGES = [_ROOT / "README.md", *sorted((_ROOT / "docs").glob("*.md")),
          *sorted((_ROOT / "equibasis").rglob("README.md"))]  # fmt: skip


def _names_in_pages() -> set[str]:
    """Dotted ``equibasis.x.y`` names and ``from equibasis.x import a, b`` in the pages."""
    names = set()
    for page in _PAGES:
        text = page.read_text(encoding="utf-8")
        names.update(re.findall(r"(?<![\w/.])equibasis(?:\.[A-Za-z_]\w*)+", text))
        imports = re.findall(r"from (equibasis[\w.]*) import \(([\w, \n]+)\)", text)
        imports += re.findall(r"from (equibasis[\w.]*) import ([\w, ]+)$", text, flags=re.M)
        for module, imported in imports:
            names.update(f"{module}.{n.strip()}" for n in imported.split(",") if n.strip())
    return names


def test_every_public_name_the_docs_use_imports():
    import importlib

    names = _names_in_pages()
    assert len(names) > 40
    missing = []
    for name in sorted(names):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
                break
            except ImportError:
                continue
        try:
            for part in parts[cut:]:
                obj = getattr(obj, part)
        except AttributeError:
            missing.append(name)
    assert not missing, f"named in README/docs but not importable: {missing}"
