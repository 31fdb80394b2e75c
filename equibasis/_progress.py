"""The optional tqdm progress bars of ``equibasis report`` and ``equibasis benchmark``."""

from typing import Any

__all__ = ["tqdm_class"]


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
