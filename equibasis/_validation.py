"""Argument checks shared by every module, so bad input fails the same clear way everywhere.

Each check raises ``ValueError`` (bad value) or ``TypeError`` (bad type) with a message that
names the argument. None uses ``assert``: ``python -O`` strips asserts.
"""

import math
import numbers
from collections.abc import Iterable

import torch

from equibasis._runtime import static, values_known

__all__ = [
    "check_choice",
    "check_finite",
    "check_float_tensor",
    "check_int",
    "check_last_dim",
    "check_positive",
    "check_same_device",
]


def check_int(name: str, value: object, minimum: int = 0) -> int:
    """Return ``value`` as an ``int`` after checking it is an integer ``>= minimum``.

    ``bool`` is rejected (``True`` is an ``int`` in Python, never a meaningful size here).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, received {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, received {value}")
    return int(value)


def check_positive(name: str, value: object) -> float:
    """Return ``value`` as a ``float`` after checking it is a finite real number ``> 0``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, received {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, received {value}")
    return value


def check_choice(name: str, value: object, valid: Iterable[str]) -> str:
    """Return ``value`` after checking it is one of the strings in ``valid``."""
    valid = tuple(valid)
    if value not in valid:
        raise ValueError(f"{name} must be one of {valid}, received {value!r}")
    return value  # type: ignore[return-value]


def check_float_tensor(name: str, value: object) -> torch.Tensor:
    """Check ``value`` is a floating-point tensor (float16/bfloat16/float32/float64).

    Integer tensors are rejected rather than silently cast: ``torch.arange(5)`` as distances is
    almost always a bug, and an implicit cast would hide which dtype the result has.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, received {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor (float32 or float64), received {value.dtype}"
        )
    return value


@static
def check_last_dim(name: str, value: torch.Tensor, size: int) -> torch.Tensor:
    """Check the last dimension of ``value`` has ``size`` entries (e.g. 3 for vectors)."""
    if value.ndim == 0 or value.shape[-1] != size:
        raise ValueError(f"{name} must have shape (..., {size}), received {tuple(value.shape)}")
    return value


def check_finite(name: str, value: torch.Tensor) -> torch.Tensor:
    """Reject NaN and infinite entries.

    This synchronises with the device (one reduction), so bases call it only where a NaN would
    otherwise be silently turned into a plausible number (e.g. masked away by a cutoff). Under
    a recorded graph (trace, compile, export) and for tensors without values (``meta``, fake)
    the check is skipped: a data-dependent branch would break the graph.
    """
    if not values_known(value):
        return value
    # x * 0 is NaN exactly for NaN and inf entries, and one sum is ~5x cheaper than
    # isfinite().all(); the full check runs only to confirm a non-finite sum.
    if not bool(torch.isfinite((value * 0.0).sum())) and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return value


def check_same_device(**tensors: torch.Tensor) -> None:
    """Check that all given tensors live on one device, naming them if not."""
    devices = {name: t.device for name, t in tensors.items()}
    if len(set(devices.values())) > 1:
        listing = ", ".join(f"{n} on {d}" for n, d in devices.items())
        raise ValueError(f"tensors must be on the same device, received {listing}")
