"""e3nn 0.4.x on torch >= 2.6: let e3nn load its own constants file.

e3nn up to 0.4.4 loads its Wigner constants with a bare ``torch.load(path)``. torch 2.6 made
``weights_only=True`` the default, which refuses the ``slice`` objects stored in that file, so
``import e3nn.o3`` fails (e3nn/e3nn#535, unreleased); ``mace-torch`` pins ``e3nn==0.4.4``.
Allowing ``slice`` (a builtin that runs no code) in weights-only loads is torch's documented
remedy. It is applied only when the installed e3nn is older than 0.5, from the package's
``__init__``, i.e. before any equibasis module imports e3nn.
"""

import importlib.metadata

__all__ = ["allow_old_e3nn_constants"]


def _version_tuple(text: str) -> tuple[int, int] | None:
    parts = text.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def allow_old_e3nn_constants() -> bool:
    """Allow ``slice`` in torch's weights-only loads when e3nn < 0.5 is installed.

    Returns:
        Whether it was applied (False for e3nn >= 0.5, no e3nn, or a torch before 2.4 that has
        no ``add_safe_globals`` and loads the file anyway).
    """
    try:
        version = _version_tuple(importlib.metadata.version("e3nn"))
    except importlib.metadata.PackageNotFoundError:
        return False
    if version is None or version >= (0, 5):
        return False
    import torch  # only on this path: `import equibasis` itself stays cheap

    add_safe_globals = getattr(torch.serialization, "add_safe_globals", None)
    if add_safe_globals is None:
        return False
    add_safe_globals([slice])
    return True
