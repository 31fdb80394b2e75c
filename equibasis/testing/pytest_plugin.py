"""Opt-in pytest plugin: run your rotation tests on every device and dtype.

Enable it in your project's top-level ``conftest.py``::

    pytest_plugins = ["equibasis.testing.pytest_plugin"]

Fixtures:

- ``device``: ``torch.device``, parametrised over ``cpu`` and ``cuda``; the cuda case carries the
  ``gpu`` marker and is skipped (with a reason) where CUDA is not available;
- ``dtype``: ``torch.float32`` and ``torch.float64``;
- ``tolerance``: :func:`equibasis.testing.tolerance_for` of ``dtype``;
- ``float64_default``: run the test with float64 as torch's default dtype (restored after).

``device``, ``dtype`` and ``tolerance`` are session-scoped (they hold immutable values), so
they combine with hypothesis' ``@given`` without its ``function_scoped_fixture`` health check
failing; ``float64_default`` changes global state and is function-scoped (use it with
``@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])``, or wrap the body
in ``torch.set_default_dtype`` yourself).

The plugin registers the ``gpu`` marker, so ``--strict-markers`` accepts it. Your own
``conftest.py`` fixtures of the same names take precedence over these.

Example:
    >>> import equibasis.testing.pytest_plugin as plugin
    >>> plugin.DEVICES[0]
    'cpu'
"""

from collections.abc import Iterator

import pytest
import torch

from equibasis.testing.checks import tolerance_for

__all__ = ["DEVICES", "DTYPES", "device", "dtype", "float64_default", "tolerance"]

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA; none here"),
        ],
    ),
]
"""Parameters of the ``device`` fixture (usable in ``pytest.mark.parametrize`` too)."""

DTYPES = [torch.float32, torch.float64]
"""Parameters of the ``dtype`` fixture."""


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``gpu`` marker."""
    config.addinivalue_line("markers", "gpu: needs CUDA (skipped where none is present)")


@pytest.fixture(scope="session", params=DEVICES)
def device(request: pytest.FixtureRequest) -> torch.device:
    """The device to run on: cpu, and cuda where available."""
    return torch.device(request.param)


@pytest.fixture(scope="session", params=DTYPES, ids=["float32", "float64"])
def dtype(request: pytest.FixtureRequest) -> torch.dtype:
    """The floating dtype to run in: float32 and float64."""
    return request.param


@pytest.fixture(scope="session")
def tolerance(dtype: torch.dtype) -> float:
    """Default tolerance of the equivariance checks for ``dtype``."""
    return tolerance_for(dtype)


@pytest.fixture
def float64_default() -> Iterator[None]:
    """Run the test with float64 as torch's default dtype (e3nn builds Wigner D in it)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)
