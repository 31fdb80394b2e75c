r"""The comparison report: every figure and every table, measured when it is built.

``equibasis report --out reports/`` (or :func:`build_report`) writes ``index.md``, a
self-contained ``index.html`` (figures embedded) and the figures as PNG files beside them:

* the seed article's figures (Gaussian and Bessel curves, DimeNet-style polar maps of the paper
  and code angle bases, torsion maps, real spherical harmonics);
* **conventions**: the same vectors through equibasis, e3nn, sphericart, scipy and a DIG-style
  reference, maximum difference after :func:`equibasis.harmonics.convert_sh`;
* **symmetry**: each basis under random rotations and mirrors (invariant, equivariant, or
  changed by a mirror), and the jump of SphereNet's torsion basis when the reference neighbour
  changes;
* **speed** against the peers installed (PyG, e3nn, sphericart), medians in one run;
* the **model prototype** (``examples/tetris_chirality.py``) when present.

Each measurement is a frozen dataclass with ``to_markdown()``; a section whose modules are
missing says "not available" with the reason instead of failing the whole report.

Example:
    >>> table = SymmetryTable(rows=(), tolerance=1e-9, num_rotations=3, num_atoms=8)
    >>> table.to_markdown().splitlines()[0].startswith("| basis |")
    True
"""

import base64
import html
import importlib
import importlib.util
import math
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from equibasis.benchmarking import format_table, machine_description, time_callable

__all__ = [
    "ConventionRow",
    "ConventionTable",
    "ModelResults",
    "RunInfo",
    "Section",
    "SpeedRow",
    "SpeedTable",
    "SymmetryRow",
    "SymmetryTable",
    "TorsionJump",
    "build_report",
    "markdown_to_html",
    "measure_conventions",
    "measure_speed",
    "measure_symmetry",
    "measure_torsion_jump",
]


def _cell(value: object) -> str:
    """A cell of the report's tables: errors as ``1.2e-15`` (0 as ``0``), None as ``–``.

    Pipes inside text are escaped (``markdown_to_html`` reads them back).
    """
    if value is None:
        return "–"
    if isinstance(value, float):
        return "0" if value == 0 else f"{value:.1e}"
    return str(value).replace("|", "\\|")


def _version(distribution: str) -> str:
    """Installed version of a distribution, or "not installed"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


# --------------------------------------------------------------------------- run information


@dataclass(frozen=True)
class RunInfo:
    """How, where and with what the report was made (its first lines)."""

    command: str
    equibasis_version: str
    torch_version: str
    e3nn_version: str
    python_version: str
    git_commit: str
    device: str
    dtype: str
    seed: int
    machine: str
    date: str
    quick: bool

    @classmethod
    def collect(cls, command: str, seed: int, quick: bool, dtype: str = "float64") -> "RunInfo":
        """Read the versions, commit and machine of the running process."""
        import equibasis

        try:
            import e3nn

            e3nn_version = e3nn.__version__
        except ImportError:  # pragma: no cover - e3nn is a dependency
            e3nn_version = "not installed"
        device = "cpu"
        return cls(
            command=command,
            equibasis_version=equibasis.__version__,
            torch_version=torch.__version__,
            e3nn_version=e3nn_version,
            python_version=platform.python_version(),
            git_commit=_git_commit(),
            device=device,
            dtype=dtype,
            seed=seed,
            machine=machine_description(),
            date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            quick=quick,
        )

    def to_markdown(self) -> str:
        """The header block of the report."""
        lines = [
            "Regenerate with:",
            "",
            "```",
            self.command,
            "```",
            "",
            f"- equibasis {self.equibasis_version}, torch {self.torch_version}, "
            f"e3nn {self.e3nn_version}, Python {self.python_version}",
            f"- git commit: {self.git_commit}",
            f"- device: {self.device}; dtype: {self.dtype} (accuracy and symmetry tables), "
            "float32 (speed); seed: {}".format(self.seed),
            f"- machine: {self.machine}",
            f"- built: {self.date}"
            + (" (quick mode: small sizes, few repeats)" if self.quick else ""),
        ]
        return "\n".join(lines)


def _git_commit() -> str:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return "not available (not a git checkout)"

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "not available (git failed)"
    return commit + (" (with uncommitted changes)" if dirty else "")


# --------------------------------------------------------------------------- conventions


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
        rows = [(r.convention, r.reference, r.max_abs_diff, r.note) for r in self.rows]
        header = ["convention", "reference computed by", "max abs difference", "note"]
        return format_table(header, rows, cell=_cell)


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
                f"sphericart {_version('sphericart')} `SphericalHarmonics(lmax)`",
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


# --------------------------------------------------------------------------- symmetry


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
        header = [
            "basis",
            "inputs",
            "output",
            "Δ rotation",
            "equiv. error rotation",
            "Δ mirror",
            "equiv. error mirror",
            "verdict",
        ]
        rows = [
            (
                r.basis,
                r.inputs,
                r.output,
                r.rotation_change,
                r.rotation_equivariance,
                r.mirror_change,
                r.mirror_equivariance,
                r.verdict if r.ok else f"**{r.verdict} (expected: {r.expected})**",
            )
            for r in self.rows
        ]
        return format_table(header, rows, cell=_cell)


_INVARIANT = "invariant (rotations and mirrors)"
_CHIRAL = "rotation-invariant, changed by a mirror (chiral)"
_EQUIVARIANT = "equivariant (rotations and mirrors)"
_NEITHER = "neither invariant nor equivariant"


def _molecule(num_atoms: int, gen: torch.Generator) -> torch.Tensor:
    """Random positions in a 3 Å box with every pair at least 0.9 Å apart."""
    pos: list[torch.Tensor] = []
    while len(pos) < num_atoms:
        p = 3.0 * torch.rand(3, generator=gen, dtype=torch.float64)
        if all(float((p - q).norm()) >= 0.9 for q in pos):
            pos.append(p)
    return torch.stack(pos)


def _features(pos: torch.Tensor, cutoff: float) -> dict[str, torch.Tensor]:
    """Edges, distances, SphereNet angles and torsions of a molecule (equibasis.geometry).

    ``idx_i``, ``idx_j``, ``idx_k`` name the atoms of each triplet k -> j -> i.
    """
    from equibasis import geometry

    edge_index = geometry.radius_graph(pos, cutoff)
    vec, dist = geometry.edge_vectors(pos, edge_index)
    idx_i, idx_j, idx_k, idx_kj, idx_ji = geometry.triplets(edge_index, pos.shape[0])
    return {
        "vec": vec,
        "dist": dist,
        "dist_kj": dist[idx_kj],
        "angle": geometry.spherenet_angle(pos, idx_i, idx_j, idx_k),
        "torsion": geometry.spherenet_torsion(pos, idx_i, idx_j, idx_k, idx_ji),
        "idx_i": idx_i,
        "idx_j": idx_j,
        "idx_k": idx_k,
    }


def _classify(
    rot_change: float, rot_eq: float | None, mir_change: float, mir_eq: float | None, tol: float
) -> str:
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
    pos = _molecule(num_atoms, gen) - 1.5
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
        features = _features(p, cutoff)
        outputs = [case[3](features) for case in cases]
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
        text.append(format_table(["basis", "largest change / largest value"], rows, cell=_cell))
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

    before, after = (_features(config(sign), 5.0) for sign in (1.0, -1.0))
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


# --------------------------------------------------------------------------- speed


@dataclass(frozen=True)
class SpeedRow:
    """One timing: ours against one peer on the same input."""

    task: str
    size: str
    ours_ms: float | None
    peer: str
    peer_ms: float | None

    @property
    def ratio(self) -> float | None:
        """Peer time / our time (> 1: we are faster)."""
        if self.ours_ms is None or self.peer_ms is None or self.ours_ms == 0:
            return None
        return self.peer_ms / self.ours_ms


@dataclass(frozen=True)
class SpeedTable:
    """Medians of forward passes, ours and peers, measured one after the other in one run."""

    rows: tuple[SpeedRow, ...]
    machine: str
    versions: str
    repeats: int
    dtype: str

    def to_markdown(self) -> str:
        """Machine line and a Markdown table."""

        def ms(v: float | None) -> str:
            return "–" if v is None else f"{v:.3g}"

        rows = [
            (
                r.task,
                r.size,
                ms(r.ours_ms),
                r.peer,
                ms(r.peer_ms),
                "–" if r.ratio is None else f"{r.ratio:.2f}",
            )
            for r in self.rows
        ]
        head = (
            f"Machine: {self.machine}. Versions: {self.versions}. Forward pass only, {self.dtype}, "
            f"CPU, median of at least {self.repeats} repeats after a warm-up call; "
            "ratio = peer / equibasis (> 1: equibasis faster). Timings on a shared machine "
            "are indicative; ratios are steadier than absolute times because both sides run "
            "one after the other.\n\n"
        )
        header = ["task", "size", "equibasis (ms)", "peer", "peer (ms)", "ratio"]
        return head + format_table(header, rows, cell=_cell)


def _build_timed(factory: Callable[[], Any]) -> tuple[Any, float]:
    """``factory()`` and the milliseconds it took (one call: construction is paid once)."""
    built = []
    timing = time_callable(lambda: built.append(factory()), repeats=1, warmup=0)
    return built[0], timing.ms


def measure_speed(
    num_edges: int = 20000,
    repeats: int = 5,
    seed: int = 0,
    lmaxes: Sequence[int] = (3, 8),
    slow_peers: bool = True,
) -> SpeedTable:
    """Time our bases against the installed peers on the same random inputs (float32).

    Args:
        num_edges: Edges (and triplets) per call.
        repeats: Timed repeats per measurement.
        seed: Seed of the inputs.
        lmaxes: Degrees of the harmonics timings.
        slow_peers: Also build PyG's ``SphericalBasisLayer`` (sympy: half a minute) and time
            its construction against ours.

    Returns:
        A :class:`SpeedTable`; a peer that is not installed gets ``None``.
    """
    gen = torch.Generator().manual_seed(seed)
    dist = 0.5 + 4.4 * torch.rand(num_edges, generator=gen)
    angle = math.pi * torch.rand(num_edges, generator=gen)
    vec = torch.randn(num_edges, 3, generator=gen)
    idx = torch.arange(num_edges)
    size = f"{num_edges} edges"
    rows: list[SpeedRow] = []
    versions = [f"torch {torch.__version__}"]

    def add(
        task: str, ours: Callable[[], object] | None, peer: str, other: Callable[[], object] | None
    ) -> None:
        def ms(fn: Callable[[], object] | None) -> float | None:
            if fn is None:
                return None
            with torch.no_grad():  # min_time steadies the fast calls (many more repeats)
                return time_callable(fn, repeats=repeats, warmup=1, min_time=0.05 * repeats).ms

        rows.append(SpeedRow(task, size, ms(ours), peer, ms(other)))

    def optional(module: str) -> Any:
        try:
            return importlib.import_module(module)
        except ImportError:
            return None

    radial = optional("equibasis.radial")
    polar = optional("equibasis.polar")
    from equibasis.harmonics import spherical_harmonics

    pyg = optional("torch_geometric")
    if pyg is not None:
        versions.append(f"torch_geometric {pyg.__version__}")
        from torch_geometric.nn.models.dimenet import BesselBasisLayer, SphericalBasisLayer
        from torch_geometric.nn.models.schnet import GaussianSmearing

        peers = {"gaussian": GaussianSmearing(0.0, 5.0, 50), "bessel": BesselBasisLayer(6, 5.0)}
    if radial is not None:
        g = radial.GaussianRBF(num_basis=50, cutoff=5.0)
        add(
            "Gaussian, 50 functions",
            lambda: g(dist),
            "PyG GaussianSmearing" if pyg else "PyG (not installed)",
            (lambda p=peers["gaussian"]: p(dist)) if pyg else None,
        )
        b = radial.BesselRBF(num_basis=6, cutoff=5.0)
        add(
            "Bessel, 6 functions",
            lambda: b(dist),
            "PyG BesselBasisLayer" if pyg else "PyG (not installed)",
            (lambda p=peers["bessel"]: p(dist)) if pyg else None,
        )
    if polar is not None:
        a, ours_build = _build_timed(
            lambda: polar.AngleBasis(num_spherical=7, num_radial=6, cutoff=5.0, variant="pyg")
        )
        peer_layer, peer_build = None, None
        if pyg and slow_peers:
            peer_layer, peer_build = _build_timed(lambda: SphericalBasisLayer(7, 6, 5.0))
        peer_name = (
            "PyG SphericalBasisLayer"
            if peer_layer is not None
            else "PyG SphericalBasisLayer (skipped: --quick)"
            if pyg
            else "PyG (not installed)"
        )
        rows.append(
            SpeedRow(
                "angle basis 7 × 6: construction (once)", "–", ours_build, peer_name, peer_build
            )
        )
        add(
            "angle basis 7 × 6 (DimeNet code form)",
            lambda: a(dist, angle, idx),
            peer_name,
            (lambda p=peer_layer: p(dist, angle, idx)) if peer_layer is not None else None,
        )
        t = polar.TorsionBasis(num_spherical=3, num_radial=6, cutoff=5.0, variant="dig")
        phi = 2 * math.pi * torch.rand(num_edges, generator=gen)
        add(
            "torsion basis 3 × 3 × 6 (DIG form)",
            lambda: t(dist, angle, phi, idx),
            "DIG (not installed here)",
            None,
        )
    import e3nn
    from e3nn import o3

    versions.append(f"e3nn {e3nn.__version__}")
    for lmax in lmaxes:
        ls = list(range(lmax + 1))
        add(
            f"spherical harmonics l ≤ {lmax}",
            lambda ls=ls: spherical_harmonics(ls, vec),
            "e3nn o3.spherical_harmonics",
            lambda ls=ls: o3.spherical_harmonics(ls, vec, normalize=True),
        )
        sct = optional("sphericart.torch")
        if sct is not None:
            if lmax == lmaxes[0]:
                versions.append(f"sphericart {_version('sphericart')}")
            from equibasis.harmonics import real_spherical_harmonics

            sc = sct.SphericalHarmonics(lmax)
            add(
                f"real harmonics l ≤ {lmax} (standard order)",
                lambda lmax=lmax: real_spherical_harmonics(lmax, vec),
                "sphericart.torch SphericalHarmonics",
                lambda sc=sc: sc(vec),
            )
    return SpeedTable(tuple(rows), machine_description(), ", ".join(versions), repeats, "float32")


# --------------------------------------------------------------------------- report assembly


@dataclass(frozen=True)
class Section:
    """A titled piece of Markdown; ``available`` is False when its modules were missing."""

    title: str
    body: str
    available: bool = True
    seconds: float = 0.0

    def to_markdown(self) -> str:
        """``## title`` followed by the body."""
        return f"## {self.title}\n\n{self.body.strip()}\n"


class _Progress:
    """A dependency-free progress bar on stderr (one line per step when not a terminal)."""

    def __init__(self, total: int, enabled: bool = True, stream: Any = None) -> None:
        self.total, self.done, self.enabled = total, 0, enabled
        self.stream = sys.stderr if stream is None else stream
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()

    def step(self, label: str) -> None:
        if not self.enabled:
            return
        width = 24
        filled = int(width * self.done / self.total)
        bar = "#" * filled + "-" * (width - filled)
        elapsed = time.perf_counter() - self.start
        text = f"equibasis report [{bar}] {self.done}/{self.total} {label} ({elapsed:.0f} s)"
        if self.tty:
            self.stream.write("\r" + text.ljust(100))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def advance(self) -> None:
        self.done += 1

    def close(self) -> None:
        if self.enabled:
            self.step("done")
            if self.tty:
                self.stream.write("\n")
            self.stream.flush()


def _save(fig: Any, path: Path, dpi: int) -> str:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path.name


def _figures(out: Path, quick: bool) -> str:
    """Draw the article's figures into ``out`` and return their Markdown."""
    import matplotlib

    from equibasis import plots

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


@dataclass(frozen=True)
class ModelResults:
    """Accuracies of the Tetris chirality prototype (``examples/tetris_chirality.py``)."""

    rows: tuple[tuple[str, float, float, float, float, float], ...]
    argv: tuple[str, ...]

    def to_markdown(self) -> str:
        """A Markdown table, one row per model."""
        rows = [
            (name, f"{tr:.1%}", f"{ro:.1%}", f"{mi:.1%}", f"{loss:.3g}", f"{sec:.1f}")
            for name, tr, ro, mi, loss, sec in self.rows
        ]
        header = ["model", "train", "rotated copies", "mirrored copies", "final loss", "time (s)"]
        return format_table(header, rows, cell=_cell)


def _model_section(quick: bool, seed: int) -> str:
    root = Path(__file__).resolve().parents[2]
    script = root / "examples" / "tetris_chirality.py"
    how = (
        "`examples/tetris_chirality.py` trains four small models built from equibasis blocks on "
        "the eight Tetris shapes of the Tensor Field Network paper (two of them mirror images "
        "of each other) and tests them on rotated and on mirrored copies."
    )
    if quick:
        return (
            "skipped in `--quick` mode (training takes about a minute); the full report "
            "(`equibasis report`) runs it. " + how
        )
    if not script.exists():
        return (
            "not available: `examples/tetris_chirality.py` is not in this checkout (the report "
            "looks for it in `examples/` beside the package). " + how
        )
    spec = importlib.util.spec_from_file_location("_equibasis_tetris_chirality", script)
    if spec is None or spec.loader is None:
        return f"not available: cannot load {script.name}. " + how
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["--seed", str(seed), "--threads", str(torch.get_num_threads())]
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        results = module.main(argv)
    table = ModelResults(
        tuple(
            (name, r["train"], r["rotated"], r["mirrored"], r["loss"], r["seconds"])
            for name, r in results.items()
        ),
        tuple(argv),
    )
    return (
        f"{how} Ran `python examples/tetris_chirality.py {' '.join(argv)}` (its defaults). "
        "Any model built only on distances and angles (invariant under mirrors) is capped at "
        "7 of 8 classes (87.5 %) on the mirrored copies, where the two chiral labels swap.\n\n"
        + table.to_markdown()
    )


def build_report(
    out: str | Path = "reports",
    quick: bool = False,
    seed: int = 0,
    progress: bool = True,
    command: str | None = None,
) -> Path:
    """Build the report into ``out``: ``index.md``, ``index.html`` and the PNG figures.

    Args:
        out: Output folder (created if needed); existing files of the same names are replaced.
        quick: Small sizes and few repeats (under a minute on 2 cores).
        seed: Seed of every random input.
        progress: Show a progress bar on stderr.
        command: The command line written at the top (default: the equivalent CLI call).

    Returns:
        The path of ``index.md``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if command is None:
        command = f"equibasis report --out {out.as_posix()}" + (" --quick" if quick else "")
        command += f" --seed {seed}" if seed else ""
    torch.manual_seed(seed)
    steps: list[tuple[str, Callable[[], str]]] = [
        ("figures", lambda: _figures(out, quick)),
        (
            "conventions",
            lambda: (
                "The same vectors through each library; equibasis's values converted with "
                "`convert_sh(values, lmax, 'e3nn', dst)`. float64.\n\n"
                + _conventions_markdown(quick, seed)
            ),
        ),
        ("symmetry", lambda: _symmetry_markdown(quick, seed)),
        ("torsion jump", lambda: measure_torsion_jump().to_markdown()),
        (
            "speed",
            lambda: measure_speed(
                num_edges=4000 if quick else 20000,
                repeats=3 if quick else 7,
                seed=seed,
                lmaxes=(3,) if quick else (3, 8),
                slow_peers=not quick,
            ).to_markdown(),
        ),
        ("model prototype", lambda: _model_section(quick, seed)),
    ]
    titles = {
        "figures": "Figures",
        "conventions": "Spherical-harmonic conventions",
        "symmetry": "Invariance and equivariance",
        "torsion jump": "The torsion basis jumps when the reference neighbour changes",
        "speed": "Speed against the peers",
        "model prototype": "Model prototype: telling mirror images apart",
    }
    bar = _Progress(len(steps), enabled=progress)
    sections = []
    for key, make in steps:
        bar.step(key)
        start = time.perf_counter()
        try:
            body, available = make(), True
        except (ImportError, AttributeError, NotImplementedError) as error:
            body, available = f"not available: {type(error).__name__}: {error}", False
        except Exception as error:  # one failed section must not lose the rest
            body, available = (
                f"not available: the measurement failed ({type(error).__name__}: {error})",
                False,
            )
        sections.append(Section(titles[key], body, available, time.perf_counter() - start))
        bar.advance()
    bar.close()

    info = RunInfo.collect(command, seed, quick)
    intro = (
        "Polar bases (Gaussian, Bessel, DimeNet/SphereNet angle and torsion bases) feed a "
        "network scalars: distances, angles and torsions, so they are invariant by "
        "construction, and the torsion ones also see mirror images. Equivariant bases "
        "(spherical harmonics, tensor-field embeddings) keep the direction and transform "
        "predictably instead. Every number below was measured when this report was built."
    )
    contents = "\n".join(
        f"- [{s.title}](#{_anchor(s.title)})" + ("" if s.available else " (not available)")
        for s in sections
    )
    markdown = "\n\n".join(
        [
            "# equibasis comparison report",
            info.to_markdown(),
            intro,
            "Contents:\n\n" + contents,
            *(s.to_markdown() for s in sections),
            "---\nSection times: "
            + ", ".join(
                f"{key} {s.seconds:.1f} s" for (key, _), s in zip(steps, sections, strict=True)
            )
            + ".",
        ]
    )
    index = out / "index.md"
    index.write_text(markdown.strip() + "\n", encoding="utf-8")
    (out / "index.html").write_text(
        markdown_to_html(markdown, base=out, title="equibasis comparison report"), encoding="utf-8"
    )
    return index


def _conventions_markdown(quick: bool, seed: int) -> str:
    table = measure_conventions(
        lmax=4 if quick else 10, num_vectors=200 if quick else 2000, seed=seed
    )
    return (
        f"l ≤ {table.lmax}, {table.num_vectors} vectors (the six axis directions included).\n\n"
        + table.to_markdown()
    )


def _symmetry_markdown(quick: bool, seed: int) -> str:
    table = measure_symmetry(
        num_atoms=6 if quick else 10, num_rotations=2 if quick else 5, seed=seed
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


def _anchor(title: str) -> str:
    slug = re.sub(r"[^\w\- ]", "", title.lower()).strip()
    return re.sub(r"\s+", "-", slug)


# --------------------------------------------------------------------------- HTML rendering


def _inline(text: str, base: Path | None) -> str:
    """Inline Markdown (images, links, code, bold, italics) to HTML; ``text`` is raw."""
    out = []
    pattern = re.compile(
        r"(`[^`]+`)|!\[([^\]]*)\]\(([^)]+)\)|\[([^\]]+)\]\(([^)]+)\)|\*\*([^*]+)\*\*"
    )
    pos = 0
    for match in pattern.finditer(text):
        out.append(html.escape(text[pos : match.start()]))
        code, alt, src, label, href, bold = match.groups()
        if code:
            out.append(f"<code>{html.escape(code[1:-1])}</code>")
        elif src is not None:
            out.append(_image(alt, src, base))
        elif label is not None:
            out.append(f'<a href="{html.escape(href)}">{html.escape(label)}</a>')
        else:
            out.append(f"<strong>{html.escape(bold)}</strong>")
        pos = match.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _image(alt: str, src: str, base: Path | None) -> str:
    path = (base / src) if base is not None else Path(src)
    if base is not None and path.suffix.lower() == ".png" and path.exists():
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        src = f"data:image/png;base64,{data}"
    return f'<img alt="{html.escape(alt)}" src="{html.escape(src)}">'


def markdown_to_html(markdown: str, base: str | Path | None = None, title: str = "report") -> str:
    """Render the subset of Markdown the report uses as one self-contained HTML page.

    Headings, paragraphs, bullet lists, fenced code, pipe tables, inline code, bold, links and
    images; PNG images found under ``base`` are embedded as data URIs, so the page needs no
    other file.

    Args:
        markdown: The Markdown text.
        base: Folder that image paths are relative to (``None``: leave image links as they are).
        title: The page title.

    Returns:
        The HTML document as a string.

    Example:
        >>> '<h1 id="t">T</h1>' in markdown_to_html("# T")
        True
    """
    base = Path(base) if base is not None else None
    lines = markdown.splitlines()
    body: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            body.append("<pre><code>" + html.escape("\n".join(lines[i + 1 : j])) + "</code></pre>")
            i = j + 1
        elif re.match(r"^#{1,6} ", stripped):
            level = len(stripped) - len(stripped.lstrip("#"))
            text = stripped[level:].strip()
            body.append(f'<h{level} id="{_anchor(text)}">{_inline(text, base)}</h{level}>')
            i += 1
        elif stripped.startswith("|"):
            j = i
            while j < len(lines) and lines[j].strip().startswith("|"):
                j += 1
            body.append(_html_table(lines[i:j], base))
            i = j
        elif stripped.startswith("- "):
            items = []
            while i < len(lines) and lines[i].strip().startswith("- "):
                items.append(f"<li>{_inline(lines[i].strip()[2:], base)}</li>")
                i += 1
            body.append("<ul>" + "".join(items) + "</ul>")
        elif stripped == "---":
            body.append("<hr>")
            i += 1
        elif not stripped:
            i += 1
        else:
            j = i
            while (
                j < len(lines)
                and lines[j].strip()
                and not re.match(r"^(#{1,6} |\||- |```|---$)", lines[j].strip())
            ):
                j += 1
            body.append("<p>" + _inline(" ".join(s.strip() for s in lines[i:j]), base) + "</p>")
            i = j
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
        "line-height:1.45;color:#222}img{max-width:100%}table{border-collapse:collapse;"
        "margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .5em;"
        "text-align:left}th{background:#f3f3f3}code{background:#f3f3f3;padding:0 .2em}"
        "pre{background:#f3f3f3;padding:.6em;overflow-x:auto}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{style}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _html_table(rows: list[str], base: Path | None) -> str:
    cells = [
        [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row.strip()[1:-1])]
        for row in rows
    ]
    if len(cells) >= 2 and all(re.fullmatch(r":?-+:?", c) for c in cells[1] if c):
        header, data = cells[0], cells[2:]
    else:
        header, data = None, cells
    parts = ["<table>"]
    if header is not None:
        parts.append("<tr>" + "".join(f"<th>{_inline(c, base)}</th>" for c in header) + "</tr>")
    for row in data:
        parts.append("<tr>" + "".join(f"<td>{_inline(c, base)}</td>" for c in row) + "</tr>")
    parts.append("</table>")
    return "".join(parts)
