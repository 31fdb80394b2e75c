"""EdgeEmbedding and TensorFieldConv against the same jobs hand-wired from e3nn.

Embedding: ``EdgeEmbedding(lmax, radial)`` (norm computed once, radial basis x polynomial
envelope, harmonics of the unit vector) against e3nn's composition ``vec.norm()`` +
``soft_one_hot_linspace(r, 0, cutoff, num_basis, basis, cutoff=True)`` +
``o3.spherical_harmonics(irreps_sh, vec, normalize=True)``: our GaussianRBF against e3nn's
``"gaussian"`` basis, our BesselRBF (DimeNet's) against e3nn's ``"bessel"``, and our GaussianRBF
against ``"smooth_finite"`` (the radial basis of e3nn's example networks).

Convolution: ``TensorFieldConv`` against the equivalent layer wired by hand from e3nn (the
e3nn composition above, then the same ``FullyConnectedNet``, ``TensorProduct`` and ``Linear``
modules, ``index_add_`` to the targets).

Run ``python benchmarks/bench_tensor_field.py [--quick]``: medians in ms and the ratio
e3nn / ours (> 1: ours is faster), measured in one run, ours and e3nn timed alternately
(a shared machine's load then hits both alike).
Forward passes only (no gradient), float32.
"""

import argparse
import math
from functools import partial

import torch
from e3nn import o3
from e3nn.math import soft_one_hot_linspace

from equibasis.benchmarking import format_table, machine_description, time_alternately
from equibasis.radial import BesselRBF, GaussianRBF
from equibasis.tensor_field import EdgeEmbedding, TensorFieldConv

CUTOFF = 5.0
NUM_BASIS = 8
# (our radial basis, e3nn soft_one_hot_linspace basis): same family, then e3nn's network default
PAIRS = (("Gaussian", "gaussian"), ("Bessel", "bessel"), ("Gaussian", "smooth_finite"))


def e3nn_embedding(vec: torch.Tensor, irreps_sh: o3.Irreps, basis: str):
    """e3nn's unfused composition: norm, soft one-hot radial basis, harmonics."""
    r = vec.norm(dim=-1)
    radial = soft_one_hot_linspace(r, 0.0, CUTOFF, NUM_BASIS, basis=basis, cutoff=True)
    sh = o3.spherical_harmonics(irreps_sh, vec, normalize=True, normalization="component")
    return radial, sh


def e3nn_conv(conv: TensorFieldConv, x, pos, edge_index):
    """The same layer wired by hand from e3nn pieces (sharing the conv's weights)."""
    src, dst = edge_index
    vec = pos[src] - pos[dst]
    radial, sh = e3nn_embedding(vec, conv.irreps_sh, "bessel")
    messages = conv.tp(x[src], sh, conv.mlp(radial))
    out = torch.zeros(x.shape[0], messages.shape[1], dtype=x.dtype).index_add_(0, dst, messages)
    return conv.linear(out)


def paired(ours, peer, rounds: int) -> tuple[float, float]:
    """Median ms of ``ours`` and ``peer``, timed alternately after one warm-up call each."""
    a, b = time_alternately([ours, peer], rounds=rounds)
    return a.ms, b.ms


def random_graph(num_edges: int, gen: torch.Generator, neighbours: int = 20):
    """Positions in a box and random directed edges (about ``neighbours`` per atom)."""
    n = max(num_edges // neighbours, 2)
    pos = torch.rand(n, 3, generator=gen) * 2.0 * CUTOFF
    src = torch.randint(0, n, (num_edges,), generator=gen)
    dst = (src + torch.randint(1, n, (num_edges,), generator=gen)) % n  # no self loops
    return pos, torch.stack([src, dst])


def main(argv: list[str] | None = None) -> str:
    """Run the benchmark and print (and return) the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10^4 and 10^5 edges only")
    parser.add_argument("--lmax", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=9, help="alternating rounds")
    parser.add_argument("--irreps", default="8x0e + 4x1o + 2x2e", help="conv in/out irreps")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    sizes = [10**4, 10**5] if args.quick else [10**4, 10**5, 10**6]
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    irreps_sh = o3.Irreps.spherical_harmonics(args.lmax)
    embeds = {
        "Gaussian": EdgeEmbedding(args.lmax, GaussianRBF(num_basis=NUM_BASIS, cutoff=CUTOFF)),
        "Bessel": EdgeEmbedding(args.lmax, BesselRBF(num_basis=NUM_BASIS, cutoff=CUTOFF)),
    }
    radial = BesselRBF(num_basis=NUM_BASIS, cutoff=CUTOFF)
    conv = TensorFieldConv(args.irreps, args.irreps, args.lmax, radial, hidden=[32])
    irreps = o3.Irreps(args.irreps)
    embeds = {k: m.to(device) for k, m in embeds.items()}
    conv = conv.to(device)

    rows = []
    with torch.no_grad():
        for num_edges in sizes:
            label = f"1e{round(math.log10(num_edges))}"
            vec = ((torch.rand(num_edges, 3, generator=gen) * 2 - 1) * CUTOFF).to(device)
            for ours_name, basis in PAIRS:
                ours, peer = paired(
                    partial(embeds[ours_name], vec),
                    partial(e3nn_embedding, vec, irreps_sh, basis),
                    args.repeats,
                )
                name = f"embedding {ours_name} vs e3nn {basis}"
                rows.append([name, label, ours, peer, peer / ours])
            pos, edge_index = random_graph(num_edges, gen)
            x = torch.randn(pos.shape[0], irreps.dim, generator=gen).to(device)
            pos, edge_index = pos.to(device), edge_index.to(device)
            ours, peer = paired(
                partial(conv, x, pos, edge_index),
                partial(e3nn_conv, conv, x, pos, edge_index),
                args.repeats,
            )
            rows.append(["conv vs hand-wired e3nn", label, ours, peer, peer / ours])
    table = format_table(["case", "edges", "ours (ms)", "e3nn (ms)", "e3nn / ours"], rows)
    print(f"{machine_description()}; lmax = {args.lmax}, {NUM_BASIS} radial functions, "
          f"conv irreps {args.irreps}, float32, forward only")  # fmt: skip
    print(table)
    return table


if __name__ == "__main__":
    main()
