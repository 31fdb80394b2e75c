"""Optional dependencies: import them on first use, or say which extra installs them.

``import equibasis`` and the bases need torch, e3nn and numpy only. Figures need matplotlib
(``plots``), the report also scipy, markdown and tqdm (``report``), the benchmark tqdm and
matplotlib (``benchmark``), the hypothesis strategies hypothesis (``testing``).
"""

import importlib
from types import ModuleType
from typing import Any

__all__ = ["require", "tqdm_class"]


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise an ImportError naming ``pip install 'equibasis[extra]'``.

    Example:
        >>> require("math", "plots", "nothing").sqrt(4.0)
        2.0
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        top = module.split(".")[0]
        raise ImportError(
            f"{purpose} needs {top}: pip install 'equibasis[{extra}]'", name=top
        ) from error


def tqdm_class(progress: bool, extra: str) -> Any:
    """The tqdm bar class when ``progress`` is true, else None.

    Args:
        progress: Whether bars are wanted.
        extra: The equibasis extra that installs tqdm, named in the error.

    Raises:
        ImportError: ``progress`` is true and tqdm is not installed.
    """
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError(
            f"progress bars need tqdm: pip install 'equibasis[{extra}]' (or pass "
            "--no-progress / progress=False)"
        ) from None
    return tqdm
