"""DimeNet-style polar maps of the angle and torsion bases."""

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
import torch

from equibasis._validation import check_int, check_positive
from equibasis.plots._common import _cutoff_of, _describe, _evaluate, _pyplot


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
