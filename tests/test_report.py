"""The comparison report: files, Markdown structure (golden), measurements, HTML rendering."""

import contextlib
import dataclasses
import io
import math
import re
import sys

import pytest

from equibasis import report
from equibasis.cli import main
from equibasis.report import html_page, symmetry

# Headings and table headers of `equibasis report --quick` (structure only, not numbers).
GOLDEN_STRUCTURE = """\
# equibasis comparison report
## Figures
### Gaussian radial basis (SchNet)
### Bessel radial basis (DimeNet)
### Angle basis (m = 0): DimeNet paper vs DimeNet code
### Torsion basis (all m): DIG SphereNet vs degree-consistent
### Real spherical harmonics Y_lm, l = 0..3
## Spherical-harmonic conventions
| convention | reference computed by | max abs difference | note |
## Invariance and equivariance
| basis | inputs | output | Δ rotation | equiv. error rotation | Δ mirror | equiv. error mirror | verdict |
## The torsion basis jumps when the reference neighbour changes
| basis | largest change / largest value |
## Speed against the peers
| task | size | equibasis (ms) | peer | peer (ms) | ratio |
## Model prototype: telling mirror images apart
## Which basis makes the better model"""  # noqa: E501


def _structure(markdown: str) -> str:
    lines = markdown.splitlines()
    keep = []
    for i, line in enumerate(lines):
        if line.startswith("#"):
            keep.append(line)
        elif line.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            keep.append(line)
    return "\n".join(keep)


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    """`equibasis report --quick` once for the whole module (about 15 s on a quiet machine)."""
    out = tmp_path_factory.mktemp("report")
    stderr, stdout = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        code = main(["report", "--quick", "--out", str(out)])
    import matplotlib.pyplot as plt

    plt.close("all")
    return code, out, stderr.getvalue(), stdout.getvalue()


@pytest.mark.slow  # the quick report (the module fixture): ~15 s on 2 loaded cores
def test_quick_report_writes_markdown_html_and_figures(quick_report):
    code, out, _, stdout = quick_report
    assert code == 0 and "index.md" in stdout
    markdown = (out / "index.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(images) >= 5
    for name in images:
        data = (out / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 1000
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(images)  # self-contained
    assert "<table>" in page and "<h2" in page
    links = re.findall(r'<a href="#([^"]+)"', page)  # the contents list
    assert len(links) == 7 and all(f'<h2 id="{link}">' in page for link in links)
    # built in a staging folder and moved into place: nothing of it is left or named
    assert not list(out.glob(".partial*")) and ".partial" not in markdown + page


@pytest.mark.slow
def test_quick_report_structure_is_golden(quick_report):
    _, out, _, _ = quick_report
    assert _structure((out / "index.md").read_text(encoding="utf-8")) == GOLDEN_STRUCTURE


@pytest.mark.slow
def test_quick_report_header_says_how_it_was_made(quick_report):
    _, out, _, _ = quick_report
    head = (out / "index.md").read_text(encoding="utf-8").split("## ")[0]
    assert f"equibasis report --out {out.as_posix()} --quick" in head
    for word in ("torch ", "e3nn ", "git commit", "device:", "dtype:", "seed: 0", "machine:"):
        assert word in head


@pytest.mark.slow
def test_quick_report_shows_progress_on_stderr(quick_report):
    _, _, stderr, _ = quick_report
    assert "equibasis report [" in stderr and "7/7 done" in stderr


@pytest.mark.slow
def test_quick_report_has_no_failed_section(quick_report):
    _, out, _, _ = quick_report
    markdown = (out / "index.md").read_text(encoding="utf-8")
    assert "the measurement failed" not in markdown
    assert "skipped in `--quick` mode" in markdown  # the model prototype


# ----------------------------------------------------------------------------- measurements


def test_conventions_agree_with_every_peer():
    table = report.measure_conventions(lmax=3, num_vectors=40, seed=1)
    assert len(table.rows) >= 5
    for row in table.rows:
        if row.max_abs_diff is not None:
            assert row.max_abs_diff < 1e-12, row
    assert table.to_markdown().startswith("| convention |")


def test_symmetry_verdicts_are_the_documented_ones():
    pytest.importorskip("equibasis.polar")
    table = report.measure_symmetry(num_atoms=5, num_rotations=1, seed=3)
    verdicts = {row.basis: row.verdict for row in table.rows}
    assert verdicts["GaussianRBF"] == symmetry._INVARIANT
    assert verdicts["spherical harmonics"] == symmetry._EQUIVARIANT
    assert verdicts["EdgeEmbedding harmonics"] == symmetry._EQUIVARIANT
    assert verdicts["AngleBasis (m = 0)"] == symmetry._INVARIANT
    assert verdicts["TorsionBasis ('consistent')"] == symmetry._CHIRAL
    assert verdicts["TorsionBasis ('dig')"] == symmetry._CHIRAL
    assert table.ok


def test_symmetry_catches_harmonics_in_the_wrong_order(monkeypatch):
    # negative control through the checker: l = 1 as (x, y, z) instead of e3nn's (y, z, x)
    pytest.importorskip("equibasis.polar")
    harmonics = pytest.importorskip("equibasis.harmonics")
    right = harmonics.spherical_harmonics

    def xyz_order(*args, **kwargs):
        y = right(*args, **kwargs)
        return y[..., [0, 3, 1, 2, *range(4, y.shape[-1])]]

    monkeypatch.setattr(harmonics, "spherical_harmonics", xyz_order)
    table = report.measure_symmetry(num_atoms=5, num_rotations=1, seed=3)
    row = next(r for r in table.rows if r.basis == "spherical harmonics")
    assert row.verdict == symmetry._NEITHER and not table.ok
    assert row.rotation_equivariance > 0.1 and row.mirror_equivariance > 0.1
    assert row.rotation_change > 0.1  # it does move: "changed", but not as D(g) says


def test_classify_negative_controls():
    tol = 1e-9
    assert symmetry._classify(0.0, None, 0.0, None, tol) == symmetry._INVARIANT
    assert symmetry._classify(0.0, None, 0.5, None, tol) == symmetry._CHIRAL
    assert symmetry._classify(0.5, 0.0, 0.5, 0.0, tol) == symmetry._EQUIVARIANT
    # changes under rotation but not as D(R) says: neither
    assert symmetry._classify(0.5, 0.3, 0.5, 0.0, tol) == symmetry._NEITHER
    assert symmetry._classify(0.5, None, 0.5, None, tol) == symmetry._NEITHER
    bad = report.SymmetryRow(
        "f", "x", "y", 0.5, 0.3, 0.5, 0.0, symmetry._NEITHER, symmetry._EQUIVARIANT
    )
    table = report.SymmetryTable((bad,), tol, 1, 4)
    assert not table.ok and "**" in table.to_markdown()


def test_torsion_basis_jumps_but_harmonics_do_not():
    pytest.importorskip("equibasis.polar")
    jump = report.measure_torsion_jump(displacement=1e-7)
    assert abs(jump.torsion_after - jump.torsion_before) == pytest.approx(2 * math.pi / 3, abs=1e-5)
    assert all(v > 0.1 for v in jump.basis_jump.values())
    assert jump.harmonics_jump < 1e-5
    assert "| basis | largest change / largest value |" in jump.to_markdown()


def test_speed_table_markdown_handles_missing_peers():
    rows = (
        report.SpeedRow("a", "10 edges", 2.0, "peer", 4.0),
        report.SpeedRow("b", "10 edges", 2.0, "peer (not installed)", None),
    )
    table = report.SpeedTable(rows, "machine", "torch x", 3, "float32")
    text = table.to_markdown()
    assert rows[0].ratio == 2.0 and rows[1].ratio is None
    assert "| a | 10 edges | 2 | peer | 4 | 2.00 |" in text
    assert "| b | 10 edges | 2 | peer (not installed) | – | – |" in text


def test_metrics_are_frozen():
    row = report.ConventionRow("e3nn", "e3nn", 1e-16)
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.max_abs_diff = 0.0  # type: ignore[misc]


# ----------------------------------------------------------------------------- HTML


def test_markdown_to_html(tmp_path):
    (tmp_path / "f.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    markdown = "\n".join(
        [
            "# Title <x>",
            "",
            "Some `code` and **bold** and a [link](https://example.org).",
            "",
            "| a | b \\| c |",
            "|---|---|",
            "| 1 | <2> |",
            "",
            "```",
            "x < y",
            "```",
            "",
            "- item",
            "",
            "![fig](f.png)",
        ]
    )
    page = report.markdown_to_html(markdown, base=tmp_path, title="T")
    assert '<h1 id="title-x">Title &lt;x&gt;</h1>' in page
    assert "<code>code</code>" in page and "<strong>bold</strong>" in page
    assert '<a href="https://example.org">link</a>' in page
    cells = re.sub(r">\s+<", "><", page)  # the same page without the whitespace between tags
    assert "<th>a</th><th>b | c</th>" in cells and "<td>&lt;2&gt;</td>" in cells
    assert re.search(r"<pre><code>x &lt; y\s*</code></pre>", page)
    assert "<ul><li>item</li></ul>" in cells
    assert 'src="data:image/png;base64,iVBORw0KGgpmYWtl"' in page


def test_contents_links_match_the_heading_ids():
    markdown = "Contents:\n\n- [Model prototype: a, b](#{})\n\n## Model prototype: a, b\n"
    markdown = markdown.format(html_page.anchor("Model prototype: a, b"))
    page = report.markdown_to_html(markdown)
    (href,) = re.findall(r'href="#([^"]+)"', page)
    assert f'<h2 id="{href}">' in page


def test_missing_markdown_or_tqdm_names_the_report_extra(monkeypatch, tmp_path):
    out = tmp_path / "report"
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match=r"equibasis\[report\].*--no-progress"):
        report.build_report(out, quick=True, progress=True)
    monkeypatch.setitem(sys.modules, "markdown", None)
    with pytest.raises(ImportError, match=r"equibasis\[report\]"):
        report.markdown_to_html("# T")
    with pytest.raises(ImportError, match=r"equibasis\[report\]"):
        report.build_report(out, quick=True, progress=False)
    assert not out.exists()  # both fail before any measurement


def test_benchmark_section_reads_the_committed_results(tmp_path):
    import csv

    from equibasis.report import model_benchmark
    from equibasis.report.context import Context

    context = Context(out=tmp_path, quick=True, seed=0)
    with pytest.raises(FileNotFoundError, match="equibasis benchmark --out"):
        model_benchmark.section(context)
    (tmp_path / "benchmark").mkdir()
    rows = [
        {"dataset": "qm9", "model": "schnet", "basis": basis, "seed": seed, "n_train": 100,
         "energy_mae": mae + seed, "forces_mae": "", "train_s": 10.0, "params": 100,
         "angular": "none", "baseline_energy_mae": 900.0, "n_test": 50}
        for basis, mae in (("gaussian-20", 400.0), ("bessel-20", 200.0)) for seed in range(3)
    ]  # fmt: skip
    with open(tmp_path / "benchmark" / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    body = model_benchmark.section(context)
    assert "6 runs, seeds 0, 1, 2" in body and "agrees with DimeNet's ablation" in body
