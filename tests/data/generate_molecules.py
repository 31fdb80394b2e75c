"""Regenerate ``equibasis/data/molecules.json`` from ASE's G2 collection.

Run from the repository root (ASE and RDKit are needed here only, never by equibasis itself)::

    pip install ase rdkit
    python tests/data/generate_molecules.py

The file holds a few dozen small, closed-shell molecules (mostly organic) of the G2/97 test set:
MP2(full)/6-31G(d) optimised geometries (Curtiss, Raghavachari, Redfern, Pople, J. Chem. Phys.
106, 1063 (1997)), as ASE distributes them in ``ase.collections.g2``. Coordinates are written as
ASE stores them (Angstrom, 6 decimals), molecules ordered by number of atoms so that hypothesis
shrinks towards the smallest one.

The G2 set has no molecule with a stereocentre, so a few small chiral molecules are added
(flagged ``"chiral": true``): one enantiomer each, embedded from SMILES with RDKit's ETKDG
(random seed 42) and relaxed with the MMFF94 force field. Their names carry the CIP label of the
stereocentre, checked here against RDKit's assignment.
"""

import json
from pathlib import Path

import ase
import rdkit
from ase.collections import g2
from rdkit import Chem
from rdkit.Chem import AllChem

NAMES = [
    "H2O", "NH3", "HCN", "CO2", "C2H2", "H2CO", "CH4", "CH3Cl", "HCOOH", "H2CCO", "H2CF2",
    "C2H4", "CH3OH", "CH3CN", "CH3SH", "H2CCHF", "OCHCHO", "C3H4_C3v", "CH2OCH2", "CH3CHO",
    "CH3NO2", "H3CNH2", "CH3COF", "C2H6", "CH3COOH", "HCOOCH3", "CH3CH2Cl", "C3H6_D3h", "C4H4O",
    "C4H4S", "CH3CH2OH", "CH3OCH3", "CH3CONH2", "C4H4NH", "CH3COCH3", "butadiene", "CH3CH2NH2",
    "C3H8", "C5H5N", "C6H6", "cyclobutane", "isobutane", "trans-butane",
]  # fmt: skip

# name (with the CIP label of its stereocentre), isomeric SMILES
CHIRAL = [
    ("(R)-CHFClBr", "F[C@H](Cl)Br"),
    ("(R)-glyceraldehyde", "C([C@H](C=O)O)O"),
    ("(S)-lactic acid", "C[C@@H](C(=O)O)O"),
    ("L-alanine", "C[C@@H](C(=O)O)N"),
    ("(R)-2-butanol", "CC[C@@H](C)O"),
]

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
    for name, smiles in CHIRAL:
        mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
        Chem.AssignStereochemistry(mol, cleanIt=True, force=True)
        labels = {a.GetProp("_CIPCode") for a in mol.GetAtoms() if a.HasProp("_CIPCode")}
        assert len(labels) == 1 and (name.startswith(f"({labels.pop()})") or "alanine" in name)
        assert AllChem.EmbedMolecule(mol, randomSeed=42) == 0, name
        assert AllChem.MMFFOptimizeMolecule(mol, maxIters=2000) == 0, name
        pos = mol.GetConformer().GetPositions()
        molecules.append(
            {
                "name": name,
                "formula": Chem.rdMolDescriptors.CalcMolFormula(mol),
                "numbers": [a.GetAtomicNum() for a in mol.GetAtoms()],
                "positions": [[round(float(c), 6) for c in row] for row in pos],
                "chiral": True,
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
        "chiral_source": (
            "Molecules flagged chiral: one enantiomer each, embedded from isomeric SMILES with "
            f"RDKit {rdkit.__version__} (ETKDG, random seed 42) and relaxed with MMFF94."
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
