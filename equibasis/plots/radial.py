"""Radial basis curves."""

from typing import Any

import numpy as np
import torch

from equibasis._validation import check_int, check_positive
from equibasis.plots._common import _cutoff_of, _describe, _evaluate, _pyplot


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
