"""Shared test set-up: the project's own pytest plugin, hypothesis profiles, headless matplotlib.

The ``device`` (cpu, and cuda where present), ``dtype`` (float32, float64), ``tolerance`` and
``float64_default`` fixtures come from :mod:`equibasis.testing.pytest_plugin`, the plugin we ship
to users, so our suite exercises it too.
"""

import os

import matplotlib
import pytest
import torch
from hypothesis import HealthCheck, settings

pytest_plugins = ["equibasis.testing.pytest_plugin"]

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


def pytest_collection_modifyitems(config, items):
    """Skip every test marked ``gpu`` (directly or through a parameter) where CUDA is absent."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA; none on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
