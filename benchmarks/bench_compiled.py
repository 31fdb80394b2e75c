"""Compiled, the way torch 2.13 tells users to deploy: ours and the peers under torch.compile.

``torch.compile`` (inductor) of ``SphericalHarmonics`` (against e3nn's
``spherical_harmonics``, compiled; e3nn's module is TorchScript, which dynamo does not trace),
``AngleBasis(7, 6, variant="pyg")`` (against PyG's ``SphericalBasisLayer``, eager: its inductor
compile did not finish in 10 minutes on 2 cores) and ``EdgeEmbedding(2, GaussianRBF(8))``
(against e3nn's composition, compiled), with our eager path timed beside them; forward and
forward + backward, float32, alternating rounds. Ratios: peer / ours compiled (>= 1: ours is at
least as fast) and ours eager / ours compiled (>= 1: compiling never makes ours slower).

Usage: ``python benchmarks/bench_compiled.py [--size N] [--busy]``
"""

import argparse
import sys
from pathlib import Path

import e3nn.o3
import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_harmonics import busy_neighbour
from bench_tensor_field import e3nn_embedding

from equibasis.benchmarking import format_table, machine_description, time_alternately
from equibasis.harmonics import SphericalHarmonics
from equibasis.polar import AngleBasis
from equibasis.radial import GaussianRBF
from equibasis.tensor_field import EdgeEmbedding


def _cases(n: int):
    gen = torch.Generator().manual_seed(0)
    vec = torch.randn(n, 3, generator=gen) * 2.0
    dist = 0.5 + 4.4 * torch.rand(n, generator=gen)
    angle = torch.pi * torch.rand(n, generator=gen)
    idx = torch.arange(n)
    from torch_geometric.nn.models.dimenet import SphericalBasisLayer

    irreps = e3nn.o3.Irreps.spherical_harmonics(4)
    embed = EdgeEmbedding(2, GaussianRBF(8, 5.0))
    # (lists of degrees for e3nn: a dynamo guard calls len() on an Irreps, which e3nn refuses)
    return [
        ("harmonics lmax 4", SphericalHarmonics(irreps),
         lambda v: e3nn.o3.spherical_harmonics([0, 1, 2, 3, 4], v, True), (vec,)),
        ("AngleBasis (7, 6) pyg", AngleBasis(7, 6, 5.0, variant="pyg"),
         SphericalBasisLayer(7, 6, 5.0, 5), (dist, angle, idx)),
        ("EdgeEmbedding l 2, Gaussian 8", embed,
         lambda v: e3nn_embedding(v, [0, 1, 2], "gaussian"), (vec,)),
    ]  # fmt: skip


def _total(out) -> torch.Tensor:
    parts = out if isinstance(out, tuple) else (out,)
    return sum(p.where(torch.isfinite(p), 0.0).sum() for p in parts)


def _runs(fn, inputs, backward: bool):
    def forward():
        with torch.no_grad():
            fn(*inputs)

    def both():
        args = [t.detach().requires_grad_() if t.is_floating_point() else t for t in inputs]
        _total(fn(*args)).backward()

    return both if backward else forward


def main(argv: list[str] | None = None) -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10**5, help="vectors / triplets / edges")
    parser.add_argument("--busy", action="store_true", help="one busy process beside")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cases", nargs="+", help="only cases whose name contains one of these")
    args = parser.parse_args(argv)
    rows = []
    with busy_neighbour(args.busy):
        for name, ours, peer, inputs in _cases(args.size):
            if args.cases and not any(c in name for c in args.cases):
                continue
            ours_c = torch.compile(ours, dynamic=False)
            # PyG's SphericalBasisLayer (42 lambdified sympy functions) did not finish compiling
            # in 10 min on 2 cores: it is timed eagerly (its deployed form in practice)
            peer_c = peer if "AngleBasis" in name else torch.compile(peer, dynamic=False)
            for backward in (False, True):
                fns = [_runs(f, inputs, backward) for f in (ours_c, peer_c, ours)]
                t_ours, t_peer, t_eager = time_alternately(fns, rounds=args.rounds, warmup=2)
                kind = "fwd+bwd" if backward else "fwd"
                rows.append([name, kind, t_ours.ms, t_peer.ms, t_peer.ms / t_ours.ms, t_eager.ms,
                             t_eager.ms / t_ours.ms])  # fmt: skip
                print(rows[-1], flush=True)
    load = ", one busy process beside" if args.busy else ""
    print(f"\ntorch.compile (inductor), float32, N = {args.size}{load}; medians in ms")
    print(machine_description())
    print()
    header = ["case", "workload", "ours compiled", "peer compiled", "peer / ours", "ours eager",
              "eager / compiled"]  # fmt: skip
    print(format_table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
