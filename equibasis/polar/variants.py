"""The variants of the polar bases, one table each: what differs from one library to the next.

Adding a variant is one row here (and its oracle test); :class:`~equibasis.polar.AngleBasis`
and :class:`~equibasis.polar.TorsionBasis` read everything they need from the row.
"""

from dataclasses import dataclass

__all__ = ["ANGLE_VARIANTS", "ANGLE_VARIANT_TABLE", "TORSION_VARIANTS", "TORSION_VARIANT_TABLE"]


@dataclass(frozen=True)
class AngleVariant:
    """One member of DimeNet's angle basis family.

    Attributes:
        normalization: ``"orthonormal"`` (sqrt(2 / (c^3 j_{l+1}(z_ln)^2))) or ``"dimenet"``
            (the codes' sqrt(2 / j_{l+1}(z_ln)^2)).
        envelope: ``"paper"`` (u(d/c), zero beyond c), ``"pyg"`` (u(d/c) / (d/c), zero beyond
            c) or ``"none"`` (j_l continues beyond c).
        source: Where the variant comes from.
    """

    normalization: str
    envelope: str
    source: str


@dataclass(frozen=True)
class TorsionVariant:
    """One member of SphereNet's torsion basis family.

    Attributes:
        normalization: As :class:`AngleVariant`.
        convention: Order and signs of the harmonics: ``"sphericart"`` (standard, column
            l*l + l + m) or ``"dig"`` (per degree m = 0, 1..l, -l..-1 with (-1)^m; see
            :func:`equibasis.harmonics.convert_sh`).
        pairing: Which radial degree multiplies harmonic f: ``"degree"`` (its own degree l)
            or ``"modulo"`` (DIG: f mod L).
        source: Where the variant comes from.
    """

    normalization: str
    convention: str
    pairing: str
    source: str


ANGLE_VARIANT_TABLE = {
    "paper": AngleVariant("orthonormal", "paper", "DimeNet paper, Eq. (6)"),
    "pyg": AngleVariant("dimenet", "pyg", "PyG SphericalBasisLayer, DimeNet's TensorFlow code"),
    "dig": AngleVariant("dimenet", "none", "DIG SphereNet angle_emb"),
}
TORSION_VARIANT_TABLE = {
    "consistent": TorsionVariant(
        "orthonormal", "sphericart", "degree", "SphereNet paper's formula"
    ),
    "dig": TorsionVariant("dimenet", "dig", "modulo", "DIG SphereNet torsion_emb"),
}
ANGLE_VARIANTS = tuple(ANGLE_VARIANT_TABLE)
TORSION_VARIANTS = tuple(TORSION_VARIANT_TABLE)
