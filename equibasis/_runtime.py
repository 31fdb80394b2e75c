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

import torch
from torch._subclasses.fake_tensor import is_fake

__all__ = ["recording_graph", "values_known"]


# Tests set this to run the graph path eagerly (to compare the two paths value for value).
_FORCE_GRAPH = False


def recording_graph() -> bool:
    """Whether torch is recording a graph now (trace, compile, export, FX): take the graph path."""
    if torch.jit.is_scripting():  # pragma: no cover - never scripted (compile_mode "trace")
        return True
    return (
        _FORCE_GRAPH or torch.jit.is_tracing() or torch.compiler.is_compiling() or _fx_tracing()
    )


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
