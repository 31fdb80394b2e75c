"""Shared fixtures: dtypes, devices, hypothesis profiles, a headless matplotlib backend."""

import os

import matplotlib
import pytest
import torch
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")  # tests never open windows

# "ci" reproduces exactly (derandomize) so a red CI run can be replayed; "dev" explores.
# deadline=None: the first call of a torch op pays one-off dispatch/allocation costs.
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=30)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

CUDA = torch.cuda.is_available()
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


def pytest_collection_modifyitems(config, items):
    if CUDA:
        return
    skip = pytest.mark.skip(reason="needs CUDA; none on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


# session scope: hypothesis rejects function-scoped fixtures combined with @given
@pytest.fixture(scope="session", params=[torch.float32, torch.float64], ids=["float32", "float64"])
def dtype(request) -> torch.dtype:
    return request.param


@pytest.fixture(scope="session", params=DEVICES)
def device(request) -> torch.device:
    return torch.device(request.param)


@pytest.fixture
def float64_default():
    """Run a test with float64 as torch's default dtype (e3nn builds Wigner D in it)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(old)
