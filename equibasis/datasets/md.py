r"""Molecular-dynamics data sets with forces, generated offline: ASE Langevin + GFN2-xTB.

Equilibrium geometries (QM9) have no forces. This module runs Langevin dynamics with ASE and
labels every frame with GFN2-xTB energies and forces from the ``tblite`` package (both on PyPI
as wheels; nothing is downloaded at run time):

* start: ASE's G2 geometry of the molecule (``ase.build.molecule``), velocities drawn from
  Maxwell-Boltzmann at the temperature (centre-of-mass motion and rotation removed);
* Langevin dynamics (``ase.md.langevin.Langevin``), time step 0.5 fs, friction 0.01 / fs,
  500 K (the temperature of MD17), seeded, centre of mass held by ``FixCom``;
* ``equilibration`` steps discarded, then one frame every ``stride`` steps.

The frames' energies and forces are those the dynamics itself computed (the GFN2-xTB energy of
the stored geometry in eV, forces in eV/Å; tblite's ASE calculator converts from atomic units).

A default set of 1,000 ethanol frames ships inside equibasis (``equibasis/data/ethanol_gfn2.npz``,
positions and forces stored as float32). Regenerate it, or make a larger one, with::

    python -m equibasis.datasets md --molecule CH3CH2OH --frames 1000 \
        --out equibasis/data/ethanol_gfn2.npz

which needs ``pip install 'equibasis[md]'`` (ase, tblite) and takes about 30 s on 2 cores for
1,000 frames (11,000 GFN2-xTB calls of about 2 ms each). ``load_md(frames=N)`` for a size other
than the shipped one generates the set once and caches it (``$EQUIBASIS_CACHE`` or
``~/.cache/equibasis``).

References:
    Bannwarth, Ehlert, Grimme, "GFN2-xTB", J. Chem. Theory Comput. 15, 1652 (2019);
    tblite (https://github.com/tblite/tblite, LGPL-3.0); ASE, Larsen et al., J. Phys.:
    Condens. Matter 29, 273002 (2017); MD17, Chmiela et al., Sci. Adv. 3, e1603015 (2017).
"""

import argparse
import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from equibasis.datasets._dataset import MolecularDataset

__all__ = ["DEFAULT_FRAMES", "generate_md", "load_ethanol", "load_md", "xtb_energy_forces"]

DEFAULT_FRAMES = 1000
_DATA = Path(__file__).resolve().parent.parent / "data"
_SHIPPED = {"CH3CH2OH": _DATA / "ethanol_gfn2.npz"}
_NAMES = {"ethanol": "CH3CH2OH"}


def _require_md() -> None:
    missing = [name for name in ("ase", "tblite") if _spec(name) is None]
    if missing:
        raise ImportError(
            f"generating MD data needs {' and '.join(missing)}: pip install 'equibasis[md]'"
        )


def _spec(name: str) -> object:
    import importlib.util

    return importlib.util.find_spec(name)


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Idle torch's thread pool while tblite runs.

    Both spin on OpenMP; with torch's threads awake, a 2 ms GFN2-xTB call of ethanol took
    1.5 s on a 2-core machine.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _calculator():
    from tblite.ase import TBLite

    return TBLite(method="GFN2-xTB", verbosity=0)


def xtb_energy_forces(
    numbers: np.ndarray | torch.Tensor, positions: np.ndarray | torch.Tensor
) -> tuple[float, np.ndarray]:
    """GFN2-xTB energy (eV) and forces (eV/Å) of one geometry, from tblite through ASE.

    Args:
        numbers: Atomic numbers, shape ``(N,)``.
        positions: Positions in Å, shape ``(N, 3)``.

    Raises:
        ImportError: If ase or tblite is missing (the ``md`` extra).
    """
    _require_md()
    from ase import Atoms

    atoms = Atoms(numbers=np.asarray(numbers), positions=np.asarray(positions, dtype=np.float64))
    atoms.calc = _calculator()
    with _torch_threads(1):
        return float(atoms.get_potential_energy()), np.array(atoms.get_forces())


def generate_md(
    molecule: str = "CH3CH2OH",
    frames: int = DEFAULT_FRAMES,
    *,
    temperature: float = 500.0,
    timestep: float = 0.5,
    friction: float = 0.01,
    stride: int = 10,
    equilibration: int = 1000,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Run seeded Langevin dynamics labelled by GFN2-xTB and return the frames.

    Args:
        molecule: An ASE G2 name (``"CH3CH2OH"`` = ethanol; ``"ethanol"`` is accepted).
        frames: Frames to keep (>= 1).
        temperature: Thermostat temperature in K.
        timestep: Time step in fs.
        friction: Langevin friction in 1/fs.
        stride: Steps between kept frames (>= 1).
        equilibration: Steps discarded first (>= 0).
        seed: Seed of the initial velocities and the Langevin noise.
        progress: Show a tqdm bar.

    Returns:
        Arrays ``z`` ``(N,)``, ``pos`` ``(F, N, 3)`` Å, ``energy`` ``(F,)`` eV, ``forces``
        ``(F, N, 3)`` eV/Å, and ``meta`` (a JSON string of the settings and versions).

    Raises:
        ImportError: If ase or tblite is missing (the ``md`` extra).
    """
    _require_md()
    import ase
    from ase import units
    from ase.build import molecule as build
    from ase.constraints import FixCom
    from ase.md import velocitydistribution as velocities
    from ase.md.langevin import Langevin

    if frames < 1 or stride < 1 or equilibration < 0:
        raise ValueError("frames and stride must be >= 1 and equilibration >= 0")
    name = _NAMES.get(molecule, molecule)
    atoms = build(name)
    atoms.calc = _calculator()
    rng = np.random.default_rng(seed)
    if hasattr(velocities, "thermalize_momenta"):  # ASE >= 3.29 (the same draw, renamed)
        velocities.thermalize_momenta(atoms, temperature, rng=rng)
    else:
        velocities.MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=rng)
    velocities.Stationary(atoms)
    velocities.ZeroRotation(atoms)
    atoms.set_constraint(FixCom())  # ASE's recommended way to hold the centre of mass
    dyn = Langevin(
        atoms,
        timestep=timestep * units.fs,
        temperature_K=temperature,
        friction=friction / units.fs,
        rng=rng,
        fixcm=False,
    )
    pos = np.empty((frames, len(atoms), 3))
    forces = np.empty((frames, len(atoms), 3))
    energy = np.empty(frames)
    start = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=frames, desc=f"MD {name}", unit="frame")
    with _torch_threads(1):
        dyn.run(equilibration)
        for f in range(frames):
            dyn.run(stride)
            pos[f] = atoms.get_positions()
            energy[f] = atoms.get_potential_energy()  # cached: computed by the last step
            forces[f] = atoms.get_forces(apply_constraint=False)  # the physical forces
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.close()
    from importlib.metadata import version

    meta = {
        "molecule": name,
        "method": "GFN2-xTB (tblite)",
        "frames": frames,
        "temperature_K": temperature,
        "timestep_fs": timestep,
        "friction_per_fs": friction,
        "stride": stride,
        "equilibration": equilibration,
        "seed": seed,
        "ase": ase.__version__,
        "tblite": version("tblite"),
        "seconds": round(time.perf_counter() - start, 1),
        "units": {"pos": "Å", "energy": "eV", "forces": "eV/Å"},
    }
    return {
        "z": atoms.get_atomic_numbers().astype(np.uint8),
        "pos": pos,
        "energy": energy,
        "forces": forces,
        "meta": np.array(json.dumps(meta)),
    }


def _save(path: Path, data: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        z=data["z"],
        pos=data["pos"].astype(np.float32),
        energy=data["energy"].astype(np.float64),
        forces=data["forces"].astype(np.float32),
        meta=data["meta"],
    )
    os.replace(tmp, path)


def _from_npz(path: Path, name: str) -> MolecularDataset:
    with np.load(path) as data:
        z = torch.from_numpy(data["z"].astype(np.int64))
        pos = torch.from_numpy(data["pos"].astype(np.float64))
        forces = torch.from_numpy(data["forces"].astype(np.float64))
        frames, n = pos.shape[:2]
        meta = json.loads(str(data["meta"]))
        return MolecularDataset(
            name,
            z.repeat(frames),
            pos.reshape(-1, 3),
            torch.arange(frames + 1, dtype=torch.int64) * n,
            torch.from_numpy(data["energy"]),
            forces.reshape(-1, 3),
            torch.arange(frames, dtype=torch.int64),
            f"{meta['method']} Langevin MD of {meta['molecule']} at {meta['temperature_K']} K, "
            f"{meta['frames']} frames every {meta['stride'] * meta['timestep_fs']} fs, "
            f"seed {meta['seed']}",
        )


def _cache_dir() -> Path:
    root = os.environ.get("EQUIBASIS_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "equibasis"


def load_md(
    molecule: str = "CH3CH2OH",
    frames: int = DEFAULT_FRAMES,
    seed: int = 0,
    path: str | Path | None = None,
    progress: bool = False,
) -> MolecularDataset:
    """MD frames with GFN2-xTB energies (eV) and forces (eV/Å).

    The shipped set is used for ethanol with ``frames=1000, seed=0``; any other request is
    generated once (see :func:`generate_md`) and cached. ``path`` loads (or generates into)
    a given npz file instead.

    Raises:
        ImportError: If the set must be generated and the ``md`` extra is missing.
    """
    name = _NAMES.get(molecule, molecule)
    label = "ethanol" if name == "CH3CH2OH" else name
    if path is None:
        shipped = _SHIPPED.get(name)
        if shipped is not None and frames == DEFAULT_FRAMES and seed == 0:
            path = shipped
        else:
            path = _cache_dir() / f"md_{name}_gfn2_{frames}_seed{seed}.npz"
    path = Path(path)
    if not path.is_file():
        _save(path, generate_md(name, frames, seed=seed, progress=progress))
    return _from_npz(path, label)


def load_ethanol(frames: int = DEFAULT_FRAMES, seed: int = 0) -> MolecularDataset:
    """Ethanol MD frames (GFN2-xTB, 500 K): the shipped 1,000 by default.

    Example:
        >>> eth = load_ethanol()
        >>> len(eth), eth.num_atoms, eth.units["forces"]
        (1000, 9000, 'eV/Å')
    """
    return load_md("CH3CH2OH", frames, seed)


def main(argv: list[str] | None = None) -> int:
    """``python -m equibasis.datasets md``: generate an MD set into an npz file."""
    parser = argparse.ArgumentParser(description="Langevin MD labelled by GFN2-xTB (tblite).")
    parser.add_argument("--molecule", default="CH3CH2OH", help="ASE G2 name (CH3CH2OH)")
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES, help="frames (1000)")
    parser.add_argument("--stride", type=int, default=10, help="steps between frames (10)")
    parser.add_argument("--temperature", type=float, default=500.0, help="K (500)")
    parser.add_argument("--seed", type=int, default=0, help="seed (0)")
    parser.add_argument("--out", type=Path, required=True, help="npz file to write")
    args = parser.parse_args(argv)
    data = generate_md(
        args.molecule,
        args.frames,
        stride=args.stride,
        temperature=args.temperature,
        seed=args.seed,
        progress=True,
    )
    _save(args.out, data)
    meta = json.loads(str(data["meta"]))
    print(f"wrote {args.out}: {args.frames} frames in {meta['seconds']} s")
    return 0
