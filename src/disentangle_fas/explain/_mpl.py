"""Lazy matplotlib import shared by the figure writers (no pyplot, no global state)."""

from __future__ import annotations

from typing import Any

__all__ = ["import_colormap", "import_figure"]


def import_figure() -> Any:
    """Return :class:`matplotlib.figure.Figure`.

    Raises:
        ImportError: matplotlib is not installed (names the extra to install).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(
            'explainability figures need matplotlib: pip install "disentangle-fas[explain]"'
        ) from err
    return Figure


def import_colormap(name: str) -> Any:
    """Return the matplotlib colormap called ``name``.

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: no colormap of that name.
    """
    import_figure()
    import matplotlib

    try:
        return matplotlib.colormaps[name]
    except KeyError as err:
        raise ValueError(f"unknown matplotlib colormap {name!r}") from err
