"""Section "Speed against the peers": our bases and the installed peers' on the same inputs."""

import importlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from equibasis.benchmarking import machine_description, time_callable

from ._tables import record_table, version
from .context import Context

__all__ = ["SpeedRow", "SpeedTable", "measure_speed", "section"]


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

        head = (
            f"Machine: {self.machine}. Versions: {self.versions}. Forward pass only, {self.dtype}, "
            f"CPU, median of at least {self.repeats} repeats after a warm-up call; "
            "ratio = peer / equibasis (> 1: equibasis faster). Timings on a shared machine "
            "are indicative; ratios are steadier than absolute times because both sides run "
            "one after the other.\n\n"
        )
        columns = {
            "task": "task",
            "size": "size",
            "equibasis (ms)": lambda r: ms(r.ours_ms),
            "peer": "peer",
            "peer (ms)": lambda r: ms(r.peer_ms),
            "ratio": lambda r: "–" if r.ratio is None else f"{r.ratio:.2f}",
        }
        return head + record_table(self.rows, columns)


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
        radial_cases = (
            ("Gaussian, 50 functions", radial.GaussianRBF(50, 5.0), "GaussianSmearing", "gaussian"),
            ("Bessel, 6 functions", radial.BesselRBF(6, 5.0), "BesselBasisLayer", "bessel"),
        )
        for task, ours, peer_name, key in radial_cases:
            add(
                task,
                lambda ours=ours: ours(dist),
                f"PyG {peer_name}" if pyg else "PyG (not installed)",
                (lambda p=peers[key]: p(dist)) if pyg else None,
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
                versions.append(f"sphericart {version('sphericart')}")
            from equibasis.harmonics import real_spherical_harmonics

            sc = sct.SphericalHarmonics(lmax)
            add(
                f"real harmonics l ≤ {lmax} (standard order)",
                lambda lmax=lmax: real_spherical_harmonics(lmax, vec),
                "sphericart.torch SphericalHarmonics",
                lambda sc=sc: sc(vec),
            )
    return SpeedTable(tuple(rows), machine_description(), ", ".join(versions), repeats, "float32")


def section(context: Context) -> str:
    """The section's Markdown; quick mode: fewer edges and repeats, l ≤ 3, no slow peers."""
    quick = context.quick
    table = measure_speed(
        num_edges=4000 if quick else 20000,
        repeats=3 if quick else 7,
        seed=context.seed,
        lmaxes=(3,) if quick else (3, 8),
        slow_peers=not quick,
    )
    return table.to_markdown()
