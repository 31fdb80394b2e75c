"""Speed of equibasis spherical harmonics against e3nn and sphericart, ratios from one run.

Forward and forward+backward (gradient of the sum with respect to the vectors), float32, for
lmax in 2, 4, 8, 12, 20 and N = 1e5, 1e6 vectors (``--quick``: N = 1e5, lmax 4, 8, 12). e3nn
stops at lmax 12 and sphericart (``pip install sphericart[torch]``, the ``bench`` extra) is
skipped when missing. All three compute the same normalised harmonics (sphericart on permuted
axes), so the ratios compare equal work. Ratios are peer time / our time: > 1 means faster.

Usage: ``python benchmarks/bench_harmonics.py [--quick] [--device cuda] [--threads 1]``
"""

import argparse

import e3nn.o3
import torch

from equibasis.benchmarking import format_table, machine_description, time_callable
from equibasis.harmonics import spherical_harmonics

try:
    import sphericart.torch as sphericart_torch
except ImportError:  # the `bench` extra is optional
    sphericart_torch = None


def _fwd_bwd(fn, x):
    def run():
        x.grad = None
        fn(x).sum().backward()

    return run


def main(argv: list[str] | None = None) -> int:
    """Print the Markdown table of medians (ms) and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1e5 and lmax 4, 8, 12 only")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sizes = [10**5] if args.quick else [10**5, 10**6]
    lmaxes = [4, 8, 12] if args.quick else [2, 4, 8, 12, 20]
    timing = dict(repeats=args.repeats, warmup=2, device=device)

    rows = []
    for n in sizes:
        x = torch.randn(n, 3, device=device, generator=None)
        xg = x.clone().requires_grad_()
        for lmax in lmaxes:
            ls = list(range(lmax + 1))
            peers = {"equibasis": lambda v, ls=ls: spherical_harmonics(ls, v)}
            if lmax <= 12:
                peers["e3nn"] = lambda v, ls=ls: e3nn.o3.spherical_harmonics(ls, v, True)
            if sphericart_torch is not None:
                sph = sphericart_torch.SphericalHarmonics(lmax)
                peers["sphericart"] = lambda v, sph=sph: sph(v)
            fwd = {k: time_callable(lambda f=f, x=x: f(x), **timing).ms for k, f in peers.items()}
            both = {k: time_callable(_fwd_bwd(f, xg), **timing).ms for k, f in peers.items()}
            ours_f, ours_b = fwd["equibasis"], both["equibasis"]
            row = [n, lmax, ours_f, ours_b]
            for peer in ("e3nn", "sphericart"):
                if peer in fwd:
                    row += [fwd[peer], fwd[peer] / ours_f, both[peer], both[peer] / ours_b]
                else:
                    row += ["-"] * 4
            rows.append(row)
            del peers

    header = ["N", "lmax", "ours fwd", "ours fwd+bwd"]
    for peer in ("e3nn", "sphericart"):
        header += [f"{peer} fwd", "ratio", f"{peer} fwd+bwd", "ratio"]
    print(f"Spherical harmonics, float32, {device}; medians in ms; ratio = peer / ours")
    print(machine_description())
    print()
    print(format_table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
