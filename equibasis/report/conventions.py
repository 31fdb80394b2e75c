"""Section "Spherical-harmonic conventions": equibasis's harmonics against every peer's."""

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._tables import record_table, version
from .context import Context

__all__ = ["ConventionRow", "ConventionTable", "measure_conventions", "section"]


@dataclass(frozen=True)
class ConventionRow:
    """One comparison: our harmonics converted to ``convention`` against ``reference``."""

    convention: str
    reference: str
    max_abs_diff: float | None
    note: str = ""


@dataclass(frozen=True)
class ConventionTable:
    """Max differences between equibasis (through ``convert_sh``) and each peer."""

    rows: tuple[ConventionRow, ...]
    lmax: int
    num_vectors: int

    def to_markdown(self) -> str:
        """A Markdown table, one row per convention."""
        columns = {
            "convention": "convention",
            "reference computed by": "reference",
            "max abs difference": "max_abs_diff",
            "note": "note",
        }
        return record_table(self.rows, columns)


def _dig_style_reference(lmax: int, vec: np.ndarray) -> np.ndarray:
    """DIG's real harmonics, built here from scipy.

    Per degree m = 0, 1..l, -l..-1: sqrt(2) Re / Im of scipy's Y_l^|m|, the Condon-Shortley phase
    kept, as DIG's sympy code writes them.
    """
    from scipy.special import sph_harm_y

    r = np.linalg.norm(vec, axis=-1)
    theta = np.arccos(np.clip(vec[:, 2] / r, -1.0, 1.0))
    phi = np.arctan2(vec[:, 1], vec[:, 0])
    columns = []
    for l in range(lmax + 1):
        columns.append(sph_harm_y(l, 0, theta, phi).real)
        columns += [math.sqrt(2) * sph_harm_y(l, m, theta, phi).real for m in range(1, l + 1)]
        columns += [math.sqrt(2) * sph_harm_y(l, m, theta, phi).imag for m in range(l, 0, -1)]
    return np.stack(columns, axis=-1)


def measure_conventions(lmax: int = 6, num_vectors: int = 500, seed: int = 0) -> ConventionTable:
    """Compare our harmonics, converted to each convention, with each peer on the same vectors.

    Args:
        lmax: Highest degree (e3nn stops at 12).
        num_vectors: Random vectors of random length (plus the six axis directions).
        seed: Seed of the vectors.

    Returns:
        A :class:`ConventionTable`; ``max_abs_diff`` is ``None`` for a peer not installed.
    """
    from scipy.special import sph_harm_y

    from equibasis.harmonics import convert_sh, real_spherical_harmonics, spherical_harmonics

    gen = torch.Generator().manual_seed(seed)
    vec = torch.randn(num_vectors, 3, generator=gen, dtype=torch.float64)
    vec = vec * (0.2 + 3 * torch.rand(num_vectors, 1, generator=gen, dtype=torch.float64))
    axes = torch.cat([torch.eye(3, dtype=torch.float64), -torch.eye(3, dtype=torch.float64)])
    vec = torch.cat([axes, vec])
    ls = list(range(lmax + 1))
    ours_e3nn = spherical_harmonics(ls, vec, normalize=True, normalization="integral")
    rows = []

    import e3nn
    from e3nn import o3

    peer = o3.spherical_harmonics(ls, vec, normalize=True, normalization="integral")
    rows.append(
        ConventionRow(
            "e3nn",
            f"e3nn {e3nn.__version__} `o3.spherical_harmonics`",
            float((ours_e3nn - peer).abs().max()),
            "our e3nn-layout output, no conversion",
        )
    )
    ours_std = convert_sh(ours_e3nn, lmax, "e3nn", "sphericart")
    try:
        import sphericart.torch as sct

        peer = sct.SphericalHarmonics(lmax)(vec)
        rows.append(
            ConventionRow(
                "sphericart",
                f"sphericart {version('sphericart')} `SphericalHarmonics(lmax)`",
                float((ours_std - peer).abs().max()),
                "e3nn → sphericart",
            )
        )
    except ImportError:
        rows.append(ConventionRow("sphericart", "sphericart", None, "not installed"))
    direct = real_spherical_harmonics(lmax, vec)
    rows.append(
        ConventionRow(
            "sphericart",
            "equibasis `real_spherical_harmonics` (direct)",
            float((ours_std - direct).abs().max()),
            "conversion vs direct evaluation",
        )
    )
    import scipy

    v = vec.numpy()
    theta = np.arccos(np.clip(v[:, 2] / np.linalg.norm(v, axis=-1), -1.0, 1.0))
    phi = np.arctan2(v[:, 1], v[:, 0])
    ref = np.stack(
        [sph_harm_y(l, m, theta, phi) for l in range(lmax + 1) for m in range(-l, l + 1)], axis=-1
    )
    ours_scipy = convert_sh(ours_e3nn, lmax, "e3nn", "scipy").numpy()
    rows.append(
        ConventionRow(
            "scipy",
            f"scipy {scipy.__version__} `special.sph_harm_y` (complex)",
            float(np.abs(ours_scipy - ref).max()),
            "e3nn → scipy",
        )
    )
    ours_dig = convert_sh(ours_e3nn, lmax, "e3nn", "dig").numpy()
    rows.append(
        ConventionRow(
            "dig",
            "DIG-style real harmonics built from scipy (m = 0, 1..l, −l..−1; CS phase kept)",
            float(np.abs(ours_dig - _dig_style_reference(lmax, v)).max()),
            "e3nn → dig",
        )
    )
    round_trip = 0.0
    names = ("e3nn", "sphericart", "scipy", "dig")
    for src in names:
        for dst in names:
            there = convert_sh(ours_e3nn, lmax, "e3nn", src)
            back = convert_sh(convert_sh(there, lmax, src, dst), lmax, dst, "e3nn")
            round_trip = max(round_trip, float((back - ours_e3nn).abs().max()))
    rows.append(
        ConventionRow("all pairs", "round trip e3nn → a → b → e3nn", round_trip, "16 pairs")
    )
    return ConventionTable(tuple(rows), lmax, int(vec.shape[0]))


def section(context: Context) -> str:
    """The section's Markdown: the table and what it compares."""
    quick = context.quick
    table = measure_conventions(
        lmax=4 if quick else 10, num_vectors=200 if quick else 2000, seed=context.seed
    )
    return (
        "The same vectors through each library; equibasis's values converted with "
        "`convert_sh(values, lmax, 'e3nn', dst)`. float64.\n\n"
        f"l ≤ {table.lmax}, {table.num_vectors} vectors (the six axis directions included).\n\n"
        + table.to_markdown()
    )
