"""Figures: the right number of curves / panels / surfaces, and the drawn data are the basis.

The plotted values are read back from the artists (Line2D data, QuadMesh arrays, the 3-D
surface vertices, plotly traces) and compared with the basis evaluated at the plotted
coordinates, or with scipy where an independent oracle exists (the harmonics, and the angular
dependence of each torsion panel).
"""

import math
import re
import sys

import matplotlib
import numpy as np
import pytest
import torch
from scipy.special import sph_harm_y

from equibasis import plots
from equibasis.plots.polar import _torsion_column

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _real_ylm(l: int, m: int, xyz: np.ndarray) -> np.ndarray:
    """Standard real Y_lm from scipy's complex ones (independent of equibasis)."""
    r = np.linalg.norm(xyz, axis=-1)
    theta = np.arccos(np.clip(xyz[..., 2] / r, -1, 1))
    phi = np.arctan2(xyz[..., 1], xyz[..., 0])
    y = sph_harm_y(l, abs(m), theta, phi)
    if m == 0:
        return y.real
    return math.sqrt(2) * (-1) ** m * (y.real if m > 0 else y.imag)


def _curves(fig):
    return [line for line in fig.axes[0].lines if (line.get_gid() or "").startswith("basis-")]


def _meshes(fig):
    return [c for ax in fig.axes for c in ax.collections if c.get_gid() == "basis-map"]


# ----------------------------------------------------------------------------- radial


def _radial_cases():
    radial = pytest.importorskip("equibasis.radial")
    return [
        radial.GaussianRBF(num_basis=5, cutoff=3.0),
        radial.GaussianRBF(num_basis=24, cutoff=5.0),
        radial.BesselRBF(num_basis=4, cutoff=5.0),
    ]


@pytest.mark.parametrize("case", [0, 1, 2])
def test_radial_curves_are_the_basis(case):
    basis = _radial_cases()[case]
    fig = plots.plot_radial_basis(basis, r_max=basis.cutoff + 1.0, num_points=101)
    curves = _curves(fig)
    assert len(curves) == basis.num_basis
    r = torch.as_tensor(curves[0].get_xdata(), dtype=torch.float64)
    assert r[0] == 0.0 and r[-1] == pytest.approx(basis.cutoff + 1.0)
    expected = basis(r).detach().numpy()
    for k, line in enumerate(curves):
        assert line.get_gid() == f"basis-{k + 1}"
        np.testing.assert_allclose(line.get_ydata(), expected[:, k], rtol=0, atol=1e-12)
    ax = fig.axes[0]
    assert "Å" in ax.get_xlabel()
    assert type(basis).__name__ in ax.get_title()
    assert [line.get_gid() for line in ax.lines].count("cutoff") == 1
    # up to 10 curves: a legend; more: a colour bar axes
    if basis.num_basis <= 10:
        assert ax.get_legend() is not None and len(fig.axes) == 1
    else:
        assert ax.get_legend() is None and len(fig.axes) == 2


def test_radial_two_dimensional_output_and_given_axes():
    class TwoD(torch.nn.Module):  # (P,) -> (P, 2, 3), like SphericalBesselRBF
        cutoff = 2.0

        def forward(self, r):
            k = torch.arange(6, dtype=r.dtype).reshape(2, 3)
            return torch.cos(r[..., None, None] * (k + 1))

    fig0, ax = plt.subplots()
    fig = plots.plot_radial_basis(TwoD(), ax=ax, num_points=11)
    assert fig is fig0
    curves = _curves(fig)
    assert [c.get_label() for c in curves][:2] == ["l=0, n=1", "l=0, n=2"]
    np.testing.assert_allclose(curves[4].get_ydata(), np.cos(curves[4].get_xdata() * 5))


def test_radial_rejects_bad_ranges():
    class One(torch.nn.Module):
        def forward(self, r):
            return r[..., None]

    with pytest.raises(ValueError, match="r_max"):
        plots.plot_radial_basis(One(), r_max=1.0, r_min=2.0)
    with pytest.raises(ValueError, match="num_points"):
        plots.plot_radial_basis(One(), r_max=1.0, num_points=1)
    with pytest.raises(ValueError, match="output has shape"):
        plots.plot_radial_basis(
            type("Flat", (torch.nn.Module,), {"forward": lambda s, r: r})(), r_max=1.0
        )


def test_plots_leave_rcparams_alone():
    before = dict(matplotlib.rcParams)
    plots.plot_spherical_harmonics(1, resolution=6)
    assert dict(matplotlib.rcParams) == before


# ----------------------------------------------------------------------------- angle


def _panel_index(ax, pattern):
    return tuple(int(v) for v in re.match(pattern, ax.get_title()).groups())


@pytest.mark.parametrize(("variant", "n", "l"), [("dig", None, None), ("pyg", [2], [0, 2])])
def test_angle_panels_are_the_basis(variant, n, l):
    polar = pytest.importorskip("equibasis.polar")
    basis = polar.AngleBasis(num_spherical=3, num_radial=2, cutoff=4.0, variant=variant)
    fig = plots.plot_angle_basis(basis, n=n, l=l, num_dist=6, num_angle=5)
    meshes = _meshes(fig)
    assert len(meshes) == (len(n) if n else 2) * (len(l) if l else 3)
    for mesh in meshes:
        ni, li = _panel_index(mesh.axes, r"n=(\d+), l=(\d+)")
        coords = mesh.get_coordinates()  # (num_dist, 2 * num_angle - 1, 2) as (theta, d)
        values = np.asarray(mesh.get_array()).reshape(coords.shape[:2])
        theta, dist = coords[..., 0], coords[..., 1]
        angle = np.where(theta <= math.pi, theta, 2 * math.pi - theta)  # the mirrored half
        out = basis(torch.as_tensor(dist.ravel()), torch.as_tensor(angle.ravel()))
        expected = out[:, li * 2 + ni - 1].detach().numpy().reshape(values.shape)
        np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-12)
        assert coords.shape[:2] == (6, 9)
    assert fig.get_suptitle()


def test_angle_paper_vs_code_shows_the_changed_first_row():
    pytest.importorskip("equibasis.polar")
    fig = plots.plot_angle_variants(3, 2, 5.0, ("paper", "pyg"), num_dist=8, num_angle=5)
    meshes = _meshes(fig)
    assert len(meshes) == 2 * 3 * 2
    paper, code = meshes[:6], meshes[6:]

    def peak(mesh):
        return float(np.abs(mesh.get_array()).max())

    # l = 0 panels: the code form diverges like 1/d; the paper form stays finite
    for p, c in zip(paper, code, strict=True):
        n, l = _panel_index(p.axes, r"n=(\d+), l=(\d+)")
        assert _panel_index(c.axes, r"n=(\d+), l=(\d+)") == (n, l)
        if l == 0:
            assert peak(c) > 10 * peak(p)
    assert "paper" in fig.get_suptitle() and "pyg" in fig.get_suptitle()
    # one colour bar per block
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 2


def test_angle_rejects_out_of_range_indices():
    polar = pytest.importorskip("equibasis.polar")
    basis = polar.AngleBasis(num_spherical=2, num_radial=2, cutoff=5.0, variant="dig")
    with pytest.raises(ValueError, match="n must be < 3"):
        plots.plot_angle_basis(basis, n=[3])
    with pytest.raises(ValueError, match="l must be >= 0"):
        plots.plot_angle_basis(basis, l=[-1])


# ----------------------------------------------------------------------------- torsion


@pytest.mark.parametrize("variant", ["dig", "consistent"])
def test_torsion_panels_have_the_angular_dependence_of_their_ylm(variant):
    polar = pytest.importorskip("equibasis.polar")
    num_spherical, num_radial, theta = 3, 2, 1.0
    basis = polar.TorsionBasis(num_spherical, num_radial, 5.0, variant=variant)
    fig = plots.plot_torsion_basis(basis, n=2, theta=theta, num_dist=5, num_phi=13)
    meshes = _meshes(fig)
    assert len(meshes) == num_spherical**2
    for mesh in meshes:
        l, m = _panel_index(mesh.axes, r"l=(\d+), m=(-?\d+)")
        coords = mesh.get_coordinates()
        values = np.asarray(mesh.get_array()).reshape(coords.shape[:2])
        phi, dist = coords[..., 0], coords[..., 1]
        # the basis itself at the plotted coordinates
        out = basis(
            torch.as_tensor(dist.ravel()),
            torch.full((dist.size,), theta, dtype=torch.float64),
            torch.as_tensor(phi.ravel()),
        )
        column = _torsion_column(basis, l, m, 2)
        np.testing.assert_allclose(values.ravel(), out[:, column].detach().numpy(), atol=1e-12)
        # independent oracle for the (l, m) label: along phi the panel is proportional to
        # scipy's real Y_lm(theta, phi), i.e. values = a(d) (outer) y(phi)
        xyz = np.stack(
            [
                np.sin(theta) * np.cos(phi[0]),
                np.sin(theta) * np.sin(phi[0]),
                np.full_like(phi[0], np.cos(theta)),
            ],
            -1,
        )
        y = _real_ylm(l, m, xyz)
        a = values @ y / (y @ y)
        np.testing.assert_allclose(
            values, np.outer(a, y), atol=1e-10 * max(1.0, np.abs(values).max())
        )
        assert np.abs(a).max() > 0


def test_torsion_variants_side_by_side():
    pytest.importorskip("equibasis.polar")
    fig = plots.plot_torsion_variants(2, 2, 5.0, num_dist=4, num_phi=7)
    assert len(_meshes(fig)) == 2 * 4
    assert "dig" in fig.get_suptitle() and "consistent" in fig.get_suptitle()


@pytest.mark.parametrize(
    ("variant", "orders", "l1_m_minus1_n2"),
    [
        # DIG lists degree 2 as m = 0, 1, 2, -2, -1 after the 1 + 3 functions of l = 0, 1
        ("dig", (0, 1, 2, -2, -1), (1 + 2) * 3 + 1),
        ("consistent", (-2, -1, 0, 1, 2), (1 + 0) * 3 + 1),  # standard order m = -l..l
    ],
)
def test_torsion_column_layouts(variant, orders, l1_m_minus1_n2):
    class Fake:
        num_radial = 3

    Fake.variant = variant
    assert [_torsion_column(Fake(), 2, m, 1) for m in orders] == [12, 15, 18, 21, 24]
    assert _torsion_column(Fake(), 1, -1, 2) == l1_m_minus1_n2


# ----------------------------------------------------------------------------- harmonics


@pytest.mark.parametrize("lmax", [0, 2])
def test_harmonic_surfaces_have_radius_abs_ylm(lmax):
    fig = plots.plot_spherical_harmonics(lmax, resolution=8)
    surfaces = [
        c for ax in fig.axes for c in ax.collections if (c.get_gid() or "").startswith("Y-")
    ]
    assert len(surfaces) == (lmax + 1) ** 2
    assert len([ax for ax in fig.axes if ax.name == "3d"]) == (lmax + 1) ** 2
    for surface in surfaces:
        _, l, m = surface.get_gid().split("-", 2)
        l, m = int(l), int(m)
        vertices = np.asarray(surface._faces).reshape(-1, 3)  # 3-D corners of every face
        radius = np.linalg.norm(vertices, axis=-1)
        keep = radius > 1e-6
        expected = np.abs(_real_ylm(l, m, vertices[keep]))
        np.testing.assert_allclose(radius[keep], expected, atol=1e-12)
        # both signs are coloured apart for l >= 1
        colours = {tuple(np.round(c[:3], 2)) for c in surface.get_facecolor()}
        assert len(colours) >= (2 if l > 0 else 1)
    assert fig.legends and "sign" in fig.get_suptitle()


def test_interactive_harmonics(tmp_path):
    pytest.importorskip("plotly")
    fig = plots.plot_spherical_harmonics(2, interactive=True, resolution=6)
    surfaces = [t for t in fig.data if t.type == "surface"]
    assert len(surfaces) == 9
    trace = surfaces[4]  # l = 2, m = -2 (order l, then m = -l..l)
    assert trace.name == "Y(2,-2)"
    x, y, z = (np.asarray(v, dtype=float) for v in (trace.x, trace.y, trace.z))
    colour = np.asarray(trace.surfacecolor, dtype=float)
    radius = np.sqrt(x**2 + y**2 + z**2)
    np.testing.assert_allclose(radius, np.abs(colour), atol=1e-12)
    keep = radius > 1e-6
    points = np.stack([x, y, z], -1)[keep]
    np.testing.assert_allclose(colour[keep], _real_ylm(2, -2, points), atol=1e-12)
    path = tmp_path / "sh.html"
    fig.write_html(path, include_plotlyjs=True)
    text = path.read_text()
    assert len(text) > 100_000 and "<html>" in text


def test_interactive_without_plotly_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(ImportError, match=r"equibasis\[interactive\]"):
        plots.plot_spherical_harmonics(1, interactive=True, resolution=4)


def test_harmonics_rejects_negative_lmax():
    with pytest.raises(ValueError, match="lmax"):
        plots.plot_spherical_harmonics(-1)
