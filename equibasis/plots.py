"""Figures of the bases: radial curves, DimeNet-style polar maps, spherical-harmonic surfaces.

Every function evaluates the basis it is given (through its public ``forward``) on a grid, draws
it with matplotlib and returns the :class:`matplotlib.figure.Figure` (or, for the interactive
harmonics, a plotly figure). Nothing here calls ``plt.show()`` or touches the global ``rcParams``;
matplotlib and plotly are imported inside the functions, so ``import equibasis.plots`` is cheap.

Artists carry a ``gid`` so the data can be read back (tests do): radial curves are
``"basis-<k>"``, polar panels are ``QuadMesh`` objects with gid ``"basis-map"``, harmonic surfaces
``"Y-<l>-<m>"``.

Example:
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import torch
    >>> class Hat(torch.nn.Module):  # any module mapping r (...,) to (..., num_basis)
    ...     num_basis, cutoff = 3, 2.0
    ...     def forward(self, r):
    ...         centres = torch.tensor([0.0, 1.0, 2.0], dtype=r.dtype)
    ...         return (1 - (r[..., None] - centres).abs()).clamp(min=0)
    >>> fig = plot_radial_basis(Hat())
    >>> len([line for line in fig.axes[0].lines if line.get_gid().startswith("basis-")])
    3
"""

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import torch

from equibasis._optional import require
from equibasis._validation import check_int, check_positive

__all__ = [
    "plot_angle_basis",
    "plot_angle_variants",
    "plot_radial_basis",
    "plot_spherical_harmonics",
    "plot_torsion_basis",
    "plot_torsion_variants",
]

_POSITIVE = "#c0392b"  # sign colours of the harmonic surfaces (red +, blue -)
_NEGATIVE = "#2e6fb7"


def _pyplot():
    return require("matplotlib.pyplot", "plots", "drawing figures")


def _evaluate(module: torch.nn.Module, *args: np.ndarray) -> np.ndarray:
    """Run ``module`` on float64 tensors without autograd and return a numpy array."""
    tensors = [torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64) for a in args]
    with torch.no_grad():
        out = module(*tensors)
    if isinstance(out, tuple):
        out = out[0]
    return out.detach().cpu().double().numpy()


def _describe(basis: Any) -> str:
    """A short title for a basis: class name and its main sizes."""
    name = type(basis).__name__
    parts = []
    for attr, label in (
        ("num_basis", "functions"),
        ("num_spherical", "num_spherical"),
        ("num_radial", "num_radial"),
        ("variant", "variant"),
    ):
        value = getattr(basis, attr, None)
        if value is not None and not isinstance(value, torch.Tensor):
            parts.append(f"{value} {label}" if label == "functions" else f"{label}={value!r}")
    cutoff = getattr(basis, "cutoff", None)
    if isinstance(cutoff, (int, float)) or (
        isinstance(cutoff, torch.Tensor) and cutoff.numel() == 1
    ):
        parts.append(f"cutoff {float(cutoff):g} Å")
    return f"{name} ({', '.join(parts)})" if parts else name


def _cutoff_of(basis: Any, default: float = 5.0) -> float:
    cutoff = getattr(basis, "cutoff", None)
    if cutoff is None:
        return default
    return float(cutoff)


def plot_radial_basis(
    basis: torch.nn.Module,
    r_max: float | None = None,
    ax: Any = None,
    *,
    r_min: float = 0.0,
    num_points: int = 400,
    title: str | None = None,
    legend: bool | None = None,
    cmap: str = "viridis",
    show_cutoff: bool = True,
    unit: str = "Å",
) -> Any:
    r"""Draw every function of a radial basis as a curve over distance.

    One curve per basis function :math:`e_k(r)`, evaluated in float64 at ``num_points`` equally
    spaced distances from ``r_min`` to ``r_max``. A basis with a two-dimensional output
    (``(..., num_spherical, num_radial)``, e.g. ``SphericalBesselRBF``) gives one curve per
    (l, n) pair, l-major. Up to 10 curves get a legend; more get a colour bar of the index.

    Args:
        basis: A module mapping distances ``(P,)`` to ``(P, K)`` or ``(P, S, R)``.
        r_max: Largest distance drawn, in ``unit``; defaults to ``basis.cutoff`` (5 if absent).
        ax: A matplotlib ``Axes`` to draw into; a new figure is made when ``None``.
        r_min: Smallest distance drawn.
        num_points: Grid size (>= 2).
        title: Axes title; defaults to the class name with its sizes and cutoff.
        legend: Force a legend on or off (default: a legend for <= 10 curves, or for (l, n)
            pairs, coloured by l with one line style per n; else a colour bar of the index).
        cmap: Matplotlib colormap name for the curve colours.
        show_cutoff: Mark ``basis.cutoff`` with a dashed vertical line (gid ``"cutoff"``).
        unit: Length unit written on the axis.

    Returns:
        The ``Figure``; curve ``k`` (1-based) is the ``Line2D`` with gid ``"basis-k"``.

    Raises:
        ValueError: If ``r_max <= r_min`` or ``num_points < 2``.
    """
    plt = _pyplot()
    num_points = check_int("num_points", num_points, minimum=2)
    cutoff = getattr(basis, "cutoff", None)
    r_max = _cutoff_of(basis) if r_max is None else check_positive("r_max", r_max)
    if r_max <= r_min:
        raise ValueError(f"r_max must be > r_min, received r_max={r_max}, r_min={r_min}")
    r = np.linspace(r_min, r_max, num_points)
    values = _evaluate(basis, r)
    labels: list[str]
    pairs = values.ndim == 3
    if pairs:  # (P, S, R): spherical Bessel j_l(z_ln r / c); colour by l, line style by n
        num_l, num_n = values.shape[1:]
        labels = [f"l={l}, n={n + 1}" for l in range(num_l) for n in range(num_n)]
        values = values.reshape(num_points, -1)
    elif values.ndim == 2:
        labels = [str(k + 1) for k in range(values.shape[1])]
    else:
        raise ValueError(
            f"basis must map r (P,) to (P, K) or (P, S, R), its output has shape {values.shape}"
        )
    count = values.shape[1]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.0, 4.2), layout="constrained")
    else:
        fig = ax.figure
    colormap = plt.get_cmap(cmap)
    colours = colormap(np.linspace(0.0, 0.9, count)) if count > 1 else [colormap(0.0)]
    styles = ["-"] * count
    if pairs:
        colours = [plt.get_cmap("tab10")((k // num_n) % 10) for k in range(count)]
        styles = [("-", "--", ":", "-.")[(k % num_n) % 4] for k in range(count)]
    for k in range(count):
        ax.plot(
            r,
            values[:, k],
            color=colours[k],
            ls=styles[k],
            lw=1.3,
            label=labels[k],
            gid=f"basis-{k + 1}",
        )
    if show_cutoff and cutoff is not None and r_min <= float(cutoff) <= r_max:
        ax.axvline(float(cutoff), color="0.4", ls="--", lw=0.9, gid="cutoff")
        ax.annotate(
            f"cutoff {float(cutoff):g} {unit}",
            xy=(float(cutoff), 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(-4, -4),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=8,
            color="0.3",
        )
    ax.axhline(0.0, color="0.75", lw=0.6, zorder=0, gid="zero")
    ax.set_xlim(r_min, r_max)
    ax.set_xlabel(f"distance r ({unit})")
    ax.set_ylabel("basis value $e_k(r)$")
    ax.set_title(_describe(basis) if title is None else title, fontsize=10)
    if legend is None:
        legend = count <= 10 or (pairs and count <= 40)
    if legend:
        ncols = num_l if pairs else 1 + count // 6
        ax.legend(title=None if pairs else "k", fontsize=7 if pairs else 8, ncols=ncols)
    elif count > 1:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import ListedColormap, Normalize

        mappable = ScalarMappable(Normalize(0.5, count + 0.5), ListedColormap(colours))
        fig.colorbar(mappable, ax=ax, label="basis function index k", pad=0.01)
    return fig


# --------------------------------------------------------------------------- polar maps


def _as_named(bases: Any) -> list[tuple[str, Any]]:
    """Normalise one basis, a sequence or a mapping label -> basis into (label, basis) pairs."""
    if isinstance(bases, Mapping):
        return [(str(k), v) for k, v in bases.items()]
    if isinstance(bases, torch.nn.Module):
        bases = [bases]
    named = []
    for b in bases:
        variant = getattr(b, "variant", None)
        named.append((f"variant={variant!r}" if variant else type(b).__name__, b))
    return named


def _indices(name: str, value: Any, size: int, start: int) -> list[int]:
    """Resolve ``None`` / int / sequence into a list of indices in ``[start, start + size)``."""
    if value is None:
        return list(range(start, start + size))
    values = [value] if isinstance(value, (int, np.integer)) else list(value)
    for v in values:
        check_int(name, v, minimum=start)
        if v >= start + size:
            raise ValueError(f"{name} must be < {start + size} for this basis, received {v}")
    if not values:
        raise ValueError(f"{name} must not be empty")
    return [int(v) for v in values]


def _polar_setup(
    basis: Any, n: Any, l: Any, d_max: float | None, num_dist: int
) -> tuple[list[tuple[str, Any]], list[int], list[int], float, np.ndarray]:
    """Shared arguments of the polar maps: (label, basis) pairs, n and l drawn, d_max, distances.

    Distances are cell centres ``(i + 1/2) d_max / num_dist``, so none is 0.
    """
    named = _as_named(basis)
    num_dist = check_int("num_dist", num_dist, minimum=2)
    first = named[0][1]
    num_l, num_n = int(first.num_spherical), int(first.num_radial)
    for _, b in named[1:]:
        if (int(b.num_spherical), int(b.num_radial)) != (num_l, num_n):
            raise ValueError("bases drawn side by side must have the same num_spherical/num_radial")
    ns = _indices("n", n, num_n, 1)
    ls = _indices("l", l, num_l, 0)
    d_max = _cutoff_of(first) if d_max is None else check_positive("d_max", d_max)
    return named, ns, ls, d_max, (np.arange(num_dist) + 0.5) * d_max / num_dist


def _polar_panel(
    ax: Any,
    theta: np.ndarray,
    z: np.ndarray,
    label: str,
    angle_labels: Sequence[str] | None,
    *,
    dist: np.ndarray,
    d_max: float,
    cmap: str,
    contour: bool,
) -> None:
    """One polar map (theta around, dist outward), coloured relative to its own max |z|.

    ``angle_labels`` (at 0°, 90°, 180°, 270°) marks the one panel whose axes are labelled.
    """
    from matplotlib.colors import Normalize

    finite = z[np.isfinite(z)]
    scale = float(np.abs(finite).max()) if finite.size else 1.0
    scale = scale if scale > 0 else 1.0
    mesh = ax.pcolormesh(
        theta, dist, z, shading="gouraud", cmap=cmap, norm=Normalize(-scale, scale), rasterized=True
    )
    mesh.set_gid("basis-map")
    if contour and np.nanmin(z) < 0 < np.nanmax(z):
        ax.contour(theta, dist, z, levels=[0.0], colors="k", linewidths=0.4, alpha=0.7)
    ax.set_theta_zero_location("E")
    ax.set_ylim(0.0, d_max)
    ax.grid(True, lw=0.3, color="0.6", alpha=0.6)
    ax.set_yticks([d_max / 2, d_max])
    ax.set_xticks(np.deg2rad([0, 90, 180, 270]))
    if angle_labels is not None:
        ax.set_yticklabels([f"{d_max / 2:g}", f"{d_max:g} Å"], fontsize=6, color="0.25")
        ax.set_xticklabels(angle_labels, fontsize=6)
        ax.tick_params(pad=0)
    else:
        ax.set_yticklabels([])
        ax.set_xticklabels([])
    ax.set_title(f"{label}\nmax {scale:.3g}", fontsize=7, pad=2)


def _finish_block(
    container: Any, named: list, label: str, basis: Any, cmap: str, axes: list
) -> None:
    """Name a block of panels (when several are compared) and give it its colour bar."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    if len(named) > 1:
        container.suptitle(f"{type(basis).__name__}, {label}", fontsize=10)
    bar = container.colorbar(
        ScalarMappable(Normalize(-1.0, 1.0), cmap), ax=axes, shrink=0.6, aspect=30, pad=0.02
    )
    bar.set_ticks([-1, -0.5, 0, 0.5, 1])
    bar.set_ticklabels(["−max", "−max/2", "0", "+max/2", "+max"])
    bar.ax.tick_params(labelsize=7)
    bar.set_label("value / max |value| of its panel", fontsize=8)


def _suptitle(fig: Any, named: list, title: str | None, caption: str) -> None:
    """The given title, or the basis (or the compared variants) followed by ``caption``."""
    if title is None:
        first = named[0][1]
        title = (
            _describe(first)
            if len(named) == 1
            else f"{type(first).__name__}: " + " vs ".join(lab for lab, _ in named)
        ) + caption
    fig.suptitle(title, fontsize=10)


def _grid_figure(num_rows: int, num_cols: int, num_blocks: int, size: float) -> tuple[Any, list]:
    plt = _pyplot()
    fig = plt.figure(
        figsize=(num_blocks * num_cols * size + 1.2, num_rows * size + 1.0), layout="constrained"
    )
    subfigs = fig.subfigures(1, num_blocks, squeeze=False)[0] if num_blocks > 1 else [fig]
    return fig, list(subfigs)


def plot_angle_basis(
    basis: Any,
    n: int | Sequence[int] | None = None,
    l: int | Sequence[int] | None = None,
    *,
    d_max: float | None = None,
    num_dist: int = 60,
    num_angle: int = 91,
    cmap: str = "RdBu_r",
    contour: bool = True,
    panel_size: float = 1.45,
    title: str | None = None,
) -> Any:
    r"""Draw a (distance, angle) basis as polar contour maps, one panel per (n, l).

    As in DimeNet's Figure 2: in each panel the angle :math:`\alpha` runs around (0 to the
    right, the map is mirrored to :math:`2\pi - \alpha` because the basis depends on
    :math:`\cos\alpha` only) and the distance :math:`d` runs outward from 0 to ``d_max``. Rows
    are the degree ``l``, columns the radial index ``n``; the column read from the basis output
    is ``l * num_radial + (n - 1)`` (l-major, n fastest). Each panel is coloured relative to its
    own largest absolute value (written under its title); the black line is the zero level.

    Distances are sampled at cell centres, ``d_i = (i + 1/2) d_max / num_dist``, so the smallest
    one is ``d_max / (2 num_dist)`` > 0: a basis that diverges like 1/d at d = 0 (the DimeNet
    code's l = 0 row) shows a saturated centre and a large ``max`` rather than a crash.

    Args:
        basis: An ``AngleBasis``-like module, ``forward(dist (T,), angle (T,)) -> (T, S*R)``
            with attributes ``num_spherical`` and ``num_radial``; or a sequence of them, or a
            mapping ``label -> basis``, drawn side by side (e.g. the paper and code variants).
        n: Radial indices to draw, counted from 1 (default: all).
        l: Degrees to draw, counted from 0 (default: all).
        d_max: Outer radius in Å (default: the basis cutoff).
        num_dist: Distance samples (>= 2).
        num_angle: Angle samples on [0, π] (>= 3).
        cmap: A diverging matplotlib colormap.
        contour: Draw the zero contour.
        panel_size: Panel edge in inches.
        title: Figure title (default names the basis or the compared variants).

    Returns:
        The ``Figure``. Each panel holds a ``QuadMesh`` (gid ``"basis-map"``) whose array is
        the basis on the (distance, mirrored angle) grid, shape ``(num_dist, 2 num_angle - 1)``.

    Raises:
        ValueError: If an index is out of range or a grid size is too small.
    """
    named, ns, ls, d_max, dist = _polar_setup(basis, n, l, d_max, num_dist)
    num_angle = check_int("num_angle", num_angle, minimum=3)
    alpha = np.linspace(0.0, math.pi, num_angle)
    theta = np.concatenate([alpha, 2 * math.pi - alpha[::-1][1:]])
    dd, aa = np.meshgrid(dist, alpha, indexing="ij")
    panel = partial(_polar_panel, dist=dist, d_max=d_max, cmap=cmap, contour=contour)
    fig, containers = _grid_figure(len(ls), len(ns), len(named), panel_size)
    for container, (label, b) in zip(containers, named, strict=True):
        values = _evaluate(b, dd.ravel(), aa.ravel()).reshape(len(dist), num_angle, -1)
        axes = container.subplots(
            len(ls), len(ns), subplot_kw={"projection": "polar"}, squeeze=False
        )
        for i, li in enumerate(ls):
            for j, nj in enumerate(ns):
                z = values[:, :, li * int(b.num_radial) + (nj - 1)]
                z = np.concatenate([z, z[:, ::-1][:, 1:]], axis=1)
                ticks = ["0°", "", "180°", ""] if (i, j) == (len(ls) - 1, 0) else None
                panel(axes[i, j], theta, z, f"n={nj}, l={li}", ticks)
        _finish_block(container, named, label, b, cmap, list(axes.ravel()))
    caption = f"\nangle α counter-clockwise from 0° at right, distance d outward (0 to {d_max:g} Å)"
    _suptitle(fig, named, title, caption)
    return fig


def _variants(
    cls: type, num_spherical: int, num_radial: int, cutoff: float, variants: Sequence[str]
) -> dict[str, Any]:
    """``{"variant='v'": cls(num_spherical, num_radial, cutoff, variant=v)}`` for each v."""
    return {f"variant={v!r}": cls(num_spherical, num_radial, cutoff, variant=v) for v in variants}


def plot_angle_variants(
    num_spherical: int = 4,
    num_radial: int = 3,
    cutoff: float = 5.0,
    variants: Sequence[str] = ("paper", "pyg"),
    **kwargs: Any,
) -> Any:
    """Draw ``AngleBasis`` variants side by side (default: DimeNet paper vs DimeNet/PyG code).

    The code variant multiplies by DimeNet's envelope, whose 1/d factor makes the l = 0 row
    diverge at d = 0 where the paper's form stays finite: the changed first row of DimeNet's
    Figure 2.

    Args:
        num_spherical: Degrees l = 0 .. num_spherical - 1.
        num_radial: Radial functions n = 1 .. num_radial.
        cutoff: Cutoff in Å.
        variants: ``AngleBasis`` variant names, one block of panels each.
        **kwargs: Passed to :func:`plot_angle_basis`.

    Returns:
        The ``Figure``.
    """
    from equibasis.polar import AngleBasis

    bases = _variants(AngleBasis, num_spherical, num_radial, cutoff, variants)
    return plot_angle_basis(bases, **kwargs)


def _torsion_column(basis: Any, l: int, m: int, n: int) -> int:
    """Output column of (degree l, order m, radial index n from 1) in a torsion basis.

    Uses the basis's own ``column_index(l, m, n)`` when it has one. Otherwise the layout of
    ``equibasis.polar.TorsionBasis``: ``variant="consistent"`` lists l, then m = -l..l, then n
    (column ``(l*l + l + m) * R + n - 1``); ``"dig"`` (and any other) follows DIG, column
    ``f * R + n - 1`` with ``f = l*l +`` the position of m in DIG's order m = 0, 1..l, -l..-1.
    """
    own = getattr(basis, "column_index", None)
    if callable(own):
        return int(own(l, m, n))
    if getattr(basis, "variant", None) == "consistent":
        position = l + m
    else:
        position = 0 if m == 0 else (m if m > 0 else 2 * l + 1 + m)
    return (l * l + position) * int(basis.num_radial) + (n - 1)


def plot_torsion_basis(
    basis: Any,
    n: int = 1,
    l: int | Sequence[int] | None = None,
    *,
    theta: float = math.pi / 3,
    d_max: float | None = None,
    num_dist: int = 50,
    num_phi: int = 121,
    cmap: str = "RdBu_r",
    contour: bool = True,
    panel_size: float = 1.35,
    title: str | None = None,
) -> Any:
    r"""Draw a (distance, angle, torsion) basis as polar maps, one panel per (l, m).

    The basis depends on three variables; each panel fixes the angle :math:`\theta` and the
    radial index ``n`` and shows the torsion :math:`\varphi \in [-\pi, \pi]` around and the
    distance outward. Rows are the degree l, columns the order m = -l..l (m = 0 in the middle),
    so a row of sines (m < 0) and cosines (m > 0) is visible; at :math:`\theta` where
    :math:`P_l^m(\cos\theta)` vanishes a panel is blank, hence the default :math:`\pi/3`.

    Args:
        basis: A ``TorsionBasis``-like module, ``forward(dist, theta, phi) -> (T, S*S*R)``,
            with ``num_spherical`` and ``num_radial``; or a sequence / mapping of them, drawn
            side by side (e.g. ``"dig"`` vs ``"consistent"``).
        n: Radial index, counted from 1.
        l: Degrees to draw (default: all).
        theta: The fixed angle in radians.
        d_max: Outer radius in Å (default: the basis cutoff).
        num_dist: Distance samples (cell centres, as in :func:`plot_angle_basis`).
        num_phi: Torsion samples on [-π, π].
        cmap: A diverging colormap.
        contour: Draw the zero contour.
        panel_size: Panel edge in inches.
        title: Figure title.

    Returns:
        The ``Figure``; each panel's ``QuadMesh`` (gid ``"basis-map"``) holds the basis on the
        (distance, torsion) grid, shape ``(num_dist, num_phi)``.

    Raises:
        ValueError: If an index is out of range or a grid size is too small.
    """
    named, (n,), ls, d_max, dist = _polar_setup(basis, n, l, d_max, num_dist)
    num_phi = check_int("num_phi", num_phi, minimum=3)
    lmax = max(ls)
    phi = np.linspace(-math.pi, math.pi, num_phi)
    dd, pp = np.meshgrid(dist, phi, indexing="ij")
    tt = np.full_like(dd, float(theta))
    panel = partial(_polar_panel, dist=dist, d_max=d_max, cmap=cmap, contour=contour)
    fig, containers = _grid_figure(len(ls), 2 * lmax + 1, len(named), panel_size)
    for container, (label, b) in zip(containers, named, strict=True):
        values = _evaluate(b, dd.ravel(), tt.ravel(), pp.ravel()).reshape(len(dist), num_phi, -1)
        grid = container.add_gridspec(len(ls), 2 * lmax + 1)
        drawn = []
        for i, li in enumerate(ls):
            for m in range(-li, li + 1):
                ax = container.add_subplot(grid[i, lmax + m], projection="polar")
                z = values[:, :, _torsion_column(b, li, m, n)]
                ticks = ["0°", "", "±180°", "−90°"] if (i, m) == (len(ls) - 1, -li) else None
                panel(ax, phi, z, f"l={li}, m={m}", ticks)
                drawn.append(ax)
        _finish_block(container, named, label, b, cmap, drawn)
    caption = (
        f"\nn={n}, θ={math.degrees(theta):.0f}°: torsion φ counter-clockwise from 0° at right, "
        f"distance d outward (0 to {d_max:g} Å)"
    )
    _suptitle(fig, named, title, caption)
    return fig


def plot_torsion_variants(
    num_spherical: int = 3,
    num_radial: int = 2,
    cutoff: float = 5.0,
    variants: Sequence[str] = ("dig", "consistent"),
    **kwargs: Any,
) -> Any:
    """Draw ``TorsionBasis`` variants side by side (default: DIG's pairing vs degree-consistent).

    Args:
        num_spherical: Degrees l = 0 .. num_spherical - 1.
        num_radial: Radial functions per degree.
        cutoff: Cutoff in Å.
        variants: ``TorsionBasis`` variant names.
        **kwargs: Passed to :func:`plot_torsion_basis`.

    Returns:
        The ``Figure``.
    """
    from equibasis.polar import TorsionBasis

    bases = _variants(TorsionBasis, num_spherical, num_radial, cutoff, variants)
    return plot_torsion_basis(bases, **kwargs)


# --------------------------------------------------------------------------- harmonics


def _sphere_grid(resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Polar angle, azimuth and unit vectors (x, y, z) on a (resolution, 2 resolution) grid."""
    polar = np.linspace(0.0, math.pi, resolution)
    azimuth = np.linspace(0.0, 2 * math.pi, 2 * resolution)
    pp, aa = np.meshgrid(polar, azimuth, indexing="ij")
    xyz = np.stack([np.sin(pp) * np.cos(aa), np.sin(pp) * np.sin(aa), np.cos(pp)], axis=-1)
    return pp, aa, xyz


def _real_harmonics(lmax: int, xyz: np.ndarray) -> np.ndarray:
    """Orthonormal real Y_lm (Wikipedia/sphericart convention), index l*l + l + m."""
    from equibasis import harmonics

    x = torch.as_tensor(xyz.reshape(-1, 3), dtype=torch.float64)
    with torch.no_grad():
        if hasattr(harmonics, "real_spherical_harmonics"):
            y = harmonics.real_spherical_harmonics(lmax, x)
        else:
            y = harmonics.spherical_harmonics(list(range(lmax + 1)), x, True, "integral")
            y = harmonics.convert_sh(y, lmax, "e3nn", "sphericart")
    return y.numpy().reshape(*xyz.shape[:-1], (lmax + 1) ** 2)


# Largest degree plot_spherical_harmonics draws: (lmax + 1)^2 panels, 121 at 10 (about 30 s)
MAX_HARMONICS_LMAX = 10


def plot_spherical_harmonics(
    lmax: int = 3,
    interactive: bool = False,
    *,
    resolution: int | None = None,
    panel_size: float = 1.6,
    title: str | None = None,
) -> Any:
    r"""Draw the real spherical harmonics :math:`Y_{lm}`, l = 0..lmax, all m, as 3-D surfaces.

    Each surface is :math:`r(\hat{u}) = |Y_{lm}(\hat{u})|` over the unit sphere, coloured by the
    sign of :math:`Y_{lm}` (red positive, blue negative; the interactive version colours by the
    value). Rows are l, columns m = -l..l. The harmonics are the orthonormal real ones of
    Wikipedia / sphericart (x, y, z axes, z the polar axis, Condon–Shortley phase included),
    computed by ``equibasis.harmonics``.

    Args:
        lmax: Largest degree (>= 0).
        interactive: Return a plotly figure (needs the ``interactive`` extra) instead of a
            matplotlib one; save it with ``fig.write_html(path, include_plotlyjs=True)``.
        resolution: Polar-angle samples (azimuth gets twice as many); default 48 (static) or
            40 (interactive).
        panel_size: Panel edge in inches (static figure).
        title: Figure title.

    Returns:
        A matplotlib ``Figure`` with one 3-D axes per (l, m) holding a surface with gid
        ``"Y-l-m"``, or a ``plotly.graph_objects.Figure`` with one ``Surface`` trace per (l, m)
        named ``"Y(l,m)"``.

    Raises:
        ImportError: If ``interactive`` and plotly is not installed.
        ValueError: If ``lmax < 0`` or ``lmax > 10`` (:data:`MAX_HARMONICS_LMAX`: one panel
            per (l, m), 121 at lmax = 10, about 30 s on 2 cores; checked before anything is
            allocated).
    """
    lmax = check_int("lmax", lmax, minimum=0)
    if lmax > MAX_HARMONICS_LMAX:
        panels = (lmax + 1) ** 2
        gib = panels * 2 * 48 * 48 * 8 / 2**30
        raise ValueError(
            f"lmax must be <= {MAX_HARMONICS_LMAX} for a figure of the harmonics, received "
            f"{lmax}: it draws one 3-D panel per (l, m), {panels} panels here (~{gib:.2g} GiB "
            "of samples at the default resolution), unreadable and slow (lmax = "
            f"{MAX_HARMONICS_LMAX}: {(MAX_HARMONICS_LMAX + 1) ** 2} panels, about 30 s)"
        )
    if resolution is None:
        resolution = 40 if interactive else 48
    resolution = check_int("resolution", resolution, minimum=4)
    _, _, xyz = _sphere_grid(resolution)
    values = _real_harmonics(lmax, xyz)
    if title is None:
        title = (
            f"Real spherical harmonics $Y_{{lm}}$, l = 0..{lmax}: radius |Y|, "
            "colour the sign (red +, blue −), z axis up"
        )
    if interactive:
        return _plotly_harmonics(lmax, xyz, values, title)

    plt = _pyplot()
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Patch

    cols = 2 * lmax + 1
    fig = plt.figure(figsize=(cols * panel_size, (lmax + 1) * panel_size + 0.7))
    positive, negative = np.array(to_rgba(_POSITIVE)), np.array(to_rgba(_NEGATIVE))
    for l in range(lmax + 1):
        for m in range(-l, l + 1):
            y = values[..., l * l + l + m]
            radius = np.abs(y)
            points = radius[..., None] * xyz
            colours = np.where((y >= 0)[..., None], positive, negative)
            ax = fig.add_subplot(lmax + 1, cols, l * cols + lmax + m + 1, projection="3d")
            surface = ax.plot_surface(
                points[..., 0],
                points[..., 1],
                points[..., 2],
                facecolors=colours,
                rstride=1,
                cstride=1,
                linewidth=0,
                antialiased=False,
                shade=True,
            )
            surface.set_gid(f"Y-{l}-{m}")
            extent = float(radius.max()) or 1.0
            for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
                setter(-extent, extent)
            ax.set_box_aspect((1, 1, 1), zoom=1.25)
            ax.set_axis_off()
            ax.set_title(f"l={l}, m={m}", fontsize=8, pad=0, y=1.02)
    fig.legend(
        handles=[Patch(color=_POSITIVE, label="Y > 0"), Patch(color=_NEGATIVE, label="Y < 0")],
        loc="lower center",
        ncols=2,
        fontsize=8,
        frameon=False,
    )
    fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.0, right=1.0, bottom=0.05, top=0.9, wspace=0.0, hspace=0.05)
    return fig


def _plotly_harmonics(lmax: int, xyz: np.ndarray, values: np.ndarray, title: str) -> Any:
    try:
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plot_spherical_harmonics(interactive=True) needs plotly, which the 'interactive' "
            "extra installs: pip install 'equibasis[interactive]'"
        ) from error
    cols = 2 * lmax + 1
    specs = [
        [{"type": "scene"} if abs(c - lmax) <= l else None for c in range(cols)]
        for l in range(lmax + 1)
    ]
    titles = [
        f"l={l}, m={c - lmax}" for l in range(lmax + 1) for c in range(cols) if abs(c - lmax) <= l
    ]
    fig = make_subplots(
        rows=lmax + 1,
        cols=cols,
        specs=specs,
        subplot_titles=titles,
        horizontal_spacing=0.005,
        vertical_spacing=0.02,
    )
    scale = float(np.abs(values).max())
    for l in range(lmax + 1):
        for m in range(-l, l + 1):
            y = values[..., l * l + l + m]
            points = np.abs(y)[..., None] * xyz
            fig.add_trace(
                go.Surface(
                    x=points[..., 0],
                    y=points[..., 1],
                    z=points[..., 2],
                    surfacecolor=y,
                    colorscale="RdBu_r",
                    cmin=-scale,
                    cmax=scale,
                    showscale=(l == 0),
                    colorbar={"title": {"text": "Y_lm"}, "len": 0.6},
                    name=f"Y({l},{m})",
                    hovertemplate=f"l={l}, m={m}<br>Y=%{{surfacecolor:.3f}}<extra></extra>",
                ),
                row=l + 1,
                col=lmax + m + 1,
            )
    hidden = {"visible": False, "showbackground": False}
    fig.update_scenes(xaxis=hidden, yaxis=hidden, zaxis=hidden, aspectmode="data")
    fig.update_layout(
        title={"text": title.replace("$Y_{lm}$", "Y_lm").replace("$", "")},
        width=max(600, 190 * cols),
        height=max(400, 210 * (lmax + 1)),
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
    )
    return fig
