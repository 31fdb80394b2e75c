"""What the figures share: matplotlib on first use, evaluating a basis, titles."""

from typing import Any

import numpy as np
import torch

from equibasis._optional import require


def _pyplot():
    return require("matplotlib.pyplot", "plots", "drawing figures")


def _evaluate(module: torch.nn.Module, *args: np.ndarray) -> np.ndarray:
    """Run ``module`` on float64 tensors without autograd and return a numpy array."""
    tensors = [torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64) for a in args]
    with torch.no_grad():
        out = module(*tensors)
    if isinstance(out, tuple):
        out = out[0]
    return out.detach().cpu().double().numpy()


def _describe(basis: Any) -> str:
    """A short title for a basis: class name and its main sizes."""
    name = type(basis).__name__
    parts = []
    for attr, label in (
        ("num_basis", "functions"),
        ("num_spherical", "num_spherical"),
        ("num_radial", "num_radial"),
        ("variant", "variant"),
    ):
        value = getattr(basis, attr, None)
        if value is not None and not isinstance(value, torch.Tensor):
            parts.append(f"{value} {label}" if label == "functions" else f"{label}={value!r}")
    cutoff = getattr(basis, "cutoff", None)
    if isinstance(cutoff, (int, float)) or (
        isinstance(cutoff, torch.Tensor) and cutoff.numel() == 1
    ):
        parts.append(f"cutoff {float(cutoff):g} Å")
    return f"{name} ({', '.join(parts)})" if parts else name


def _cutoff_of(basis: Any, default: float = 5.0) -> float:
    cutoff = getattr(basis, "cutoff", None)
    if cutoff is None:
        return default
    return float(cutoff)
