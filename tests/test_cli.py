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
