"""check_model: every kind of example passes on a correct model, each planted bug is named."""

import math
import time
import types

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from equibasis.testing import (
    TENSOR2,
    ModelCheckError,
    ModelCheckReport,
    assert_equivariant,
    assert_invariant,
    check_model,
)
from equibasis.testing._structures import min_image_distance
from equibasis.testing.strategies import cluster, crystals, load_molecules

F64 = torch.float64


def _weights(z: torch.Tensor, dtype: torch.dtype, k: int) -> torch.Tensor:
    # species weights that differ per element and per k, so that sums over atoms do not cancel
    return 1.0 + torch.sin(1.3 * k + 0.37 * z.to(dtype))


def _vectors(pos, z, batch):
    """Three species-weighted neighbour sums u_i, v_i, w_i (each 1o per atom)."""
    r = pos[None, :, :] - pos[:, None, :]  # r[i, j] = pos_j - pos_i
    same = batch[:, None] == batch[None, :]
    rho = torch.exp(-(r * r).sum(-1) / 4.0) * same
    return [torch.einsum("ij,j,ijc->ic", rho, _weights(z, pos.dtype, k), r) for k in range(3)]


def pseudoscalar(pos, z, batch=None):
    """sum_i det(u_i, v_i, w_i): invariant under rotations and relabelling, odd under mirrors."""
    batch = torch.zeros(len(z), dtype=torch.long) if batch is None else batch
    u, v, w = _vectors(pos, z, batch)
    return (u * torch.linalg.cross(v, w, dim=-1)).sum()


class PairModel(torch.nn.Module):
    """Smooth pair energy per molecule, autograd forces, a dipole: correct unless told a bug."""

    def __init__(self, bug: str | None = None) -> None:
        super().__init__()
        self.bug = bug
        self.scale = torch.nn.Parameter(torch.tensor(0.7, dtype=F64))

    def forward(self, pos, z, batch=None):
        batch = torch.zeros(len(z), dtype=torch.long, device=pos.device) if batch is None else batch
        num = int(batch.max()) + 1 if len(batch) else 1
        with torch.enable_grad():
            if not pos.requires_grad:
                pos = pos.detach().requires_grad_(True)
            w = _weights(z, pos.dtype, 0)
            d2 = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)
            pair = w[:, None] * w[None, :] * torch.exp(-self.scale * d2)
            pair = pair * (batch[:, None] == batch[None, :]) * (1 - torch.eye(len(z), dtype=F64))
            node = 0.5 * pair.sum(1)
            if self.bug == "absolute":
                node = node + 0.01 * (pos * pos).sum(-1)  # distance from a fixed origin
            if self.bug == "order":
                centred = pos - pos.mean(0)
                node = node + 0.01 * torch.arange(len(z), dtype=F64) * (centred**2).sum(-1)
            energy = torch.zeros(num, dtype=pos.dtype).index_add(0, batch, node)
            if self.bug == "pseudoscalar":
                energy = energy + 0.1 * pseudoscalar(pos, z, batch)
            forces = -torch.autograd.grad(energy.sum(), pos, create_graph=True)[0]
        if self.bug == "forces parity":
            u, v, _ = _vectors(pos, z, batch)
            forces = torch.linalg.cross(u, v, dim=-1)  # a pseudovector returned as forces
        q = _weights(z, pos.dtype, 1)[:, None]
        centre = torch.zeros(num, 3, dtype=pos.dtype).index_add(0, batch, pos)
        centre = centre / torch.bincount(batch, minlength=num)[:, None]
        dipole = torch.zeros(num, 3, dtype=pos.dtype).index_add(0, batch, q * (pos - centre[batch]))
        return {"energy": energy, "forces": forces, "dipole": dipole, "node_energy": node}


SHIFTS = torch.tensor([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)])


def periodic_energy(pos, z, cell, strain=None, ignore_cell=False, cutoff=2.5):
    """Pair energy with a smooth cutoff over periodic images, positions wrapped into the cell."""
    if strain is not None:
        pos = pos @ (torch.eye(3, dtype=pos.dtype) + strain)
        cell = cell @ (torch.eye(3, dtype=pos.dtype) + strain)
    w = _weights(z, pos.dtype, 0)
    if ignore_cell:
        r = pos[None, :, None, :] - pos[None, None, :, :]
    else:
        frac = pos @ torch.linalg.inv(cell)
        pos = (frac - torch.floor(frac)) @ cell
        shifts = SHIFTS.to(pos.dtype) @ cell  # (27, 3)
        r = pos[None, None, :, :] + shifts[:, None, None, :] - pos[None, :, None, :]
    d2 = (r * r).sum(-1)
    self_pair = d2 < 1e-12
    d = torch.sqrt(torch.where(self_pair, torch.ones_like(d2), d2))
    inside = (d < cutoff) & ~self_pair
    x = torch.where(inside, d / cutoff, torch.zeros_like(d))
    phi = torch.where(inside, (1 - x) ** 3 * (1 + 3 * x), torch.zeros_like(d))
    return 0.5 * (w[None, :, None] * w[None, None, :] * phi).sum()


class PeriodicModel(torch.nn.Module):
    def __init__(self, ignore_cell: bool = False) -> None:
        super().__init__()
        self.ignore_cell = ignore_cell

    def forward(self, pos, z, cell):
        with torch.enable_grad():
            pos = pos.detach().requires_grad_(True)
            strain = torch.zeros(3, 3, dtype=pos.dtype, requires_grad=True)
            energy = periodic_energy(pos, z, cell, strain, self.ignore_cell)
            g_pos, g_strain = torch.autograd.grad(energy, (pos, strain))
        stress = 0.5 * (g_strain + g_strain.T) / torch.linalg.det(cell).abs()
        return {"energy": energy.detach(), "forces": -g_pos, "stress": stress}


def _molecule(name="(S)-lactic acid"):  # chiral: a pseudoscalar energy term does not vanish
    return next(m for m in load_molecules() if m.name == name)


def _crystal(n=4):
    from hypothesis import find

    return find(crystals(min_atoms=n, max_atoms=n), lambda c: True)


OUTPUTS = {"energy": "0e", "forces": "1o", "dipole": "1o"}


# -- every kind of example passes on a correct model ---------------------------------------


def _examples():
    mol = _molecule()
    pos, z = mol.positions, mol.numbers
    yield "dict", {"pos": pos, "z": z}, {}
    yield "namespace", types.SimpleNamespace(pos=pos, z=z), {}
    yield "args", (pos, z), {}
    yield "positions named R", {"R": pos, "z": z}, {}
    yield "named positions", {"coords": pos, "z": z}, {"positions": "coords"}


@pytest.mark.parametrize(("kind", "example", "kwargs"), list(_examples()), ids=lambda v: None)
def test_correct_model_passes_every_example_kind(kind, example, kwargs):
    if kind == "named positions":
        model = lambda coords, z: PairModel()(coords, z)  # noqa: E731
    elif kind == "positions named R":
        model = lambda R, z: PairModel()(R, z)  # noqa: E731
    else:
        model = PairModel()
    report = check_model(model, example, outputs=OUTPUTS, **kwargs)
    assert isinstance(report, ModelCheckReport) and report.ok
    names = {r.transformation for r in report.rows}
    assert names == {"rotation", "reflection", "translation", "permutation"}
    assert {r.output for r in report.rows} == set(OUTPUTS)
    assert max(r.abs_error for r in report.rows) < 1e-12
    assert "| energy | 1x0e | rotation |" in report.to_markdown()


def test_pyg_data_and_batch():
    pyg = pytest.importorskip("torch_geometric.data")
    mols = [_molecule("CH3CH2OH"), _molecule("(S)-lactic acid"), _molecule("H2O")]
    data = pyg.Data(pos=mols[0].positions, z=mols[0].numbers)
    assert check_model(PairModel(), data, outputs=OUTPUTS).ok
    batch = pyg.Batch.from_data_list([pyg.Data(pos=m.positions, z=m.numbers) for m in mols])
    report = check_model(PairModel(), batch, outputs=OUTPUTS)
    assert report.ok and "object example, 24 atoms" in report.example
    assert tuple(PairModel()(batch.pos, batch.z, batch.batch)["energy"].shape) == (3,)
    # atoms are relabelled within their molecule: the batch vector stays valid
    with pytest.raises(AssertionError, match="output 'energy', irrep 1x0e, under permutation"):
        check_model(PairModel("order"), batch, outputs=OUTPUTS)


def test_default_outputs_forces_from_and_irreps_out():
    mol = _molecule()
    example = {"pos": mol.positions, "z": mol.numbers}
    report = check_model(PairModel(), example)  # energy 0e and forces 1o, those returned
    assert {r.output for r in report.rows} == {"energy", "forces"}
    energy = lambda pos, z: PairModel()(pos, z)["energy"]  # noqa: E731
    report = check_model(energy, example, forces_from=0)
    assert {r.output for r in report.rows} == {"0", "-grad 0"}
    with pytest.raises(AssertionError, match="output -grad 0, irrep 1x1o, under reflection"):
        check_model(lambda pos, z: energy(pos, z) + pseudoscalar(pos, z), example, forces_from=0)


# -- planted bugs: each fails with the output and the transformation named -----------------


@pytest.mark.parametrize(
    ("bug", "output", "transformation", "hint"),
    [
        ("absolute", "energy", "translation", "absolute positions"),
        ("pseudoscalar", "energy", "reflection", "is the model chiral"),
        ("forces parity", "forces", "reflection", "behaves as 1x1e, not 1x1o"),
        ("order", "energy", "permutation", "atom order"),
    ],
)
def test_planted_bugs_are_named(bug, output, transformation, hint):
    mol = _molecule()
    example = {"pos": mol.positions, "z": mol.numbers}
    with pytest.raises(ModelCheckError) as info:
        check_model(PairModel(bug), example, outputs=OUTPUTS)
    text = str(info.value)
    assert f"output {output!r}, irrep 1x" in text and f"under {transformation}:" in text
    assert hint in text, text
    assert "max |f(h.x) - rho(h) f(x)| = " in text and "h = " in text
    report = info.value.report
    assert not report.ok
    failed = {(r.output, r.transformation) for r in report.failures}
    assert (output, transformation) in failed
    # the healthy outputs and transformations are still measured and pass
    assert report.error("dipole", "rotation") < 1e-12
    if bug != "absolute":
        assert report.error("energy", "translation") < 1e-12


def test_pseudoscalar_passes_with_parity_false():
    mol = _molecule()
    report = check_model(
        PairModel("pseudoscalar"), (mol.positions, mol.numbers), outputs=OUTPUTS, parity=False
    )
    assert report.ok and "reflection" not in {r.transformation for r in report.rows}


def test_edge_index_is_relabelled_and_fields_rotate():
    mol = _molecule()
    pos, z = mol.positions, mol.numbers
    n = len(z)
    src, dst = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    keep = (src != dst) & (torch.cdist(pos, pos) < 1.7)  # the bonds: a sparse graph
    edge_index = torch.stack([src[keep], dst[keep]])
    feats = torch.randn(n, 4, dtype=F64, generator=torch.Generator().manual_seed(0))

    def model(data):  # messages along given edges; one 1o node feature in, vectors out
        s, d = data["edge_index"]
        vec = data["pos"][s] - data["pos"][d]
        weight = torch.exp(-(vec * vec).sum(-1))[:, None]
        x = data["x"]
        out = torch.zeros(n, 3, dtype=F64).index_add(0, d, weight * (vec + x[s, 1:]))
        energy = (weight[:, 0] * x[s, 0] * x[d, 0]).sum()
        return {"energy": energy, "vectors": out}

    example = {"pos": pos, "z": z, "edge_index": edge_index, "x": feats}
    outputs = {"energy": "0e", "vectors": "1o"}
    assert check_model(model, example, outputs=outputs, fields={"x": "0e + 1o"}).ok
    with pytest.raises(AssertionError, match="output 'vectors', irrep 1x1o, under rotation"):
        check_model(model, example, outputs=outputs)  # x not declared: it does not rotate
    with pytest.raises(AssertionError, match="under permutation"):
        check_model(model, example, outputs=outputs, fields={"x": "0e + 1o"}, index_fields=())


# -- periodic systems ----------------------------------------------------------------------


def test_periodic_model_passes_and_ignoring_the_cell_fails():
    c = _crystal()
    example = {"pos": c.positions, "z": c.numbers, "cell": c.cell}
    outputs = {"energy": "0e", "forces": "1o", "stress": TENSOR2}
    report = check_model(PeriodicModel(), example, outputs=outputs)
    assert report.ok, report
    assert "lattice shift" in {r.transformation for r in report.rows}
    assert report.error("stress", "rotation") < 1e-12
    with pytest.raises(ModelCheckError) as info:
        check_model(PeriodicModel(ignore_cell=True), example, outputs=outputs)
    text = str(info.value)
    assert "output 'energy', irrep 1x0e, under lattice shift" in text
    assert "does the model ignore the cell" in text
    assert info.value.report.error("energy", "rotation") < 1e-12
    # a stress that does not rotate with the cell is caught as a 2-tensor
    frozen = lambda pos, z, cell: {**PeriodicModel()(pos, z, cell), "stress": c.cell}  # noqa: E731
    with pytest.raises(AssertionError, match="output 'stress', irrep cartesian 2-tensor"):
        check_model(frozen, example, outputs=outputs)


def test_ase_calculator_and_atoms():
    ase = pytest.importorskip("ase")
    from ase.calculators.calculator import Calculator, all_changes

    class TorchCalculator(Calculator):
        implemented_properties = ("energy", "forces", "stress")

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            out = PeriodicModel()(
                torch.tensor(self.atoms.positions),
                torch.tensor(self.atoms.numbers),
                torch.tensor(np.asarray(self.atoms.cell)),
            )
            s = out["stress"].numpy()
            self.results = {
                "energy": float(out["energy"]),
                "forces": out["forces"].numpy(),
                "stress": s[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]],  # Voigt, as ASE stores it
            }

    c = _crystal()
    atoms = ase.Atoms(numbers=c.numbers.numpy(), positions=c.positions.numpy(),
                      cell=c.cell.numpy(), pbc=True)  # fmt: skip
    outputs = {"energy": "0e", "forces": "1o", "stress": TENSOR2}
    report = check_model(TorchCalculator(), atoms, outputs=outputs)
    assert report.ok and "atoms example, 4 atoms, periodic" in report.example
    assert atoms.calc is None  # the example is left as it was given
    assert "lattice shift" in {r.transformation for r in report.rows}
    mol = _molecule()
    molecule = ase.Atoms(numbers=mol.numbers.numpy(), positions=mol.positions.numpy())
    energy = lambda a: torch.tensor(a.get_all_distances()).pow(-1).triu(1).sum()  # noqa: E731
    assert check_model(energy, molecule, outputs={0: "0e"}).ok


# -- errors that say what to do ------------------------------------------------------------


def test_bad_arguments():
    mol = _molecule()
    example = {"pos": mol.positions, "z": mol.numbers}
    with pytest.raises(ValueError, match="ntrials must be >= 1"):
        check_model(PairModel(), example, ntrials=0)
    with pytest.raises(ValueError, match="cannot tell which field holds the positions"):
        check_model(PairModel(), {"a": mol.positions, "b": mol.positions})
    with pytest.raises(ValueError, match="positions='coords' is not a field"):
        check_model(PairModel(), example, positions="coords")
    with pytest.raises(ValueError, match="output 'stress' is not in what the model returned"):
        check_model(PairModel(), example, outputs={"stress": TENSOR2})
    with pytest.raises(ValueError, match="need a last dimension of 3"):
        check_model(PairModel(), example, outputs={"energy": "1o"})
    with pytest.raises(ValueError, match="must be e3nn irreps"):
        check_model(PairModel(), example, outputs={"energy": "scalar"})
    with pytest.raises(TypeError, match="example must be what the model takes"):
        check_model(PairModel(), mol.positions)
    with pytest.raises(TypeError, match="cell must name the example's cell field"):
        check_model(PairModel(), example, cell=torch.eye(3, dtype=F64))
    with pytest.raises(ValueError, match="forces_from='energy': that output does not require"):
        check_model(lambda pos, z: {"energy": pos.sum().detach()}, example, forces_from="energy")
    with pytest.raises(ValueError, match="no field named 'cell'"):
        check_model(PairModel(), example, cell=True)
    with pytest.raises(AssertionError, match="exactly zero at the example"):
        check_model(lambda pos, z: {"energy": 0 * pos.sum()}, example)
    assert check_model(lambda pos, z: {"energy": 0 * pos.sum()}, example, allow_zero=True).ok


@pytest.mark.parametrize("ntrials", [0, -1])
def test_assert_equivariant_refuses_no_trials(ntrials):
    # issue 16: ntrials=0 used to test nothing and pass, even for a broken function
    broken = lambda x: x[..., [1, 0, 2]]  # noqa: E731
    with pytest.raises(ValueError, match="ntrials must be >= 1"):
        assert_equivariant(broken, "1o", "1o", ntrials=ntrials)
    with pytest.raises(ValueError, match="ntrials must be >= 1"):
        assert_invariant(lambda p: p[:, 0].sum(), torch.randn(4, 3, dtype=F64), ntrials=ntrials)


# -- sizes and timing ----------------------------------------------------------------------


@given(c=crystals(max_atoms=4))
@settings(max_examples=5)
def test_periodic_model_on_drawn_crystals(c):
    assert min_image_distance(c.positions.numpy(), c.cell.numpy()) >= 1.5 - 1e-9
    example = {"pos": c.positions, "z": c.numbers, "cell": c.cell}
    # allow_zero: a sparse cell may have no pair within the cutoff, then zero is right
    outputs = {"energy": "0e", "stress": TENSOR2}
    check_model(PeriodicModel(), example, outputs=outputs, allow_zero=True)


def test_timing_of_one_check_on_50_atoms(capsys):
    mol = cluster(50, seed=0)
    example = {"pos": mol.positions, "z": mol.numbers}
    check_model(PairModel(), example, outputs=OUTPUTS)  # warm-up
    start = time.perf_counter()
    report = check_model(PairModel(), example, outputs=OUTPUTS)
    elapsed = time.perf_counter() - start
    assert report.ok and math.isfinite(elapsed)
    with capsys.disabled():
        print(f"\ncheck_model, 50 atoms, pair model, 3 outputs, 4 elements: {elapsed * 1e3:.1f} ms")


# -- our own TensorFieldConv: by field names, and the float32-constant hint ----------------


def _conv_example(conv):
    from equibasis.geometry import radius_graph

    mol = cluster(20, seed=0)
    x = torch.randn(20, conv.irreps_in.dim, dtype=F64, generator=torch.Generator().manual_seed(1))
    return {"x": x, "pos": mol.positions, "edge_index": radius_graph(mol.positions, 4.0)}


def _conv():
    from equibasis.radial import BesselRBF
    from equibasis.tensor_field import TensorFieldConv

    torch.manual_seed(0)
    return TensorFieldConv("4x0e + 2x1o", "4x0e + 2x1o + 1x2e", 2, BesselRBF(6, 4.0))


def test_tensor_field_conv_is_called_by_field_names(float64_default):
    conv = _conv()  # built under float64: e3nn's coefficients exact
    example = _conv_example(conv)
    report = check_model(conv, example, fields={"x": conv.irreps_in})  # outputs: irreps_out
    assert report.ok and {r.irrep for r in report.rows} == {"4x0e", "2x1o", "1x2e"}
    with pytest.raises(AssertionError, match="output 0, irrep 2x1o, under rotation"):
        check_model(conv, example)  # x's vectors not declared: they do not rotate
    # assert_equivariant cannot call it with sampled inputs: the error says why
    with pytest.raises(TypeError, match="use check_model"):
        assert_equivariant(conv)


def test_float32_constants_in_a_float64_model_get_their_hint():
    conv = _conv().double()  # e3nn built its coefficients in float32, .double() keeps them
    example = _conv_example(conv)
    with pytest.raises(AssertionError, match="float32 constants in the model"):
        check_model(conv, example, fields={"x": conv.irreps_in})
    assert check_model(conv, example, fields={"x": conv.irreps_in}, rtol=1e-6).ok


def test_batch_of_crystals_with_one_cell_each():
    from hypothesis import find

    a = find(crystals(min_atoms=3, max_atoms=3), lambda c: True)
    b = find(crystals(min_atoms=2, max_atoms=2, rigid_motion=False), lambda c: True)
    example = {
        "pos": torch.cat([a.positions, b.positions]),
        "z": torch.cat([a.numbers, b.numbers]),
        "cell": torch.stack([a.cell, b.cell]),  # (B, 3, 3), or (3B, 3) as MACE stacks them
        "batch": torch.tensor([0, 0, 0, 1, 1]),
    }

    def model(pos, z, cell, batch, ignore_cell=False):
        energies = [
            periodic_energy(pos[batch == k], z[batch == k], cell[k], ignore_cell=ignore_cell)
            for k in range(len(cell))
        ]
        return {"energy": torch.stack(energies)}

    assert check_model(model, example).ok
    flat = {**example, "cell": example["cell"].reshape(6, 3)}
    assert check_model(lambda pos, z, cell, batch: model(pos, z, cell.reshape(-1, 3, 3), batch),
                       flat).ok  # fmt: skip
    with pytest.raises(AssertionError, match="under lattice shift"):
        check_model(lambda pos, z, cell, batch: model(pos, z, cell, batch, True), example)


def test_outputs_as_attributes_and_tuple_positions():
    mol = _molecule()
    example = {"pos": mol.positions, "z": mol.numbers}

    def as_object(pos, z):
        return types.SimpleNamespace(**PairModel()(pos, z))

    def as_tuple(pos, z):
        out = PairModel()(pos, z)
        return out["energy"], out["forces"]

    assert check_model(as_object, example).ok  # energy and forces found as attributes
    report = check_model(as_tuple, example, outputs={0: "0e", 1: "1o"})
    assert report.ok and {r.output for r in report.rows} == {"0", "1"}
    with pytest.raises(AssertionError, match=r"output 1, irrep 1x1e, under reflection"):
        check_model(as_tuple, example, outputs={0: "0e", 1: "1e"})  # forces declared 1e
