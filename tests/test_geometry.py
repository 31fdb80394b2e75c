"""Tests of the triplet, angle and torsion helpers of equibasis.geometry against brute force."""

import math

import numpy as np
import pytest
import torch

from equibasis.geometry import (
    comenet_angles,
    dimenet_angle,
    dimenetpp_angle,
    spherenet_angle,
    spherenet_torsion,
    triplets,
)

# ------------------------------------------------------------------------------------------
# random molecules and brute-force references (plain numpy loops, other formulas)
# ------------------------------------------------------------------------------------------


def _molecule(seed: int, n: int = 14, box: float = 4.0, cutoff: float = 2.6):
    rng = np.random.default_rng(seed)
    while True:
        pos = rng.uniform(0.0, box, size=(n, 3))
        dist = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
        degree = ((dist < cutoff).sum(axis=1) - 1).min()
        if dist[np.triu_indices(n, 1)].min() > 0.6 and degree >= 2:
            break
    # brute-force radius graph, listed in a shuffled order (order matters for triplets)
    edges = [(j, i) for i in range(n) for j in range(n) if i != j and dist[i, j] < cutoff]
    order = rng.permutation(len(edges))
    edge_index = np.array([edges[e] for e in order]).T
    return pos, edge_index


def _brute_triplets(edge_index: np.ndarray):
    src, dst = edge_index
    out = []
    for e, (j, i) in enumerate(zip(src, dst, strict=True)):
        incoming = sorted((k, f) for f, (k, t) in enumerate(zip(src, dst, strict=True)) if t == j)
        out += [(i, j, k, f, e) for k, f in incoming if k != i]
    return np.array(out, dtype=np.int64).reshape(-1, 5).T


def _acos_angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    cos = (u * v).sum(-1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)
    return np.arccos(np.clip(cos, -1.0, 1.0))


def _signed_angle_about(axis: np.ndarray, u: np.ndarray, v: np.ndarray) -> float:
    """Angle from u to v projected on the plane normal to axis, counter-clockwise about axis."""
    a = axis / np.linalg.norm(axis)
    pu, pv = u - (u @ a) * a, v - (v @ a) * a
    return math.atan2(a @ np.cross(pu, pv), pu @ pv)


def _brute_spherenet_torsion(pos, edge_index, tri):
    src, dst = edge_index
    result = []
    for i, j, k, _, _ in tri.T:
        best = 2 * math.pi
        for k2 in src[dst == j]:
            if k2 == i:
                continue
            t = _signed_angle_about(pos[i] - pos[j], pos[k] - pos[j], pos[k2] - pos[j])
            if t <= 1e-12:
                t += 2 * math.pi
            best = min(best, t)
        result.append(best)
    return np.array(result)


def _brute_comenet(pos, edge_index):
    src, dst = edge_index

    def nearest(node, incoming):
        mask = dst == node if incoming else src == node
        edges = np.nonzero(mask)[0]
        other = src[edges] if incoming else dst[edges]
        ranking = edges[np.argsort(np.linalg.norm(pos[other] - pos[node], axis=-1), kind="stable")]
        return ranking, (src if incoming else dst)[ranking]

    def fold(x):
        return x + math.pi if x < 0 else x

    out = []
    for j, i in zip(src, dst, strict=True):
        _, n_i = nearest(i, True)
        _, n_j = nearest(j, False)
        n0, n1 = n_i[0], n_i[1] if len(n_i) > 1 else n_i[0]
        iref = n1 if n0 == j else n0
        jref = (n_j[1] if len(n_j) > 1 else n_j[0]) if n_j[0] == i else n_j[0]
        v = pos[j] - pos[i]
        theta = _acos_angle(pos[i] - pos[j], pos[n0] - pos[i])
        # a plane through the edge itself is undefined: 0 (DIG's atan2(0, 0))
        if j in (n0, n1):
            phi = 0.0
        else:
            phi = fold(_signed_angle_about(v, pos[n0] - pos[i], pos[n1] - pos[i]))
        if jref == i or iref == j:
            tau = 0.0
        elif jref == iref:  # a triangle: opposite half-planes, pi in exact arithmetic
            tau = math.pi
        else:
            tau = fold(_signed_angle_about(v, pos[j] - pos[jref], pos[iref] - pos[i]))
        out.append((np.linalg.norm(v), theta, phi, tau))
    return np.array(out).T


SEEDS = [0, 1, 2]

# ------------------------------------------------------------------------------------------
# triplets
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_triplets_match_brute_force(seed):
    pos, edge_index = _molecule(seed)
    ours = triplets(torch.tensor(edge_index), pos.shape[0])
    expected = _brute_triplets(edge_index)
    assert expected.shape[1] > 100
    for a, b in zip(ours, expected, strict=True):
        assert a.dtype == torch.int64
        np.testing.assert_array_equal(a.numpy(), b)


def test_triplets_small_and_empty():
    assert all(t.numel() == 0 for t in triplets(torch.zeros(2, 0, dtype=torch.long), 3))
    # a single bond j <-> i has no triplet (k == i is excluded)
    assert all(t.numel() == 0 for t in triplets(torch.tensor([[0, 1], [1, 0]]), 2))
    # isolated nodes are allowed
    idx_i, idx_j, idx_k, _, _ = triplets(torch.tensor([[0, 1, 2, 1], [1, 0, 1, 2]]), 5)
    assert sorted(zip(idx_k.tolist(), idx_j.tolist(), idx_i.tolist(), strict=True)) == [
        (0, 1, 2),
        (2, 1, 0),
    ]


def test_triplets_bad_input():
    with pytest.raises(TypeError, match="edge_index"):
        triplets(torch.zeros(2, 3), 3)
    with pytest.raises(ValueError, match="edge_index"):
        triplets(torch.zeros(3, 3, dtype=torch.long), 3)
    with pytest.raises(ValueError, match="num_nodes"):
        triplets(torch.tensor([[0, 5], [1, 0]]), 3)
    with pytest.raises(TypeError, match="num_nodes"):
        triplets(torch.tensor([[0, 1], [1, 0]]), 2.0)


# ------------------------------------------------------------------------------------------
# angles
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_angles_match_brute_force(seed, dtype):
    pos, edge_index = _molecule(seed)
    idx_i, idx_j, idx_k = _brute_triplets(edge_index)[:3]
    pos_t = torch.tensor(pos, dtype=dtype)
    args = (pos_t, *(torch.tensor(a) for a in (idx_i, idx_j, idx_k)))
    tol = {"atol": 1e-12, "rtol": 0} if dtype == torch.float64 else {"atol": 2e-6, "rtol": 0}
    r_i, r_j, r_k = pos[idx_i], pos[idx_j], pos[idx_k]
    np.testing.assert_allclose(
        spherenet_angle(*args).numpy(), _acos_angle(r_i - r_j, r_k - r_j), **tol
    )
    np.testing.assert_allclose(
        dimenet_angle(*args).numpy(), _acos_angle(r_j - r_i, r_k - r_i), **tol
    )
    np.testing.assert_allclose(
        dimenetpp_angle(*args).numpy(), math.pi - _acos_angle(r_i - r_j, r_k - r_j), **tol
    )
    assert spherenet_angle(*args).dtype == dtype


def test_exactly_three_triplets_uses_the_last_axis():
    """torch.cross without dim= picks the first size-3 axis; ours must not (PITFALLS)."""
    pos = torch.tensor(
        [[0.0, 0, 0], [1.0, 0, 0], [1.0, 1.0, 0], [0.3, 0.2, 1.1]], dtype=torch.float64
    )
    idx_i, idx_j, idx_k = (torch.tensor(v) for v in ([0, 0, 2], [1, 1, 1], [2, 3, 3]))
    expected = _acos_angle((pos[idx_i] - pos[idx_j]).numpy(), (pos[idx_k] - pos[idx_j]).numpy())
    np.testing.assert_allclose(
        spherenet_angle(pos, idx_i, idx_j, idx_k).numpy(), expected, atol=1e-14
    )


def test_angles_are_accurate_near_zero_and_pi():
    eps = 1e-9
    pos = torch.tensor([[1.0, 0, 0], [0, 0, 0], [1.0, eps, 0], [-1.0, eps, 0]], dtype=torch.float64)
    i, j = torch.tensor([0, 0]), torch.tensor([1, 1])
    k = torch.tensor([2, 3])
    angles = spherenet_angle(pos, i, j, k)
    torch.testing.assert_close(angles, torch.tensor([eps, math.pi - eps], dtype=torch.float64))


@pytest.mark.parametrize("fn", [spherenet_angle, dimenet_angle, dimenetpp_angle])
def test_angle_gradients_finite_when_collinear(fn):
    # straight chain, folded chain, and two coincident atoms
    pos = torch.tensor(
        [[0.0, 0, 0], [1.0, 0, 0], [2.0, 0, 0], [0.5, 0, 0], [1.0, 0, 0]],
        dtype=torch.float64,
        requires_grad=True,
    )
    i, j, k = torch.tensor([0, 0, 0]), torch.tensor([1, 1, 1]), torch.tensor([2, 3, 4])
    (grad,) = torch.autograd.grad(fn(pos, i, j, k).sum(), pos)
    assert bool(torch.isfinite(grad).all())


def test_angle_bad_input():
    pos = torch.rand(4, 3)
    idx = torch.tensor([0, 1])
    with pytest.raises(TypeError, match="pos"):
        spherenet_angle(torch.zeros(4, 3, dtype=torch.long), idx, idx, idx)
    with pytest.raises(ValueError, match="pos"):
        spherenet_angle(torch.rand(4, 2), idx, idx, idx)
    with pytest.raises(TypeError, match="idx_k"):
        spherenet_angle(pos, idx, idx, idx.float())
    with pytest.raises(ValueError, match="shape"):
        spherenet_angle(pos, idx, idx, torch.tensor([0]))


# ------------------------------------------------------------------------------------------
# torsions
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_spherenet_torsion_matches_brute_force(seed):
    pos, edge_index = _molecule(seed)
    tri = _brute_triplets(edge_index)
    pos_t = torch.tensor(pos)
    ours = spherenet_torsion(pos_t, *(torch.tensor(tri[c]) for c in (0, 1, 2, 4)))
    expected = _brute_spherenet_torsion(pos, edge_index, tri)
    np.testing.assert_allclose(ours.numpy(), expected, atol=1e-10)
    assert float(ours.min()) > 0 and float(ours.max()) <= 2 * math.pi


def test_spherenet_torsion_invariance_and_gradients():
    pos, edge_index = _molecule(4)
    tri = [torch.tensor(t) for t in _brute_triplets(edge_index)]
    pos_t = torch.tensor(pos, requires_grad=True)
    torsion = spherenet_torsion(pos_t, tri[0], tri[1], tri[2], tri[4])
    q, _ = torch.linalg.qr(
        torch.randn(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    )
    rotation = q * torch.sign(torch.linalg.det(q))  # proper rotation
    moved = pos_t.detach() @ rotation.T + torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    torch.testing.assert_close(
        spherenet_torsion(moved, tri[0], tri[1], tri[2], tri[4]), torsion.detach()
    )
    (grad,) = torch.autograd.grad(torsion.sum(), pos_t)
    assert bool(torch.isfinite(grad).all())


def test_spherenet_torsion_collinear_reference_is_finite():
    # k' on the j -> i axis: its plane is undefined; atan2(0, 0) gives 2 pi, gradients finite
    pos = torch.tensor(
        [[0.0, 0, 1], [0.0, 0, 0], [1.0, 0, 0], [0.0, 0, -1.0]],
        dtype=torch.float64,
        requires_grad=True,
    )
    i, j, k, ji = (torch.tensor(v) for v in ([0, 0], [1, 1], [2, 3], [0, 0]))
    torsion = spherenet_torsion(pos, i, j, k, ji)
    torch.testing.assert_close(torsion.detach(), torch.full((2,), 2 * math.pi, dtype=torch.float64))
    (grad,) = torch.autograd.grad(torsion.sum(), pos)
    assert bool(torch.isfinite(grad).all())


@pytest.mark.parametrize("seed", SEEDS)
def test_comenet_angles_match_brute_force(seed):
    pos, edge_index = _molecule(seed)
    ours = comenet_angles(torch.tensor(pos), torch.tensor(edge_index))
    expected = _brute_comenet(pos, edge_index)
    for name, a, b in zip(("dist", "theta", "phi", "tau"), ours, expected, strict=True):
        np.testing.assert_allclose(a.numpy(), b, atol=1e-10, err_msg=name)
    assert float(ours[2].max()) < math.pi and float(ours[3].max()) <= math.pi


def test_comenet_gradients_finite():
    pos, edge_index = _molecule(5)
    pos_t = torch.tensor(pos, requires_grad=True)
    out = comenet_angles(pos_t, torch.tensor(edge_index))
    (grad,) = torch.autograd.grad(sum(o.sum() for o in out), pos_t)
    assert bool(torch.isfinite(grad).all())
    # a three-atom chain: n0 == j for every edge, phi = 0 (DIG's atan2(0, 0))
    chain = torch.tensor(
        [[0.0, 0, 0], [1.0, 0, 0], [2.2, 0, 0]], dtype=torch.float64, requires_grad=True
    )
    ei = torch.tensor([[1, 0, 2, 1], [0, 1, 1, 2]])
    _, theta, phi, tau = comenet_angles(chain, ei)
    assert phi.abs().max() == 0
    (grad,) = torch.autograd.grad(theta.sum() + phi.sum() + tau.sum(), chain)
    assert bool(torch.isfinite(grad).all())


def test_comenet_bad_input():
    with pytest.raises(ValueError, match="edge_index"):
        comenet_angles(torch.rand(3, 3), torch.zeros(3, dtype=torch.long))
    empty = comenet_angles(torch.rand(3, 3), torch.zeros(2, 0, dtype=torch.long))
    assert all(t.numel() == 0 for t in empty)


# ------------------------------------------------------------------------------------------
# hardening (issue 16): negative indices, odd dtypes, wrong or huge num_nodes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [spherenet_angle, dimenet_angle, dimenetpp_angle, "torsion"])
@pytest.mark.parametrize("which", [0, 1, 2])
def test_negative_triplet_indices_are_rejected(fn, which):
    # torch would wrap -1 silently to the last atom
    pos = torch.randn(4, 3)
    idx = [torch.tensor([0, 1]), torch.tensor([1, 2]), torch.tensor([2, 3])]
    idx[which] = torch.tensor([-1, 1])
    name = ("idx_i", "idx_j", "idx_k")[which]
    with pytest.raises(ValueError, match=rf"{name} entries must lie in \[0, 4\) .*\[-1, \d\]"):
        if fn == "torsion":
            spherenet_torsion(pos, *idx, torch.tensor([0, 1]))
        else:
            fn(pos, *idx)
    idx[which] = torch.tensor([4, 1])  # one past the end
    with pytest.raises(ValueError, match=rf"{name} entries must lie in \[0, 4\)"):
        spherenet_angle(pos, *idx)


def test_spherenet_torsion_rejects_a_negative_idx_ji():
    # was "bincount only supports ... non-negative" / "minlength should be >= 0"
    pos = torch.randn(4, 3)
    i, j, k = torch.tensor([0, 0]), torch.tensor([1, 1]), torch.tensor([2, 3])
    for ji in (torch.tensor([-1, -1]), torch.tensor([0, -2])):
        with pytest.raises(ValueError, match=r"idx_ji must be >= 0 \(edge indices\)"):
            spherenet_torsion(pos, i, j, k, ji)


def test_comenet_rejects_indices_outside_num_nodes_or_pos():
    pos = torch.randn(3, 3)
    edge_index = torch.tensor([[1, 2, 0, 0], [0, 0, 1, 2]])
    with pytest.raises(ValueError, match=r"edge_index entries must lie in \[0, 2\)"):
        comenet_angles(pos, edge_index, num_nodes=2)  # was a raw scatter error
    with pytest.raises(ValueError, match=r"edge_index entries must lie in \[0, 3\).*\[-1, 2\]"):
        comenet_angles(pos, torch.tensor([[1, -1], [0, 2]]))
    with pytest.raises(ValueError, match=r"edge_index entries must lie in \[0, 3\)"):
        comenet_angles(pos, torch.tensor([[1, 3], [0, 2]]), num_nodes=5)


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_huge_num_nodes_gives_the_same_answer(seed):
    # nodes without edges take no part: a huge num_nodes allocated 80 GB before
    pos, edge_index = _molecule(seed)
    pos, edge_index = torch.tensor(pos), torch.tensor(edge_index)
    n = pos.shape[0]
    for got, ref in zip(
        triplets(edge_index, num_nodes=10**12), triplets(edge_index, num_nodes=n), strict=True
    ):
        assert torch.equal(got, ref)
    # one isolated node masks edge 0 (the DIG quirk); any number of them does the same
    for num_nodes in (n, n + 1):
        ref = comenet_angles(pos, edge_index, num_nodes=num_nodes)
        big = num_nodes if num_nodes == n else 10**12
        for got, want in zip(comenet_angles(pos, edge_index, num_nodes=big), ref, strict=True):
            torch.testing.assert_close(got, want, rtol=0, atol=0)
