"""Every public module deployed the ways torch and e3nn users deploy: trace, e3nn's jit compile,
torch.compile(fullgraph=True), torch.export; each compared with eager on new inputs, with
gradients (forces) through the deployed program."""

import io
import warnings

import pytest
import torch
from e3nn.util import jit as e3nn_jit

from equibasis.cutoff import CosineCutoff, DimeNetEnvelope, PolynomialCutoff
from equibasis.harmonics import SphericalHarmonics
from equibasis.polar import AngleBasis, ComENetAngleBasis, ComENetTorsionBasis, TorsionBasis
from equibasis.radial import BernsteinRBF, BesselRBF, ExpNormalRBF, GaussianRBF, SphericalBesselRBF
from equibasis.tensor_field import EdgeEmbedding, TensorFieldConv

MODULES = {
    "CosineCutoff": lambda: CosineCutoff(4.0),
    "PolynomialCutoff": lambda: PolynomialCutoff(4.0, p=6),
    "DimeNetEnvelope": lambda: DimeNetEnvelope(5),
    "DimeNetEnvelope-unmasked": lambda: DimeNetEnvelope(5, zero_beyond_cutoff=False),
    "GaussianRBF": lambda: GaussianRBF(16, 4.0),
    "GaussianRBF-schnet": lambda: GaussianRBF.preset("schnet"),
    "BesselRBF": lambda: BesselRBF(8, 5.0),
    "SphericalBesselRBF": lambda: SphericalBesselRBF(3, 4, 5.0),
    "ExpNormalRBF": lambda: ExpNormalRBF(16, 5.0),
    "BernsteinRBF": lambda: BernsteinRBF(12, 5.0),
    "SphericalHarmonics-l2": lambda: SphericalHarmonics(2),
    "SphericalHarmonics-l0..8": lambda: SphericalHarmonics(list(range(9)), normalization="norm"),
    "SphericalHarmonics-unnormalized": lambda: SphericalHarmonics([0, 1, 2, 5], normalize=False),
    "AngleBasis-paper": lambda: AngleBasis(5, 4, 5.0, variant="paper"),
    "AngleBasis-pyg": lambda: AngleBasis(5, 4, 5.0, variant="pyg"),
    "AngleBasis-dig": lambda: AngleBasis(5, 4, 5.0, variant="dig"),
    "TorsionBasis-dig": lambda: TorsionBasis(4, 3, 5.0, variant="dig"),
    "TorsionBasis-consistent": lambda: TorsionBasis(4, 3, 5.0, variant="consistent"),
    "ComENetAngleBasis": lambda: ComENetAngleBasis(),
    "ComENetTorsionBasis": lambda: ComENetTorsionBasis(),
    "EdgeEmbedding-bessel": lambda: EdgeEmbedding(3, BesselRBF(8, 5.0)),
    "EdgeEmbedding-gaussian": lambda: EdgeEmbedding("0e + 1o + 2e", GaussianRBF(10, 5.0)),
    "TensorFieldConv": lambda: TensorFieldConv(
        "4x0e + 2x1o", "4x0e + 2x1o + 1x2e", 2, GaussianRBF(8, 3.0), hidden=[16]
    ),
}
DTYPES = [torch.float32, torch.float64]


def _build(name: str, dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(0)  # TensorFieldConv's weights
    return MODULES[name]().to(dtype)


def _outputs(result) -> tuple[torch.Tensor, ...]:
    return result if isinstance(result, tuple) else (result,)


def _assert_same(deployed, eager, dtype: torch.dtype) -> None:
    """Equal to a few ulp of each output's scale (compiled kernels may reorder sums)."""
    for ours, reference in zip(_outputs(deployed), _outputs(eager), strict=True):
        assert ours.dtype == reference.dtype == dtype and ours.shape == reference.shape
        finite = torch.isfinite(reference)
        assert torch.equal(torch.isfinite(ours), finite)
        assert torch.equal(ours[~finite], reference[~finite])
        scale = reference.where(finite, 0.0).abs().max().clamp_min(1.0)
        difference = (ours - reference).where(finite, 0.0).abs().max()
        assert difference <= 64 * torch.finfo(dtype).eps * scale, difference


def _gradients(module, inputs) -> tuple[torch.Tensor, ...]:
    """d/d(float inputs) of a fixed random projection of the finite outputs."""
    inputs = [t.detach().requires_grad_() if t.is_floating_point() else t for t in inputs]
    outputs = _outputs(module(*inputs))
    gen = torch.Generator().manual_seed(5)
    total = sum(
        (o.where(torch.isfinite(o), 0.0) * torch.randn(o.shape, generator=gen, dtype=o.dtype)).sum()
        for o in outputs
    )
    wanted = [t for t in inputs if t.is_floating_point()]
    return torch.autograd.grad(total, wanted, allow_unused=True, materialize_grads=True)


def _new_inputs(module) -> list[tuple[torch.Tensor, ...]]:
    """Inputs other than those traced with (other sizes and values)."""
    return [module.example_inputs(seed) for seed in (1, 2)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(MODULES))
def test_trace_is_right_on_new_inputs_and_saves(name, dtype):
    """torch.jit.trace records only torch operations: right on new sizes and values (no
    TracerWarning: the suite turns warnings into errors), gradients included, and the trace
    saves and loads (no Python operator inside)."""
    module = _build(name, dtype)
    with warnings.catch_warnings():
        if name == "TensorFieldConv":  # e3nn's TensorProduct checks shapes by torch._assert
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(module, module.example_inputs(0), check_trace=False)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    for inputs in _new_inputs(module):
        with torch.no_grad():
            eager = module(*inputs)
            _assert_same(traced(*inputs), eager, dtype)
            _assert_same(loaded(*inputs), eager, dtype)
        _assert_same(_gradients(loaded, inputs), _gradients(module, inputs), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(MODULES))
def test_e3nn_jit_compile(name, dtype):
    """e3nn.util.jit.compile (how e3nn-based models are deployed) traces the module in its own
    dtype (the probe buffer, not the float64 constants) and the result is right on new inputs."""
    module = _build(name, dtype)
    assert e3nn_jit.get_compile_mode(module) == "trace"
    compiled = e3nn_jit.compile(module, in_place=False)
    assert isinstance(compiled, torch.jit.ScriptModule)
    for inputs in _new_inputs(module):
        with torch.no_grad():
            _assert_same(compiled(*inputs), module(*inputs), dtype)


@pytest.mark.slow  # ~5 s a module (dynamo + AOT autograd)
@pytest.mark.parametrize("name", list(MODULES))
def test_compile_fullgraph(name):
    """torch.compile(fullgraph=True) captures one graph (no break), forward and backward."""
    torch._dynamo.reset()
    module = _build(name, torch.float64)
    compiled = torch.compile(module, fullgraph=True, backend="aot_eager", dynamic=True)
    for inputs in [module.example_inputs(0), *_new_inputs(module)]:
        with torch.no_grad():
            _assert_same(compiled(*inputs), module(*inputs), torch.float64)
        _assert_same(_gradients(compiled, inputs), _gradients(module, inputs), torch.float64)


def _dynamic_shapes(inputs):
    return tuple({dim: torch.export.Dim.AUTO for dim in range(t.ndim)} for t in inputs)


@pytest.mark.parametrize("name", list(MODULES))
def test_export_is_right_on_new_inputs_with_gradients(name):
    """torch.export: the exported program equals eager on new sizes, and autograd through it
    gives eager's gradients (forces from an exported model)."""
    module = _build(name, torch.float64)
    inputs = module.example_inputs(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # export's own notes on specialisation
        program = torch.export.export(module, inputs, dynamic_shapes=_dynamic_shapes(inputs))
    exported = program.module()
    for new in _new_inputs(module):
        with torch.no_grad():
            _assert_same(exported(*new), module(*new), torch.float64)
        _assert_same(_gradients(exported, new), _gradients(module, new), torch.float64)


@pytest.mark.parametrize("name", list(MODULES))
def test_meta_device_gives_shapes(name):
    """On the meta device (shape inference, fake tensors) every module gives eager's shapes and
    dtypes instead of failing on a host read of a value."""
    module = _build(name, torch.float32)
    inputs = module.example_inputs(0)
    want = _outputs(module(*inputs))
    got = _outputs(module.to("meta")(*(t.to("meta") for t in inputs)))
    for ours, reference in zip(got, want, strict=True):
        assert ours.device.type == "meta"
        assert ours.shape == reference.shape and ours.dtype == reference.dtype


@pytest.mark.slow  # inductor compiles: ~10 s
@pytest.mark.parametrize("name", ["AngleBasis-pyg", "TorsionBasis-dig", "SphericalHarmonics-l0..8"])
def test_inductor_compiles_in_seconds_and_matches(name):
    """Inductor (the default backend) compiles the bases and matches eager. The Chebyshev series
    is one registered operator: written as plain operations, inductor inlined its three-term
    recurrence into itself and did not finish compiling AngleBasis in 400 s."""
    torch._dynamo.reset()
    module = _build(name, torch.float64)
    compiled = torch.compile(module, fullgraph=True)
    for inputs in _new_inputs(module):
        with torch.no_grad():
            _assert_same(compiled(*inputs), module(*inputs), torch.float64)
