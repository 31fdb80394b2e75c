"""Real spherical harmonics as 3-D surfaces (matplotlib, or plotly when interactive)."""

import math
from typing import Any

import numpy as np
import torch

from equibasis._validation import check_int
from equibasis.plots._common import _pyplot

_POSITIVE = "#c0392b"  # sign colours of the harmonic surfaces (red +, blue -)
_NEGATIVE = "#2e6fb7"


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
