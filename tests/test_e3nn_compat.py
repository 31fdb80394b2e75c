"""e3nn 0.4.x on torch >= 2.6: equibasis lets e3nn load its constants (mace-torch's pin)."""

import importlib.metadata

import pytest
import torch

from equibasis import _e3nn_compat


@pytest.mark.parametrize(
    ("version", "applied"),
    [("0.4.4", True), ("0.4.0", True), ("0.5.0", False), ("0.6.0", False), ("1.0", False)],
)
def test_slice_allowed_only_for_old_e3nn(monkeypatch, version, applied):
    added = []
    monkeypatch.setattr(importlib.metadata, "version", lambda name: version)
    monkeypatch.setattr(torch.serialization, "add_safe_globals", added.extend)
    assert _e3nn_compat.allow_old_e3nn_constants() is applied
    assert added == ([slice] if applied else [])


def test_no_e3nn_is_not_an_error(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert _e3nn_compat.allow_old_e3nn_constants() is False
