"""Section "Invariance and equivariance": every basis under random rotations and mirrors."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ._geometry import features, molecule
from ._tables import record_table
from .context import Context

__all__ = ["SymmetryRow", "SymmetryTable", "measure_symmetry", "section"]


@dataclass(frozen=True)
class SymmetryRow:
    """How one basis responds to rotations and mirrors (errors relative to max |f|)."""

    basis: str
    inputs: str
    output: str
    rotation_change: float
    rotation_equivariance: float | None
    mirror_change: float
    mirror_equivariance: float | None
    verdict: str
    expected: str

    @property
    def ok(self) -> bool:
        """Whether the measured verdict is the expected one."""
        return self.verdict == self.expected


@dataclass(frozen=True)
class SymmetryTable:
    """Rotation and mirror behaviour of every basis, measured on a random molecule."""

    rows: tuple[SymmetryRow, ...]
    tolerance: float
    num_rotations: int
    num_atoms: int

    @property
    def ok(self) -> bool:
        """Whether every basis behaved as expected."""
        return all(r.ok for r in self.rows)

    def to_markdown(self) -> str:
        """A Markdown table, one row per basis."""
        columns = {
            "basis": "basis",
            "inputs": "inputs",
            "output": "output",
            "Δ rotation": "rotation_change",
            "equiv. error rotation": "rotation_equivariance",
            "Δ mirror": "mirror_change",
            "equiv. error mirror": "mirror_equivariance",
            "verdict": lambda r: r.verdict if r.ok else f"**{r.verdict} (expected: {r.expected})**",
        }
        return record_table(self.rows, columns)


_INVARIANT = "invariant (rotations and mirrors)"
_CHIRAL = "rotation-invariant, changed by a mirror (chiral)"
_EQUIVARIANT = "equivariant (rotations and mirrors)"
_NEITHER = "neither invariant nor equivariant"


def _classify(
    rot_change: float, rot_eq: float | None, mir_change: float, mir_eq: float | None, tol: float
) -> str:
    """The verdict of one basis from its Δ and equivariance errors (None: not an irrep)."""
    if rot_change <= tol and mir_change <= tol:
        return _INVARIANT
    if rot_change <= tol:
        return _CHIRAL
    if rot_eq is not None and mir_eq is not None and rot_eq <= tol and mir_eq <= tol:
        return _EQUIVARIANT
    return _NEITHER


def measure_symmetry(
    num_atoms: int = 8, num_rotations: int = 3, seed: int = 0, tolerance: float = 1e-9
) -> SymmetryTable:
    """Apply random rotations and mirrors to a random molecule and compare every basis.

    Measured with :func:`equibasis.testing.equivariance_error`, the checker the package ships
    for users' models: every basis is one output of a single function of the positions
    (``"cartesian_points"``), evaluated at x and at g x for ``num_rotations`` random rotations
    R and as many improper elements -R (a mirror image, rotated). "Δ" is the error of the
    output declared untransformed, max |f(g x) - f(x)|; "equiv. error", for the harmonics, that
    of the output declared as their irreps, max |f(g x) - D(g) f(x)|. Both are the checker's
    ``rel_error`` (divided by the larger of the two sides' max |f|), the largest over the irrep
    blocks and the group elements. Angles and torsions are SphereNet's (``equibasis.geometry``).

    Args:
        num_atoms: Atoms of the random molecule (all pairs within the 5 Å cutoff).
        num_rotations: Random rotations and random mirrors each.
        seed: Seed of the molecule and the group elements.
        tolerance: Relative error below which a quantity counts as unchanged (float64).

    Returns:
        A :class:`SymmetryTable`.
    """
    from e3nn import o3

    from equibasis.harmonics import spherical_harmonics
    from equibasis.polar import AngleBasis, TorsionBasis
    from equibasis.radial import BesselRBF, GaussianRBF
    from equibasis.tensor_field import EdgeEmbedding
    from equibasis.testing import POINTS, equivariance_error, random_rotation

    cutoff, lmax = 5.0, 3
    gen = torch.Generator().manual_seed(seed)
    pos = molecule(num_atoms, gen) - 1.5
    sh_irreps = o3.Irreps.spherical_harmonics(lmax)
    gaussian, bessel = (
        GaussianRBF(num_basis=16, cutoff=cutoff),
        BesselRBF(num_basis=6, cutoff=cutoff),
    )
    angle = AngleBasis(num_spherical=4, num_radial=3, cutoff=cutoff, variant="dig")
    torsion = {
        v: TorsionBasis(num_spherical=3, num_radial=3, cutoff=cutoff, variant=v)
        for v in ("dig", "consistent")
    }
    embed = EdgeEmbedding(lmax, BesselRBF(num_basis=6, cutoff=cutoff))

    # (name, inputs, output, f(features), irreps of an equivariant output or None, expected)
    cases: list[tuple[str, str, str, Callable[[dict], torch.Tensor], Any, str]] = [
        ("GaussianRBF", "distance", "16 scalars", lambda f: gaussian(f["dist"]), None, _INVARIANT),
        ("BesselRBF", "distance", "6 scalars", lambda f: bessel(f["dist"]), None, _INVARIANT),
        (
            "AngleBasis (m = 0)",
            "distance, angle",
            "4 × 3 scalars",
            lambda f: angle(f["dist_kj"], f["angle"]),
            None,
            _INVARIANT,
        ),
        *[
            (
                f"TorsionBasis ({v!r})",
                "distance, angle, torsion",
                "9 × 3 scalars",
                (lambda f, b=b: b(f["dist_kj"], f["angle"], f["torsion"])),
                None,
                _CHIRAL,
            )
            for v, b in torsion.items()
        ],
        (
            "spherical harmonics",
            "edge vector",
            str(sh_irreps),
            lambda f: spherical_harmonics(list(range(lmax + 1)), f["vec"]),
            sh_irreps,
            _EQUIVARIANT,
        ),
        (
            "EdgeEmbedding radial part",
            "edge vector",
            "6 scalars",
            lambda f: embed(f["vec"])[0],
            None,
            _INVARIANT,
        ),
        (
            "EdgeEmbedding harmonics",
            "edge vector",
            str(embed.irreps_sh),
            lambda f: embed(f["vec"])[1],
            embed.irreps_sh,
            _EQUIVARIANT,
        ),
    ]
    # outputs 0..len(cases)-1 untransformed (Δ), then each equivariant one again as its irreps
    equivariant = [i for i, case in enumerate(cases) if case[4] is not None]
    irreps_out = [None] * len(cases) + [cases[i][4] for i in equivariant]

    def every_basis(p: torch.Tensor) -> tuple[torch.Tensor, ...]:
        values = features(p, cutoff)
        outputs = [case[3](values) for case in cases]
        return (*outputs, *(outputs[i] for i in equivariant))

    elements = [(random_rotation(gen), True) for _ in range(num_rotations)]
    elements += [(-random_rotation(gen), False) for _ in range(num_rotations)]
    worst = {proper: [0.0] * len(irreps_out) for proper in (True, False)}
    for g, proper in elements:
        result = equivariance_error(every_basis, POINTS, irreps_out, [pos], g=g, no_grad=True)
        for e in result.errors:
            worst[proper][e.output] = max(worst[proper][e.output], e.rel_error)

    def errors(proper: bool, i: int) -> tuple[float, float | None]:
        """Δ and equivariance error (None for an invariant basis) of case i."""
        if i not in equivariant:
            return worst[proper][i], None
        return worst[proper][i], worst[proper][len(cases) + equivariant.index(i)]

    rows = []
    for i, (name, inputs, output, _, _, expected) in enumerate(cases):
        measured = (*errors(True, i), *errors(False, i))
        verdict = _classify(*measured, tolerance)
        rows.append(SymmetryRow(name, inputs, output, *measured, verdict, expected))
    return SymmetryTable(tuple(rows), tolerance, num_rotations, num_atoms)


def section(context: Context) -> str:
    """The section's Markdown: what was measured, the table and how to read it."""
    quick = context.quick
    table = measure_symmetry(
        num_atoms=6 if quick else 10, num_rotations=2 if quick else 5, seed=context.seed
    )
    legend = (
        f"A random molecule of {table.num_atoms} atoms (all pairs within the 5 Å cutoff), "
        f"{table.num_rotations} random rotations R and {table.num_rotations} random mirrors "
        "−R (a mirror image, rotated), measured with equibasis's own checker "
        "`equibasis.testing.equivariance_error`. Δ = max |f(Qx) − f(x)|; equiv. error = "
        "max |f(Qx) − D(Q) f(x)| with D(Q) from e3nn's `Irrep.D_from_matrix` (only for outputs "
        "that are irreps); both relative to the larger max |f| of the two sides, the largest "
        "over the irrep blocks and the matrices Q. Angles and torsions are SphereNet's "
        f"(`equibasis.geometry`). A quantity counts as unchanged below {table.tolerance:g}.\n\n"
    )
    summary = (
        "\n\nReading: the radial, angle and tensor-field radial features are invariant: a "
        "model built only on them cannot tell a molecule from its mirror image. The torsion "
        "bases are rotation-invariant but a mirror changes them (the torsion changes sign), "
        "which is how SphereNet/ComENet see chirality — at the price of the discontinuity "
        "below. The spherical harmonics change under both, but exactly as D(Q) says: they are "
        "equivariant, with parity (−1)^l."
    )
    return legend + table.to_markdown() + summary
