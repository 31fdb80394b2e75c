"""Speed of the polar bases against PyG's SphericalBasisLayer and a DIG-style torsion_emb.

Usage: python benchmarks/bench_polar.py [--quick] [--threads N]

All timings come from one run on the same inputs (float32, every triplet with its own distance,
``idx_kj = arange(T)``, the layout of the oracle arrays and of the issue's measurements), medians
of rounds (9 at 10^5, 5 at 10^6) that time the peer and ours alternately, after one untimed
call of every case and one warm-up round (a process's first calls that fault in fresh memory
were up to 10x slower: timed back to back, they fell on one side). "fwd+bwd" also
differentiates with respect to the distances and angles (forces).
Construction is timed cold (first module in the process) and warm.

Peers:
* PyG ``torch_geometric.nn.models.dimenet.SphericalBasisLayer`` (sympy at construction,
  ~50 lambdified functions per call) for the angle basis;
* for the torsion basis, DIG SphereNet's ``torsion_emb`` as DIG builds it (sympy formulas from
  the same ``bessel_basis`` / ``real_sph_harm`` helpers, which PyG ships; DIG itself does not
  import without torch_scatter). Its forward is DIG's, line for line.

Both sides allocate through torch (``THP_MEM_ALLOC_ENABLE=1`` gives every large CPU tensor
transparent huge pages, for both alike).
"""

import argparse
import time

import torch

from equibasis.benchmarking import (
    format_table,
    machine_description,
    time_alternately,
    time_callable,
)
from equibasis.polar import AngleBasis, TorsionBasis


def _dig_real_sph_harm(num: int) -> list:
    """DIG's ``real_sph_harm(num, zero_m_only=False)`` (PyG's copy fails for all m: int.subs)."""
    import sympy as sym
    from torch_geometric.nn.models.dimenet_utils import sph_harm_prefactor

    x, y, theta, phi, z = sym.symbols("x y theta phi z")
    s_m, c_m = [x * 0], [1 + 0 * x]
    for i in range(1, num):
        s_m.append(x * s_m[i - 1] + y * c_m[i - 1])
        c_m.append(x * c_m[i - 1] - y * s_m[i - 1])
    # DIG's associated Legendre polynomials: no sin^m factor (that comes with s_m, c_m)
    legendre = [[0] * (j + 1) for j in range(num)]
    legendre[0][0] = 1
    if num > 1:
        legendre[1][0] = z
    for j in range(2, num):
        legendre[j][0] = sym.simplify(
            ((2 * j - 1) * z * legendre[j - 1][0] - (j - 1) * legendre[j - 2][0]) / j
        )
    for i in range(1, num):
        legendre[i][i] = sym.simplify((1 - 2 * i) * legendre[i - 1][i - 1])
        if i + 1 < num:
            legendre[i + 1][i] = sym.simplify((2 * i + 1) * z * legendre[i][i])
        for j in range(i + 2, num):
            legendre[j][i] = sym.simplify(
                ((2 * j - 1) * z * legendre[j - 1][i] - (i + j - 1) * legendre[j - 2][i]) / (j - i)
            )
    for i, row in enumerate(legendre):
        for j, term in enumerate(row):
            if not isinstance(term, int):
                legendre[i][j] = term.subs(z, sym.cos(theta))
    polar = {x: sym.sin(theta) * sym.cos(phi), y: sym.sin(theta) * sym.sin(phi)}
    s_m = [term.subs(polar) for term in s_m]
    c_m = [term.subs(polar) for term in c_m]
    harmonics = [["0"] * (2 * i + 1) for i in range(num)]
    for i in range(num):
        harmonics[i][0] = sym.simplify(sph_harm_prefactor(i, 0) * legendre[i][0])
        for j in range(1, i + 1):
            factor = 2**0.5 * sph_harm_prefactor(i, j) * legendre[i][j]
            harmonics[i][j] = sym.simplify(factor * c_m[j])
            harmonics[i][-j] = sym.simplify(factor * s_m[j])
    return harmonics


class DigStyleTorsionEmb(torch.nn.Module):
    """DIG SphereNet ``torsion_emb``: sympy formulas, lambdified, evaluated one by one."""

    def __init__(self, num_spherical: int, num_radial: int, cutoff: float = 5.0) -> None:
        super().__init__()
        import sympy as sym
        from torch_geometric.nn.models.dimenet_utils import bessel_basis

        self.num_spherical, self.num_radial, self.cutoff = num_spherical, num_radial, cutoff
        bessel_forms = bessel_basis(num_spherical, num_radial)
        sph_harm_forms = _dig_real_sph_harm(num_spherical)
        self.sph_funcs, self.bessel_funcs = [], []
        x, theta, phi = sym.symbols("x theta phi")
        modules = {"sin": torch.sin, "cos": torch.cos}
        for i in range(num_spherical):
            if i == 0:
                first = sym.lambdify([theta, phi], sph_harm_forms[0][0], modules)(0, 0)
                self.sph_funcs.append(lambda t, p, c=first: torch.zeros_like(t) + c)
            else:
                for k in range(-i, i + 1):
                    self.sph_funcs.append(
                        sym.lambdify([theta, phi], sph_harm_forms[i][k + i], modules)
                    )
            for j in range(num_radial):
                self.bessel_funcs.append(sym.lambdify([x], bessel_forms[i][j], modules))

    def forward(self, dist, angle, phi, idx_kj):
        dist = dist / self.cutoff
        rbf = torch.stack([f(dist) for f in self.bessel_funcs], dim=1)
        cbf = torch.stack([f(angle, phi) for f in self.sph_funcs], dim=1)
        n, k = self.num_spherical, self.num_radial
        out = (rbf[idx_kj].view(-1, 1, n, k) * cbf.view(-1, n, n, 1)).view(-1, n * n * k)
        return out


def _timed_build(factory):
    start = time.perf_counter()
    module = factory()
    return module, time.perf_counter() - start


def _inputs(num: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    dist = 0.5 + 4.4 * torch.rand(num, generator=generator)
    angle = torch.pi * torch.rand(num, generator=generator)
    phi = 2 * torch.pi * torch.rand(num, generator=generator) - torch.pi
    return dist, angle, phi, torch.arange(num)


def _fwd_bwd(fn, *tensors):
    inputs = [t.detach().requires_grad_() for t in tensors]

    def run():
        out = fn(*inputs)
        out.backward(torch.ones_like(out))
        for t in inputs:
            t.grad = None

    return run


def _cases(angle_peer, angle_ours, torsion_peer, torsion_ours, consistent, dist, angle, phi, idx):
    """(name, peer name, peer callable, our callable) for one input size."""
    pyg, dig = "PyG SphericalBasisLayer", "DIG-style torsion_emb"
    return [
        (
            "angle (7, 6) fwd",
            pyg,
            lambda: angle_peer(dist, angle, idx),
            lambda: angle_ours(dist, angle, idx),
        ),
        (
            "angle (7, 6) fwd+bwd",
            pyg,
            _fwd_bwd(lambda d, a: angle_peer(d, a, idx), dist, angle),
            _fwd_bwd(lambda d, a: angle_ours(d, a, idx), dist, angle),
        ),
        (
            "torsion (7, 6) dig fwd",
            dig,
            lambda: torsion_peer(dist, angle, phi, idx),
            lambda: torsion_ours(dist, angle, phi, idx),
        ),
        (
            "torsion (7, 6) dig fwd+bwd",
            dig,
            _fwd_bwd(lambda d, a, p: torsion_peer(d, a, p, idx), dist, angle, phi),
            _fwd_bwd(lambda d, a, p: torsion_ours(d, a, p, idx), dist, angle, phi),
        ),
        (
            "torsion (7, 6) consistent fwd",
            dig,
            lambda: torsion_peer(dist, angle, phi, idx),
            lambda: consistent(dist, angle, phi, idx),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^5 triplets only")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    sizes = [10**5] if args.quick else [10**5, 10**6]
    print(machine_description())

    # ---- construction ----
    angle_ours, t_angle_cold = _timed_build(lambda: AngleBasis(7, 6, 5.0, variant="pyg"))
    torsion_ours, t_torsion_cold = _timed_build(lambda: TorsionBasis(7, 6, 5.0, variant="dig"))
    warm_angle = time_callable(lambda: AngleBasis(7, 6, 5.0, variant="pyg"), repeats=5)
    warm_torsion = time_callable(lambda: TorsionBasis(7, 6, 5.0, variant="dig"), repeats=5)
    consistent = TorsionBasis(7, 6, 5.0, variant="consistent")

    from torch_geometric.nn.models.dimenet import SphericalBasisLayer

    angle_peer, t_angle_peer = _timed_build(lambda: SphericalBasisLayer(7, 6, 5.0, 5))
    torsion_peer, t_torsion_peer = _timed_build(lambda: DigStyleTorsionEmb(7, 6, 5.0))
    rows = [
        ["build AngleBasis(7, 6) cold / warm", 1e3 * t_angle_cold, warm_angle.ms],
        ["build TorsionBasis(7, 6) cold / warm", 1e3 * t_torsion_cold, warm_torsion.ms],
        ["build PyG SphericalBasisLayer(7, 6)", 1e3 * t_angle_peer, None],
        ["build DIG-style torsion_emb(7, 6)", 1e3 * t_torsion_peer, None],
    ]
    print()
    print(
        format_table(
            ["construction", "first (ms)", "warm median (ms)"],
            [[r[0], r[1], "" if r[2] is None else r[2]] for r in rows],
        )
    )

    # ---- forward / backward ----
    table = []
    modules = tuple(m.to(device) for m in (angle_peer, angle_ours, torsion_peer, torsion_ours,
                                           consistent))  # fmt: skip
    for num in sizes:
        rounds = 9 if num <= 10**5 else 5
        cases = _cases(*modules, *(t.to(device) for t in _inputs(num)))
        # every case once first: a process's first calls at a size fault in fresh memory
        for name, _, peer_fn, ours_fn in cases:
            with torch.enable_grad() if "bwd" in name else torch.no_grad():
                peer_fn(), ours_fn()
        for name, peer_name, peer_fn, ours_fn in cases:
            with torch.enable_grad() if "bwd" in name else torch.no_grad():
                peer, ours = time_alternately(
                    [peer_fn, ours_fn], rounds=rounds, warmup=1, device=device
                )
            table.append([f"{name}, T={num:.0e}", peer_name, peer.ms, ours.ms, peer.ms / ours.ms])
    print()
    print(format_table(["case", "peer", "peer (ms)", "equibasis (ms)", "speed-up"], table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
