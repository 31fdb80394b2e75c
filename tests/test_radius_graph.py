"""radius_graph and edge_vectors against a brute-force O(N^2) NumPy reference."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import equibasis.geometry.graphs as rg
from equibasis.geometry import edge_vectors, radius_graph


def reference_graph(pos: np.ndarray, cutoff: float, batch: np.ndarray | None = None) -> np.ndarray:
    """All (j, i), i != j, same molecule, squared distance < cutoff^2; sorted by i then j."""
    n = pos.shape[0]
    if batch is None:
        batch = np.zeros(n, dtype=np.int64)
    d2 = ((pos[None, :, :] - pos[:, None, :]) ** 2).sum(-1)  # [i, j]
    mask = (d2 < cutoff * cutoff) & ~np.eye(n, dtype=bool) & (batch[:, None] == batch[None, :])
    i, j = np.nonzero(mask)  # row-major: sorted by i, then j
    return np.stack([j, i]).astype(np.int64)


@st.composite
def clouds(draw):
    n = draw(st.integers(0, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.floats(0.1, 20.0))
    cutoff = draw(st.floats(0.05, 6.0))
    num_mol = draw(st.integers(1, 5))
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-scale, scale, size=(n, 3))
    # unsorted molecule ids with gaps (e.g. 0, 7, 3)
    ids = rng.choice(50, size=num_mol, replace=False)
    batch = ids[rng.integers(0, num_mol, size=n)]
    return pos, cutoff, batch


@settings(max_examples=40)
@given(clouds(), st.booleans(), st.sampled_from([torch.float32, torch.float64]))
def test_matches_brute_force(cloud, batched, dtype):
    pos, cutoff, batch = cloud
    pos_t = torch.from_numpy(pos).to(dtype)
    batch_t = torch.from_numpy(batch) if batched else None
    got = radius_graph(pos_t, cutoff, batch=batch_t)
    # the reference sees the same rounded coordinates and squares in the same dtype
    want = reference_graph(pos_t.numpy(), cutoff if dtype == torch.float64 else np.float32(cutoff),
                           batch if batched else None)  # fmt: skip
    assert got.dtype == torch.long
    np.testing.assert_array_equal(got.numpy(), want)


def test_many_chunks_and_dense_cells(monkeypatch):
    """Tiny chunk size: the candidate pairs are split into many chunks."""
    monkeypatch.setattr(rg, "_CHUNK", 37)
    rng = np.random.default_rng(1)
    pos = rng.normal(size=(300, 3)) * 2.0
    batch = rng.integers(0, 3, size=300)
    got = radius_graph(torch.from_numpy(pos), 1.3, batch=torch.from_numpy(batch))
    np.testing.assert_array_equal(got.numpy(), reference_graph(pos, 1.3, batch))


def test_huge_extent_caps_cells():
    """Points spread over 1e12 cutoffs: the cell grid is capped, results stay exact."""
    rng = np.random.default_rng(2)
    pos = np.concatenate([rng.uniform(0, 1e12, size=(50, 3)), rng.uniform(0, 2, size=(50, 3))])
    got = radius_graph(torch.from_numpy(pos), 1.0)
    np.testing.assert_array_equal(got.numpy(), reference_graph(pos, 1.0))


def test_strict_at_cutoff():
    """A pair exactly at the cutoff is not an edge (torch_cluster: dist^2 < r^2)."""
    pos = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 1.5]], dtype=torch.float64)
    assert radius_graph(pos, 1.5).shape == (2, 0)
    assert radius_graph(pos, 1.5 + 1e-12).tolist() == [[1, 0], [0, 1]]


@pytest.mark.parametrize("n", [0, 1])
def test_empty_and_single_atom(n):
    edge_index = radius_graph(torch.zeros(n, 3), 2.0)
    assert edge_index.shape == (2, 0) and edge_index.dtype == torch.long
    vec, dist = edge_vectors(torch.zeros(n, 3), edge_index)
    assert vec.shape == (0, 3) and dist.shape == (0,)


def test_isolated_atoms_and_separate_molecules():
    pos = torch.tensor([[0.0, 0, 0], [0.5, 0, 0], [10.0, 0, 0], [0.0, 0.1, 0]])
    # atom 2 is isolated; atom 3 is close to 0 and 1 but in another molecule
    got = radius_graph(pos, 1.0, batch=torch.tensor([4, 4, 4, 9]))
    assert got.tolist() == [[1, 0], [0, 1]]


def test_coincident_atoms_are_neighbours():
    pos = torch.zeros(3, 3)
    assert radius_graph(pos, 1.0).tolist() == [[1, 2, 0, 2, 0, 1], [0, 0, 1, 1, 2, 2]]


@pytest.mark.parametrize("k", [1, 3])
def test_max_num_neighbors_keeps_nearest(k):
    rng = np.random.default_rng(3)
    pos = rng.normal(size=(60, 3))
    batch = rng.integers(0, 2, size=60)
    got = radius_graph(
        torch.from_numpy(pos), 1.5, batch=torch.from_numpy(batch), max_num_neighbors=k
    )
    full = reference_graph(pos, 1.5, batch)
    d = np.linalg.norm(pos[full[0]] - pos[full[1]], axis=1)
    keep = []
    for i in np.unique(full[1]):
        idx = np.nonzero(full[1] == i)[0]
        idx = idx[np.lexsort((full[0][idx], d[idx]))][:k]  # nearest, ties by source
        keep.extend(sorted(idx.tolist(), key=lambda e: full[0][e]))
    np.testing.assert_array_equal(got.numpy(), full[:, keep])


def test_large_cloud_matches_blockwise_reference():
    """5000 atoms: compare with torch.cdist computed in row blocks (no N^2 buffer needed)."""
    gen = torch.Generator().manual_seed(4)
    pos = torch.rand(5000, 3, generator=gen, dtype=torch.float64) * 20.0
    got = radius_graph(pos, 2.0)
    pieces = []
    for lo in range(0, 5000, 500):
        d2 = (pos[lo : lo + 500, None, :] - pos[None, :, :]).square().sum(-1)
        mask = d2 < 4.0
        mask[torch.arange(mask.shape[0]), torch.arange(lo, lo + mask.shape[0])] = False
        i, j = torch.nonzero(mask, as_tuple=True)
        pieces.append(torch.stack([j, i + lo]))
    torch.testing.assert_close(got, torch.cat(pieces, dim=1), rtol=0, atol=0)


def test_device(device):
    pos = torch.randn(30, 3, device=device)
    batch = torch.randint(0, 3, (30,), device=device)
    got = radius_graph(pos, 1.0, batch=batch)
    assert got.device == pos.device
    want = reference_graph(pos.cpu().numpy(), np.float32(1.0), batch.cpu().numpy())
    np.testing.assert_array_equal(got.cpu().numpy(), want)


def test_edge_vectors_values_and_direction(dtype):
    pos = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0], [-3.0, 0.0, 4.0]], dtype=dtype)
    edge_index = torch.tensor([[1, 2, 0], [0, 0, 2]])  # sources j, targets i
    vec, dist = edge_vectors(pos, edge_index)
    # vec = pos[source] - pos[target]: from the receiving atom to the sending one
    want = np.array([[1.0, 2.0, 2.0], [-3.0, 0.0, 4.0], [3.0, 0.0, -4.0]])
    np.testing.assert_allclose(vec.numpy(), want)
    np.testing.assert_allclose(dist.numpy(), [3.0, 5.0, 5.0], rtol=1e-6)
    assert vec.dtype == dist.dtype == dtype


def test_edge_vectors_gradients():
    pos = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    edge_index = radius_graph(pos, 10.0)
    torch.autograd.gradcheck(lambda p: edge_vectors(p, edge_index), (pos,))
    torch.autograd.gradgradcheck(lambda p: edge_vectors(p, edge_index)[1], (pos,))


def test_edge_vectors_coincident_atoms_zero_gradient():
    pos = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    _, dist = edge_vectors(pos, torch.tensor([[0], [1]]))
    (grad,) = torch.autograd.grad(dist.sum(), pos)
    assert dist.item() == 0.0 and torch.equal(grad, torch.zeros_like(grad))


def test_radius_graph_has_no_gradient_path():
    pos = torch.randn(5, 3, requires_grad=True)
    assert not radius_graph(pos, 5.0).requires_grad


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"pos": torch.zeros(3, 3, dtype=torch.long)}, TypeError, "pos"),
        ({"pos": torch.zeros(3, 2)}, ValueError, r"pos must have shape \(N, 3\)"),
        ({"pos": torch.zeros(3)}, ValueError, "pos"),
        ({"cutoff": 0.0}, ValueError, "cutoff"),
        ({"cutoff": -1.0}, ValueError, "cutoff"),
        ({"batch": torch.zeros(3)}, TypeError, "batch must be an integer tensor"),
        ({"batch": torch.zeros(2, dtype=torch.long)}, ValueError, r"batch must have shape \(3,\)"),
        ({"batch": torch.tensor([0, -1, 0])}, ValueError, "non-negative"),
        ({"max_num_neighbors": 0}, ValueError, "max_num_neighbors"),
        ({"pos": torch.tensor([[0.0, 0, 0], [float("nan"), 0, 0], [1, 1, 1]])}, ValueError, "NaN"),
    ],
)
def test_radius_graph_errors(kwargs, error, match):
    args = {"pos": torch.zeros(3, 3), "cutoff": 1.0, **kwargs}
    with pytest.raises(error, match=match):
        radius_graph(**args)


@pytest.mark.parametrize(
    ("edge_index", "error", "match"),
    [
        (torch.tensor([[0.0], [1.0]]), TypeError, "edge_index must be an integer tensor"),
        (torch.tensor([0, 1]), ValueError, r"edge_index must have shape \(2, E\)"),
        (torch.tensor([[0], [3]]), ValueError, r"must lie in \[0, 3\)"),
        (torch.tensor([[-1], [0]]), ValueError, r"must lie in \[0, 3\)"),
    ],
)
def test_edge_vectors_errors(edge_index, error, match):
    with pytest.raises(error, match=match):
        edge_vectors(torch.zeros(3, 3), edge_index)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32])
def test_edge_vectors_reads_any_integer_dtype_as_indices(dtype):
    # torch reads a uint8 index tensor as a boolean mask: wrong vectors and edge count
    pos = torch.randn(5, 3, dtype=torch.float64)
    edge_index = torch.tensor([[1, 2, 4, 0], [0, 0, 3, 4]])
    ref_vec, ref_dist = edge_vectors(pos, edge_index)
    vec, dist = edge_vectors(pos, edge_index.to(dtype))
    assert vec.shape == (4, 3)
    torch.testing.assert_close(vec, pos[[1, 2, 4, 0]] - pos[[0, 0, 3, 4]])
    torch.testing.assert_close((vec, dist), (ref_vec, ref_dist))
