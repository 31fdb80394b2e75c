"""Rotation tests for your own bases, layers and models.

- :mod:`equibasis.testing.strategies`: hypothesis strategies (rotations, reflections, point
  clouds, real molecules, irreps and features) that shrink failures to small cases (they need
  hypothesis, ``pip install 'equibasis[testing]'``; nothing else here does);
- :mod:`equibasis.testing.checks`: :func:`assert_equivariant`, :func:`assert_invariant` and
  :func:`equivariance_error`, which name the irrep that broke, the error, the tolerance and the
  group element;
- :mod:`equibasis.testing.model_check`: :func:`check_model`, which checks a whole model called
  the way it is called (PyG ``Data``/``Batch``, dicts, ASE ``Atoms``, positional arguments,
  periodic cells) and names the output, irrep block and transformation that broke;
- :mod:`equibasis.testing.pytest_plugin`: ``device`` / ``dtype`` fixtures for your test suite
  (``pytest_plugins = ["equibasis.testing.pytest_plugin"]`` in your ``conftest.py``).

See ``docs/testing.md`` for a worked example.

Example:
    >>> import torch
    >>> from equibasis.testing import assert_invariant
    >>> pos = torch.randn(4, 3, dtype=torch.float64)
    >>> _ = assert_invariant(lambda p: torch.cdist(p, p).sum(), pos)
"""

from equibasis.testing import strategies
from equibasis.testing.checks import (
    POINTS,
    EquivarianceResult,
    IrrepError,
    assert_equivariant,
    assert_invariant,
    equivariance_error,
    forces_from,
    quaternion_to_matrix,
    random_rotation,
    tolerance_for,
)
from equibasis.testing.model_check import (
    TENSOR2,
    ModelCheckError,
    ModelCheckReport,
    ModelCheckRow,
    check_model,
)

__all__ = [
    "POINTS",
    "TENSOR2",
    "EquivarianceResult",
    "IrrepError",
    "ModelCheckError",
    "ModelCheckReport",
    "ModelCheckRow",
    "assert_equivariant",
    "assert_invariant",
    "check_model",
    "equivariance_error",
    "forces_from",
    "quaternion_to_matrix",
    "random_rotation",
    "strategies",
    "tolerance_for",
]
