"""The fixtures of e3nn's own tests/conftest.py (e3nn 0.6.0), for the copied test file."""

import pytest
from e3nn.util import test

float_tolerance = test.float_tolerance


@pytest.fixture(autouse=True)
def set_random_seed() -> None:
    """Set the random seeds to try to get some reproducibility (as e3nn's conftest)."""
    test.set_random_seeds()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The copied file runs ~45 s on 2 cores (inductor compiles, a 10^6-vector closure): slow."""
    for item in items:
        if "e3nn_suite" in item.nodeid:
            item.add_marker(pytest.mark.slow)
