"""Section "The torsion basis jumps ...": SphereNet's torsion when a neighbour crosses a plane."""

import math
from dataclasses import dataclass, field

import torch

from equibasis.benchmarking import format_table

from ._geometry import features
from ._tables import cell
from .context import Context

__all__ = ["TorsionJump", "measure_torsion_jump", "section"]


@dataclass(frozen=True)
class TorsionJump:
    """SphereNet's torsion (and its basis) before and after a neighbour crosses a half-plane."""

    displacement: float
    torsion_before: float
    torsion_after: float
    basis_jump: dict[str, float] = field(default_factory=dict)
    harmonics_jump: float = 0.0

    def to_markdown(self) -> str:
        """A short explanation and a table of the jumps."""
        text = [
            "Atom j at the origin, i above it on the +z axis; the other neighbours of j are k at "
            "azimuth 0°, k′ at azimuth +δ or −δ and k″ at 120°, "
            f"δ = {self.displacement:.0e} rad (k′ moves by {3 * self.displacement:.0e} Å across "
            "the half-plane of k). "
            "SphereNet measures the torsion of k to the *next* neighbour counter-clockwise, so it "
            f"jumps from {math.degrees(self.torsion_before):.4f}° to "
            f"{math.degrees(self.torsion_after):.4f}° although the atoms barely moved. The "
            "harmonics of the same edge vectors move by the displacement only.",
            "",
        ]
        rows: list[tuple[str, float]] = list(self.basis_jump.items())
        rows.append(("spherical harmonics of the edge vectors (l ≤ 3)", self.harmonics_jump))
        text.append(format_table(["basis", "largest change / largest value"], rows, cell=cell))
        return "\n".join(text)


def measure_torsion_jump(displacement: float = 1e-6) -> TorsionJump:
    """Move one neighbour across the reference half-plane and measure the change.

    Args:
        displacement: Azimuth of the moving neighbour on either side of the plane (radians).

    Returns:
        A :class:`TorsionJump`.
    """
    from equibasis.harmonics import spherical_harmonics
    from equibasis.polar import TorsionBasis

    def config(sign: float) -> torch.Tensor:
        pos = [[0.0, 0.0, 0.0], [0.0, 0.0, 1.2]]  # j, i
        for azimuth, radius in ((0.0, 1.4), (sign * displacement, 1.5), (2 * math.pi / 3, 1.3)):
            pos.append([radius * math.cos(azimuth), radius * math.sin(azimuth), 0.4])
        return torch.tensor(pos, dtype=torch.float64)

    def jump(values: list[torch.Tensor]) -> float:
        return float((values[0] - values[1]).abs().max() / values[0].abs().max())

    before, after = (features(config(sign), 5.0) for sign in (1.0, -1.0))
    jumps = {}
    for variant in ("dig", "consistent"):
        basis = TorsionBasis(num_spherical=3, num_radial=3, cutoff=5.0, variant=variant)
        values = [basis(f["dist_kj"], f["angle"], f["torsion"]) for f in (before, after)]
        jumps[f"TorsionBasis ({variant!r})"] = jump(values)
    sh_jump = jump([spherical_harmonics(list(range(4)), f["vec"]) for f in (before, after)])

    def torsion_2_0_1(f: dict[str, torch.Tensor]) -> float:  # the triplet k=2 -> j=0 -> i=1
        sel = (f["idx_k"] == 2) & (f["idx_j"] == 0) & (f["idx_i"] == 1)
        return float(f["torsion"][sel][0])

    return TorsionJump(displacement, torsion_2_0_1(before), torsion_2_0_1(after), jumps, sh_jump)


def section(context: Context) -> str:
    """The section's Markdown (the same geometry in every mode)."""
    return measure_torsion_jump().to_markdown()
