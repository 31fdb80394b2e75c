"""Speed of equibasis spherical harmonics against e3nn and sphericart, ratios from one run.

Three workloads, float32, each timed in alternating rounds (every peer once per round):

* ``fwd``: values without a graph;
* ``fwd+bwd``: the gradient of a weighted sum with respect to the vectors;
* ``force``: the force-training step of a machine-learned potential: energy ``E = <w, Y(v)>``,
  forces ``F = -dE/dv`` by ``create_graph=True``, loss ``E + |F|^2``, ``loss.backward()``.

``--compiled`` runs every peer under ``torch.compile`` (inductor, the way torch 2.13 tells users
to deploy) and also times our eager path beside it (fwd and fwd+bwd: compiled functions have no
double backward, so no peer has a compiled force step). ``--busy`` starts one busy process
beside the benchmark (``python -c "while True: pass"``), as on a shared machine. e3nn stops at
lmax 12; sphericart (the ``bench`` extra) is skipped when missing. Ratios are peer time / our
time: > 1 means we are faster.

Usage: ``python benchmarks/bench_harmonics.py [--quick] [--compiled] [--busy] [--device cuda]``
"""

import argparse
import contextlib
import subprocess
import sys

import e3nn.o3
import torch

from equibasis.benchmarking import format_table, machine_description, time_alternately
from equibasis.harmonics import spherical_harmonics

try:
    import sphericart.torch as sphericart_torch
except ImportError:  # the `bench` extra is optional
    sphericart_torch = None


@contextlib.contextmanager
def busy_neighbour(enabled: bool):
    """One process spinning on a core for the duration (a shared machine's load)."""
    if not enabled:
        yield
        return
    process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        process.kill()
        process.wait()


def workload(kind: str, fn, x: torch.Tensor, weights: torch.Tensor):
    """A no-argument callable running one workload of ``fn`` on ``x``."""
    if kind == "fwd":

        def run():
            with torch.no_grad():
                fn(x)

    elif kind == "fwd+bwd":

        def run():
            v = x.detach().requires_grad_()
            (fn(v) * weights).sum().backward()

    else:

        def run():
            v = x.detach().requires_grad_()
            energy = (fn(v) * weights).sum()
            (force,) = torch.autograd.grad(energy, v, create_graph=True)
            (energy + force.square().sum()).backward()

    return run


def peers(lmax: int, compiled: bool) -> dict:
    ls = list(range(lmax + 1))
    found = {"equibasis": lambda v: spherical_harmonics(ls, v)}
    if lmax <= 12:
        found["e3nn"] = lambda v: e3nn.o3.spherical_harmonics(ls, v, True)
    if sphericart_torch is not None:
        found["sphericart"] = lambda v: sphericart_torch.e3nn_spherical_harmonics(ls, v, True)
    if compiled:
        eager = found["equibasis"]
        found = {k: torch.compile(f, dynamic=False) for k, f in found.items()}
        found["equibasis eager"] = eager
    return found


def main(argv: list[str] | None = None) -> int:
    """Print the Markdown table of medians (ms) and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1e5 only, fewer rounds")
    parser.add_argument("--compiled", action="store_true", help="torch.compile every peer")
    parser.add_argument("--busy", action="store_true", help="one busy process beside")
    parser.add_argument("--workloads", nargs="+", default=["fwd", "fwd+bwd", "force"])
    parser.add_argument("--lmax", nargs="+", type=int, default=[2, 4, 8])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.compiled and "force" in args.workloads:
        # torch.compile (AOT autograd) has no double backward: no compiled force step for anyone
        args.workloads = [w for w in args.workloads if w != "force"]
        print("--compiled: the force step is left out (torch.compile has no double backward)")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sizes = [10**5] if args.quick else [2 * 10**4, 10**5]
    rounds = 5 if args.quick else args.rounds
    gen = torch.Generator().manual_seed(0)
    rows, names = [], ["e3nn", "sphericart"] + (["equibasis eager"] if args.compiled else [])
    with busy_neighbour(args.busy):
        for n in sizes:
            x = torch.randn(n, 3, generator=gen).to(device)
            for lmax in args.lmax:
                weights = torch.randn(n, (lmax + 1) ** 2, generator=gen).to(device)
                found = peers(lmax, args.compiled)
                for kind in args.workloads:
                    runs = [workload(kind, fn, x, weights) for fn in found.values()]
                    times = time_alternately(runs, rounds=rounds, warmup=2, device=device)
                    ms = {k: t.ms for k, t in zip(found, times, strict=True)}
                    row = [n, lmax, kind, ms["equibasis"]]
                    for peer in names:
                        row += [ms[peer], ms[peer] / ms["equibasis"]] if peer in ms else ["-"] * 2
                    rows.append(row)
                    print(f"N={n} lmax={lmax} {kind}: ours {ms['equibasis']:.3g} ms", flush=True)
    header = ["N", "lmax", "workload", "ours"]
    for peer in names:
        header += [peer, "ratio"]
    mode = "compiled (inductor)" if args.compiled else "eager"
    load = ", one busy process beside" if args.busy else ""
    print(f"\nSpherical harmonics, float32, {device}, {mode}{load}; medians in ms; "
          "ratio = peer / ours")  # fmt: skip
    print(machine_description())
    print()
    print(format_table(header, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
