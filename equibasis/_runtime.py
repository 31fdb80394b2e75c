"""How equibasis runs inside a user's process: the one place that picks a code path.

equibasis is pure torch. Every basis has two ways to evaluate the same formula:

* **eager** (the default): torch operations plus, where they save a pass over memory, in-place
  updates of freshly allocated tensors, data-dependent shortcuts (patching only the rare rows
  that need it) and :class:`torch.autograd.Function` s with hand-written derivatives (each one
  differentiable again, so ``create_graph=True`` works);
* **graph** (while torch records a graph: ``torch.jit.trace``, ``torch.compile``,
  ``torch.export``, FX symbolic tracing, and for ``meta`` / fake tensors): the plain
  functional composition, with no host synchronisation, no data-dependent Python branch and no
  in-place write, so the recorded graph is right on every input and autograd can
  differentiate the exported or traced program (forces) to any order.

Both paths compute the same values (the docs of each family say to what tolerance). There is
no compiled extension, no thread pool and no cache of our own: torch's intra-op threads do the
work, torch's settings are never changed, and a forked child or a read-only install behaves
like the parent.
"""

import functools
import warnings
from collections.abc import Callable
from typing import TypeVar

import torch
from torch._subclasses.fake_tensor import is_fake

__all__ = ["recording_graph", "records_grad", "static", "values_known"]

_F = TypeVar("_F", bound=Callable)


# Tests set this to run the graph path eagerly (to compare the two paths value for value).
_FORCE_GRAPH = False


def recording_graph() -> bool:
    """Whether torch is recording a graph now (trace, compile, export, FX): take the graph path."""
    if torch.jit.is_scripting():  # pragma: no cover - never scripted (compile_mode "trace")
        return True
    return _FORCE_GRAPH or torch.jit.is_tracing() or torch.compiler.is_compiling() or _fx_tracing()


def _fx_tracing() -> bool:
    symbolic = getattr(torch.fx._symbolic_trace, "is_fx_symbolic_tracing", None)
    return bool(symbolic is not None and symbolic())


def values_known(*tensors: torch.Tensor) -> bool:
    """Whether the values of ``tensors`` may be read on the host (for checks and shortcuts).

    False while a graph is recorded and for tensors without data (``meta``, fake tensors).
    """
    if recording_graph():
        return False
    return not any(t.device.type == "meta" or is_fake(t) for t in tensors)


def records_grad(*inputs: torch.Tensor) -> bool:
    """Whether autograd records a graph through any of ``inputs``.

    The eager path then avoids in-place writes into tensors that autograd saved.
    """
    return torch.is_grad_enabled() and any(t.requires_grad for t in inputs)


def static(check: _F) -> _F:
    """Decorate static work of a forward pass: input checks, tables of constants.

    Under ``torch.jit.trace`` it runs once on the example and is not recorded (shapes are then
    0-d tensors, so comparing them warns, as does ``torch.tensor`` of a constant table); under
    compile and export shape comparisons become guards.
    """

    @functools.wraps(check)
    def run(*args, **kwargs):
        if not torch.jit.is_tracing():
            return check(*args, **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            return check(*args, **kwargs)

    return run  # type: ignore[return-value]
