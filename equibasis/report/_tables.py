"""Cells and tables of the report's Markdown, and the versions of the peers it names."""

from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from typing import Any

from equibasis.benchmarking import format_table

__all__ = ["cell", "record_table", "version"]


def cell(value: object) -> str:
    """A cell of the report's tables: errors as ``1.2e-15`` (0 as ``0``), None as ``–``.

    Pipes inside text are escaped (the HTML page's table parser reads them back).
    """
    if value is None:
        return "–"
    if isinstance(value, float):
        return "0" if value == 0 else f"{value:.1e}"
    return str(value).replace("|", "\\|")


def record_table(
    records: Iterable[Any], columns: Mapping[str, str | Callable[[Any], object]]
) -> str:
    """A Markdown table with one row per record and one column per entry of ``columns``.

    Args:
        records: The rows (dataclass instances).
        columns: Header -> the attribute name of the cell, or a function of the record.

    Returns:
        The table, cells written by :func:`cell`.
    """
    getters = [attrgetter(get) if isinstance(get, str) else get for get in columns.values()]
    return format_table(list(columns), [[get(r) for get in getters] for r in records], cell=cell)


def version(distribution: str) -> str:
    """Installed version of a distribution, or "not installed"."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(distribution)
    except PackageNotFoundError:
        return "not installed"
