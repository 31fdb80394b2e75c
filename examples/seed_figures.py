"""Reproduce the figures of the seed article ("choosing a basis set") with equibasis.

The article explains each geometric basis of molecular GNNs with one picture:

1. K Gaussian curves over 0-5 Å (SchNet; DIG's default K = 50, SchNetPack's 20, the original
   paper's 300),
2. DimeNet's Bessel curves (sin(n pi r / c) / r with DimeNet's envelope),
3. DimeNet-style polar contour maps of the (distance, angle) basis, one panel per (n, l), for
   the paper's formula and for the code's (whose l = 0 row diverges at d = 0),
4. the torsion basis (SphereNet, all m) as polar maps at a fixed angle,
5. the real spherical harmonics Y_lm, l = 0..3, as 3-D surfaces (radius |Y|, colour the sign),
   static and, with the ``interactive`` extra (plotly), as an HTML page.

Run ``python examples/seed_figures.py --out figures/`` (about half a minute on two CPU cores);
``--quick`` draws smaller grids.
"""

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script that only writes files

import matplotlib.pyplot as plt
import torch

from equibasis.plots import (
    plot_angle_variants,
    plot_radial_basis,
    plot_spherical_harmonics,
    plot_torsion_variants,
)
from equibasis.radial import BesselRBF, GaussianRBF


def _save(fig, path: Path, dpi: int) -> Path:
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    print(f"wrote {path}")
    return path


def main(argv: list[str] | None = None) -> list[Path]:
    """Write the article's figures into ``--out`` and return their paths."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("seed_figures"), help="output folder")
    parser.add_argument("--quick", action="store_true", help="smaller grids, lower resolution")
    parser.add_argument("--dpi", type=int, default=None, help="PNG resolution (110; 70 quick)")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    dpi = args.dpi or (70 if args.quick else 110)
    written = []

    # 1. Gaussian "pockets": the three presets side by side, as the article lists them
    fig, axes = plt.subplots(1, 3, figsize=(15, 4), layout="constrained")
    for ax, preset in zip(axes, ("schnet", "dig", "schnetpack"), strict=True):
        basis = GaussianRBF.preset(preset)
        plot_radial_basis(basis, r_max=5.0, ax=ax, title=f"GaussianRBF.preset({preset!r})")
    written.append(_save(fig, out / "gaussian_presets.png", dpi))
    written.append(
        _save(plot_radial_basis(GaussianRBF(num_basis=50, cutoff=5.0)), out / "gaussian.png", dpi)
    )

    # 2. Bessel basis (DimeNet), drawn a little past the cutoff
    written.append(
        _save(
            plot_radial_basis(BesselRBF(num_basis=6, cutoff=5.0), r_max=6.0),
            out / "bessel.png",
            dpi,
        )
    )

    # 3. DimeNet Figure 2: the paper's and the code's angle basis, side by side
    grid = {"num_dist": 30, "num_angle": 46} if args.quick else {}
    fig = plot_angle_variants(
        num_spherical=4, num_radial=3, cutoff=5.0, variants=("paper", "pyg"), **grid
    )
    written.append(_save(fig, out / "angle_paper_vs_code.png", dpi))

    # 4. the torsion basis, DIG's pairing and the degree-consistent one
    grid = {"num_dist": 25, "num_phi": 61} if args.quick else {}
    fig = plot_torsion_variants(
        3, 2, 5.0, variants=("dig", "consistent"), theta=math.pi / 3, **grid
    )
    written.append(_save(fig, out / "torsion.png", dpi))

    # 5. Y_lm surfaces, static and interactive
    fig = plot_spherical_harmonics(lmax=3, resolution=24 if args.quick else 48)
    written.append(_save(fig, out / "spherical_harmonics.png", dpi))
    try:
        fig = plot_spherical_harmonics(
            lmax=3, interactive=True, resolution=24 if args.quick else 40
        )
    except ImportError as error:
        print(f"skipped the interactive figure: {error}")
    else:
        path = out / "spherical_harmonics.html"
        fig.write_html(path, include_plotlyjs=True)
        print(f"wrote {path}")
        written.append(path)

    # self-check: the Gaussian curves are the basis values, as the article's formula says
    basis = GaussianRBF(num_basis=50, cutoff=5.0)
    r = torch.linspace(0.0, 5.0, 11, dtype=torch.float64)
    centres = torch.linspace(0.0, 5.0, 50, dtype=torch.float64)
    width = centres[1] - centres[0]
    expected = torch.exp(-((r[:, None] - centres) ** 2) / (2 * width**2))
    error = float((basis(r) - expected).abs().max())
    print(f"Gaussian basis vs the formula: max error {error:.1e}")
    return written


if __name__ == "__main__":
    main()
