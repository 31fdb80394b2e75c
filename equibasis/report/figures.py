"""Section "Figures": the seed article's figures, drawn into the output folder as PNG files."""

from pathlib import Path
from typing import Any

from .context import Context

__all__ = ["section"]


def _save(fig: Any, path: Path, dpi: int) -> str:
    """Write ``fig`` to ``path``, close it and return the file name (the Markdown link)."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path.name


def section(context: Context) -> str:
    """Draw the article's figures into ``context.out`` and return their Markdown."""
    from equibasis._optional import require

    matplotlib = require("matplotlib", "report", "the report's figures")

    from equibasis import plots

    out, quick = context.out, context.quick
    dpi = 60 if quick else 110
    parts = []
    missing = []
    with matplotlib.rc_context({"figure.max_open_warning": 0}):
        try:
            import matplotlib.pyplot as plt

            from equibasis.radial import BesselRBF, GaussianRBF

            gaussian = GaussianRBF(num_basis=50, cutoff=5.0)
            name = _save(plots.plot_radial_basis(gaussian), out / "radial_gaussian.png", dpi)
            fig, axes = plt.subplots(1, 3, figsize=(15, 3.8), layout="constrained")
            for ax, preset in zip(axes, ("schnet", "dig", "schnetpack"), strict=True):
                plots.plot_radial_basis(
                    GaussianRBF.preset(preset), r_max=5.0, ax=ax, title=f"preset {preset!r}"
                )
            presets = _save(fig, out / "radial_gaussian_presets.png", dpi)
            parts.append(
                "### Gaussian radial basis (SchNet)\n\nexp(−(r − μ_k)² / 2σ²) with K = 50 "
                "centres μ_k on 0–5 Å and σ the spacing: one distance becomes 50 overlapping "
                f"'pockets'.\n\n![Gaussian radial basis]({name})\n\nThe published choices, "
                "drawn on 0–5 Å: the SchNet paper's 300 centres every 0.1 Å (γ = 10 Å⁻²), DIG's "
                "50 over 0–10 Å and SchNetPack's 20 over 0–5 Å "
                f"(`GaussianRBF.preset(name)`).\n\n![Gaussian presets]({presets})"
            )
            name = _save(
                plots.plot_radial_basis(BesselRBF(6, 5.0), r_max=6.0),
                out / "radial_bessel.png",
                dpi,
            )
            parts.append(
                "### Bessel radial basis (DimeNet)\n\nsin(nπr/c)/r times DimeNet's polynomial "
                "envelope, 6 functions, cutoff 5 Å; drawn to 6 Å to show the cutoff.\n\n"
                f"![Bessel radial basis]({name})"
            )
        except (ImportError, AttributeError) as error:
            missing.append(f"radial figures: not available ({error})")
        try:
            res = {"num_dist": 20, "num_angle": 31} if quick else {}
            fig = plots.plot_angle_variants(4, 3, 5.0, ("paper", "pyg"), **res)
            name = _save(fig, out / "angle_paper_vs_code.png", dpi)
            parts.append(
                "### Angle basis (m = 0): DimeNet paper vs DimeNet code\n\nPolar maps of "
                "j_l(z_ln d/c) Y_l0(α): angle α around, distance d outward, one panel per "
                "(n, l), each coloured relative to its own maximum (written under its title). "
                "Left: the paper's formula. Right: the code's (PyG `SphericalBasisLayer`), "
                "which multiplies by DimeNet's envelope and its 1/d factor: the l = 0 row "
                "diverges at d = 0 (its maximum grows by two orders of magnitude and the "
                "panels turn white except the centre), so DimeNet's Figure 2 first row cannot "
                f"be reproduced from the code.\n\n![Angle basis, paper vs code]({name})"
            )
            res = {"num_dist": 16, "num_phi": 41} if quick else {}
            fig = plots.plot_torsion_variants(3, 2, 5.0, ("dig", "consistent"), **res)
            name = _save(fig, out / "torsion_dig_vs_consistent.png", dpi)
            parts.append(
                "### Torsion basis (all m): DIG SphereNet vs degree-consistent\n\nAt a fixed "
                "angle θ = 60° and radial index n = 1: torsion φ around, distance outward, one "
                "panel per (l, m). DIG pairs harmonic number f with the radial functions of "
                "degree f mod num_spherical, so e.g. (l = 1, m = −1) carries j_0 (non-zero at "
                "d = 0) instead of j_1; the consistent variant pairs each Y_lm with j_l.\n\n"
                f"![Torsion basis]({name})"
            )
        except (ImportError, AttributeError) as error:
            missing.append(f"polar figures: not available ({error})")
        try:
            fig = plots.plot_spherical_harmonics(3, resolution=16 if quick else 48)
            name = _save(fig, out / "spherical_harmonics.png", dpi)
            parts.append(
                "### Real spherical harmonics Y_lm, l = 0..3\n\nRadius |Y_lm|, colour the sign; "
                "the angular part of the same Helmholtz solution whose radial part gives the "
                "spherical Bessel functions. Interactive version: `equibasis plot harmonics "
                f"--interactive -o harmonics.html`.\n\n![Spherical harmonics]({name})"
            )
        except (ImportError, AttributeError) as error:
            missing.append(f"harmonics figure: not available ({error})")
    return "\n\n".join(parts + [f"- {m}" for m in missing])
