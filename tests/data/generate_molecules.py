"""Regenerate ``equibasis/data/molecules.json`` from ASE's G2 collection.

Run from the repository root (ASE is needed here only, never by equibasis itself)::

    pip install ase
    python tests/data/generate_molecules.py

The file holds a few dozen small, closed-shell molecules (mostly organic) of the G2/97 test set:
MP2(full)/6-31G(d) optimised geometries (Curtiss, Raghavachari, Redfern, Pople, J. Chem. Phys.
106, 1063 (1997)), as ASE distributes them in ``ase.collections.g2``. Coordinates are written as
ASE stores them (Angstrom, 6 decimals), molecules ordered by number of atoms so that hypothesis
shrinks towards the smallest one.
"""

import json
from pathlib import Path

import ase
from ase.collections import g2

NAMES = [
    "H2O", "NH3", "HCN", "CO2", "C2H2", "H2CO", "CH4", "CH3Cl", "HCOOH", "H2CCO", "H2CF2",
    "C2H4", "CH3OH", "CH3CN", "CH3SH", "H2CCHF", "OCHCHO", "C3H4_C3v", "CH2OCH2", "CH3CHO",
    "CH3NO2", "H3CNH2", "CH3COF", "C2H6", "CH3COOH", "HCOOCH3", "CH3CH2Cl", "C3H6_D3h", "C4H4O",
    "C4H4S", "CH3CH2OH", "CH3OCH3", "CH3CONH2", "C4H4NH", "CH3COCH3", "butadiene", "CH3CH2NH2",
    "C3H8", "C5H5N", "C6H6", "cyclobutane", "isobutane", "trans-butane",
]  # fmt: skip

OUT = Path(__file__).resolve().parents[2] / "equibasis" / "data" / "molecules.json"


def main() -> None:
    molecules = []
    for name in NAMES:
        atoms = g2[name]
        molecules.append(
            {
                "name": name,
                "formula": atoms.get_chemical_formula(),
                "numbers": [int(z) for z in atoms.numbers],
                "positions": [[round(float(c), 6) for c in row] for row in atoms.positions],
            }
        )
    # smallest first (hypothesis shrinks towards the first); ties keep the curated order
    molecules.sort(key=lambda m: len(m["numbers"]))
    data = {
        "description": "Small closed-shell molecules (mostly organic) for rotation tests.",
        "source": (
            "G2/97 test set, MP2(full)/6-31G(d) optimised geometries: L. A. Curtiss, "
            "K. Raghavachari, P. C. Redfern, J. A. Pople, J. Chem. Phys. 106, 1063 (1997); "
            f"coordinates as distributed in ASE {ase.__version__} (ase.collections.g2, "
            "from ase.data.g2_1 / g2_2)."
        ),
        "licence": (
            "Published reference geometries (scientific data), redistributed by ASE, which is "
            "licensed LGPL-2.1-or-later; reproduced here with attribution."
        ),
        "generator": "tests/data/generate_molecules.py",
        "units": "angstrom",
        "molecules": molecules,
    }
    # one line per molecule keeps the file small and diff-friendly
    header = json.dumps({k: v for k, v in data.items() if k != "molecules"}, indent=1)[:-2]
    rows = ",\n  ".join(json.dumps(m, separators=(",", ":")) for m in molecules)
    OUT.write_text(f'{header},\n "molecules": [\n  {rows}\n ]\n}}\n')
    print(f"wrote {len(molecules)} molecules to {OUT}")


if __name__ == "__main__":
    main()
