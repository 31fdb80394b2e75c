"""Speed of the radial bases against PyG's GaussianSmearing and BesselBasisLayer.

Usage: python benchmarks/bench_radial.py [--quick] [--threads N]

Every basis is timed at N = 10^5 and 10^6 float32 distances on the CPU (``--quick``: 10^5
only), forward only, medians of several repeats after warm-up, all in one run on the same
inputs. Distances are uniform on [0, 1.2 cutoff] (some beyond the cutoff, a few near 0, as in a
radius graph with padding) and, for the Bessel bases, also on [0.5, 1.2 cutoff] (physical
distances: no r near 0, where BesselRBF patches a Taylor series into the affected rows).

Peers (``bench`` extra): PyG ``torch_geometric.nn.models.schnet.GaussianSmearing`` (the same
function as DIG SchNet's ``emb``) for :class:`GaussianRBF`, and PyG
``torch_geometric.nn.models.dimenet.BesselBasisLayer`` (the same function as DIG SphereNet's
``dist_emb``) for :class:`BesselRBF`. The other bases have no peer installed here; their times
are listed for scale ("-" in the peer columns).
"""

import argparse

import torch

from equibasis.benchmarking import format_table, machine_description, time_callable
from equibasis.radial import (
    BernsteinRBF,
    BesselRBF,
    ExpNormalRBF,
    GaussianRBF,
    SphericalBesselRBF,
)

CUTOFF = 5.0


def _peers():
    try:
        from torch_geometric.nn.models.dimenet import BesselBasisLayer
        from torch_geometric.nn.models.schnet import GaussianSmearing
    except ImportError:  # the bench extra is not installed: time ours alone
        return None, None
    return GaussianSmearing, BesselBasisLayer


def _cases(gaussian_smearing, bessel_layer):
    """(name, ours, peer or None, low end of the distances)."""
    pyg_gauss = gaussian_smearing(0.0, CUTOFF, 50) if gaussian_smearing else None
    pyg_bessel = bessel_layer(6, CUTOFF, 5) if bessel_layer else None
    if pyg_bessel is not None:
        pyg_bessel.requires_grad_(False)
    return [
        ("GaussianRBF(50)", GaussianRBF(50, CUTOFF), pyg_gauss, 0.0),
        ("GaussianRBF.preset('schnet') (300)", GaussianRBF.preset("schnet"), None, 0.0),
        ("BesselRBF(6)", BesselRBF(6, CUTOFF), pyg_bessel, 0.0),
        ("BesselRBF(6), r >= 0.5", BesselRBF(6, CUTOFF), pyg_bessel, 0.5),
        ("BesselRBF(6, trainable)", BesselRBF(6, CUTOFF, trainable=True), pyg_bessel, 0.0),
        ("SphericalBesselRBF(7, 6)", SphericalBesselRBF(7, 6, CUTOFF), None, 0.0),
        ("ExpNormalRBF(64)", ExpNormalRBF(64, CUTOFF), None, 0.0),
        ("BernsteinRBF(16)", BernsteinRBF(16, CUTOFF), None, 0.0),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^5 distances only")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    sizes = [10**5] if args.quick else [10**5, 10**6]
    repeats = 7 if args.quick else 5
    gaussian_smearing, bessel_layer = _peers()
    generator = torch.Generator().manual_seed(0)
    rows = []
    with torch.no_grad():
        for n in sizes:
            unit = torch.rand(n, generator=generator)
            for name, ours, peer, low in _cases(gaussian_smearing, bessel_layer):
                r = low + unit * (1.2 * CUTOFF - low)
                t_ours = time_callable(lambda m=ours, r=r: m(r), repeats=repeats)
                if peer is None:
                    rows.append([name, n, t_ours.ms, "-", "-"])
                    continue
                t_peer = time_callable(lambda m=peer, r=r: m(r), repeats=repeats)
                rows.append([name, n, t_ours.ms, t_peer.ms, t_peer.median / t_ours.median])
    print(f"# Radial bases, float32 CPU forward ({machine_description()})\n")
    header = ["basis", "N", "ours (ms)", "PyG (ms)", "PyG / ours"]
    print(format_table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
