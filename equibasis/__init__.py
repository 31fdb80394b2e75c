"""equibasis: exact, fast and tested geometric basis sets for molecular GNNs.

Radial bases (Gaussian, Bessel, spherical Bessel, ...), polar bases (DimeNet / SphereNet /
ComENet), real spherical harmonics of any degree as e3nn irreps, tensor-field embeddings, and
property-based rotation tests.

The public names below are imported lazily (PEP 562), so ``import equibasis`` is cheap and a
submodule's heavy imports (matplotlib, hypothesis) happen only when that submodule is used.
"""

import importlib
from typing import Any

from equibasis._e3nn_compat import allow_old_e3nn_constants

__version__ = "0.1.0"

allow_old_e3nn_constants()  # e3nn 0.4.x on torch >= 2.6 (mace-torch's pin); before any e3nn import

# public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    # special functions
    "spherical_jn": "special",
    "spherical_jn_zeros": "special",
    "legendre": "special",
    # cutoffs
    "CosineCutoff": "cutoff",
    "PolynomialCutoff": "cutoff",
    "DimeNetEnvelope": "cutoff",
    # radial bases
    "GaussianRBF": "radial",
    "BesselRBF": "radial",
    "SphericalBesselRBF": "radial",
    "ExpNormalRBF": "radial",
    "BernsteinRBF": "radial",
    # spherical harmonics
    "spherical_harmonics": "harmonics",
    "SphericalHarmonics": "harmonics",
    "convert_sh": "harmonics",
    "real_spherical_harmonics": "harmonics",
    "real_spherical_harmonics_from_angles": "harmonics",
    # geometry
    "radius_graph": "geometry",
    "edge_vectors": "geometry",
    "triplets": "geometry",
    "spherenet_angle": "geometry",
    "dimenet_angle": "geometry",
    "dimenetpp_angle": "geometry",
    "spherenet_torsion": "geometry",
    "comenet_angles": "geometry",
    # polar bases
    "AngleBasis": "polar",
    "TorsionBasis": "polar",
    "ComENetAngleBasis": "polar",
    "ComENetTorsionBasis": "polar",
    # tensor field
    "EdgeEmbedding": "tensor_field",
    "TensorFieldConv": "tensor_field",
    # figures
    "plot_radial_basis": "plots",
    "plot_angle_basis": "plots",
    "plot_torsion_basis": "plots",
    "plot_spherical_harmonics": "plots",
    # rotation tests
    "assert_equivariant": "testing",
    "assert_invariant": "testing",
    "check_model": "testing",
    "equivariance_error": "testing",
    "tolerance_for": "testing",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'equibasis' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"equibasis.{module}"), name)
    globals()[name] = value  # cache: the next lookup skips __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
