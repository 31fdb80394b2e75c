"""The fixtures of e3nn's own tests/conftest.py (e3nn 0.6.0), for the copied test file."""

import pytest
import torch
from e3nn.util import test


@pytest.fixture(scope="module", autouse=True, params=["float32", "float64"])
def float_tolerance(request):
    """e3nn's float_tolerance (each test under both default dtypes), scoped to the module.

    e3nn's own fixture is session-scoped: its default dtype (float64) then stayed set for the
    test files that ran after this one in the same session.
    """
    old_dtype = torch.get_default_dtype()
    dtype = {"float32": torch.float32, "float64": torch.float64}[request.param]
    torch.set_default_dtype(dtype)
    yield test.FLOAT_TOLERANCE[dtype]
    torch.set_default_dtype(old_dtype)


@pytest.fixture(autouse=True)
def set_random_seed() -> None:
    """Set the random seeds to try to get some reproducibility (as e3nn's conftest)."""
    test.set_random_seeds()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The copied file runs ~45 s on 2 cores (inductor compiles, a 10^6-vector closure): slow."""
    for item in items:
        if "e3nn_suite" in item.nodeid:
            item.add_marker(pytest.mark.slow)
