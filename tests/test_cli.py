"""The ``equibasis`` command: files written, exit codes, one-line errors."""

from pathlib import Path

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


# ------------------------------------------------------------------------------------------
# hardening (issue 16): outputs checked first, Ctrl-C, what cannot be drawn, unknown options
# ------------------------------------------------------------------------------------------


def _one_line_error(capsys, message: str) -> None:
    err = capsys.readouterr().err.strip()
    assert message in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_unwritable_report_folder_fails_before_the_report(tmp_path, monkeypatch, capsys):
    from equibasis import report

    calls = []
    monkeypatch.setattr(report, "build_report", lambda *a, **k: calls.append(a))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["report", "--quick", "--out", str(blocker / "reports")]) == 2
    _one_line_error(capsys, "equibasis report: error: cannot write to")
    assert calls == []  # checked first: no measurement ran


def test_interrupted_report_keeps_the_previous_one_whole(tmp_path, monkeypatch, capsys):
    from equibasis import report

    out = tmp_path / "reports"
    out.mkdir()
    (out / "index.md").write_text("old report\n")
    (out / "radial_gaussian.png").write_bytes(b"old figure")

    def interrupted(folder, **kwargs):
        (folder / "radial_gaussian.png").write_bytes(b"new figure")
        (folder / "angle_paper_vs_code.png").write_bytes(b"new figure")
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "build_report", interrupted)
    assert main(["report", "--out", str(out)]) == 130
    _one_line_error(capsys, "equibasis: interrupted")
    assert sorted(p.name for p in out.iterdir()) == ["index.md", "radial_gaussian.png"]
    assert (out / "index.md").read_text() == "old report\n"
    assert (out / "radial_gaussian.png").read_bytes() == b"old figure"


def test_finished_report_replaces_the_previous_one(tmp_path, monkeypatch, capsys):
    from equibasis import report

    out = tmp_path / "reports"
    out.mkdir()
    (out / "index.md").write_text("old report\n")
    seen = {}

    def finished(folder, **kwargs):
        seen.update(kwargs)
        (folder / "fig.png").write_bytes(b"new figure")
        (folder / "index.html").write_text("<html>new</html>")
        (folder / "index.md").write_text("new report\n")
        return folder / "index.md"

    monkeypatch.setattr(report, "build_report", finished)
    assert main(["report", "--out", str(out), "--seed", "3"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["fig.png", "index.html", "index.md"]
    assert (out / "index.md").read_text() == "new report\n"
    # the page says how to rebuild it with the folder the user named, not the staging one
    assert seen["command"] == f"equibasis report --out {out.as_posix()} --seed 3"
    assert f"wrote {out / 'index.md'}" in capsys.readouterr().out


@pytest.mark.parametrize("where", ["file-parent", "proc"])
def test_unwritable_plot_output_is_refused_before_drawing(tmp_path, monkeypatch, capsys, where):
    from equibasis import plots

    monkeypatch.setattr(plots, "plot_radial_basis", lambda *a, **k: pytest.fail("drew"))
    if where == "proc":
        if not Path("/proc/self").exists():
            pytest.skip("no /proc here")
        target = Path("/proc/equibasis-test.png")
    else:
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        target = blocker / "x.png"
    assert main(["plot", "radial", "-o", str(target)]) == 2
    _one_line_error(capsys, "equibasis plot: error: cannot write to")


@pytest.mark.parametrize("lmax", [11, 30, 1000])
def test_harmonics_too_large_to_draw_is_refused_at_once(tmp_path, capsys, lmax):
    # lmax 1000 tried to allocate 34 GiB; lmax 30 ran for minutes without a word
    out = tmp_path / "h.png"
    assert main(["plot", "harmonics", "--lmax", str(lmax), "-o", str(out)]) == 2
    _one_line_error(capsys, "--lmax must be <= 10 (one 3-D panel per (l, m)")
    assert not out.exists()
    from equibasis.plots import plot_spherical_harmonics

    with pytest.raises(ValueError, match=r"lmax must be <= 10 .* GiB"):
        plot_spherical_harmonics(lmax)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["plot", "--bogus"], "unrecognized arguments: --bogus"),
        (["check", "--bogus", "1"], "unrecognized arguments: --bogus 1"),
    ],
)
def test_unknown_options_are_named(capsys, argv, message):
    assert main(argv) == 2  # was "the following arguments are required"
    _one_line_error(capsys, message)
