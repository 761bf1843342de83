"""2-D projections of each representation, coloured by domain and by liveness.

PCA (an exact SVD of the centred features) is the default and needs only torch;
t-SNE uses scikit-learn when it is installed. Plots need matplotlib; both come with
``pip install "disentangle-fas[explain]"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

from disentangle_fas.explain._mpl import import_colormap, import_figure
from disentangle_fas.explain.features import SYMBOLS, PooledFeatures

__all__ = ["Projection", "ProjectionMethod", "project_2d", "save_projection_plot"]

ProjectionMethod = Literal["pca", "tsne"]


class Projection(NamedTuple):
    """2-D coordinates of a set of feature vectors.

    Attributes:
        coords: ``(N, 2)`` float32.
        axis_labels: names of the two axes (with PCA's explained variance).
    """

    coords: Tensor
    axis_labels: tuple[str, str]


def _pca(x: Tensor) -> Projection:
    xc = x - x.mean(dim=0, keepdim=True)
    u, s, _ = torch.linalg.svd(xc, full_matrices=False)
    k = min(2, int(s.numel()))
    coords = torch.zeros(x.shape[0], 2, dtype=torch.float64)
    coords[:, :k] = u[:, :k] * s[:k]
    # Fix the sign of each axis (SVD's is arbitrary): the largest |coordinate| is positive.
    for j in range(k):
        if coords[coords[:, j].abs().argmax(), j] < 0:
            coords[:, j] = -coords[:, j]
    total = float((s**2).sum())
    ratio = [float(s[j] ** 2) / total if total > 0 and j < k else 0.0 for j in range(2)]
    return Projection(
        coords.float(), (f"PC1 ({100 * ratio[0]:.0f}%)", f"PC2 ({100 * ratio[1]:.0f}%)")
    )


def _tsne(x: Tensor, seed: int) -> Projection:
    try:
        from sklearn.manifold import TSNE
    except ImportError as err:
        raise ImportError(
            't-SNE needs scikit-learn: pip install "disentangle-fas[explain]" (or use method="pca")'
        ) from err
    n = int(x.shape[0])
    if n < 5:
        raise ValueError(f"t-SNE needs at least 5 samples, got {n}")
    perplexity = float(min(30.0, (n - 1) / 3))
    emb = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(
        x.numpy()
    )
    return Projection(torch.from_numpy(np.asarray(emb, dtype=np.float32)), ("t-SNE 1", "t-SNE 2"))


def project_2d(features: Tensor, method: ProjectionMethod = "pca", *, seed: int = 0) -> Projection:
    """Project feature vectors to 2-D.

    Args:
        features: the vectors.
        method: ``"pca"`` (exact, deterministic) or ``"tsne"`` (scikit-learn).
        seed: t-SNE's random state.

    Returns:
        :class:`Projection`.

    Shape:
        - features: ``(N, d)``; coords: ``(N, 2)``.

    Raises:
        ValueError: bad shape or unknown method.
        ImportError: ``"tsne"`` without scikit-learn.
    """
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"need features of shape (N, d) with N >= 2, got {tuple(features.shape)}")
    x = features.detach().to(device="cpu", dtype=torch.float64)
    if method == "pca":
        return _pca(x)
    if method == "tsne":
        return _tsne(x, seed)
    raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")


def save_projection_plot(
    path: str | Path,
    features: PooledFeatures,
    *,
    method: ProjectionMethod = "pca",
    domain_names: Sequence[str] | None = None,
    seed: int = 0,
    title: str | None = None,
    panel_inches: float = 3.0,
    dpi: int = 120,
) -> Path:
    """Write a PNG: one column per representation, rows coloured by domain and by liveness.

    Args:
        path: output ``.png``; parent folders are created.
        features: pooled features with labels and domains.
        method: see :func:`project_2d`.
        domain_names: names indexed by domain id, for the legend.
        seed: t-SNE's random state.
        title: figure title.
        panel_inches: size of one panel.
        dpi: resolution.

    Returns:
        The path written.

    Raises:
        ImportError: matplotlib (or scikit-learn for t-SNE) is missing.
    """
    figure_cls = import_figure()
    reps = features.available()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig = figure_cls(figsize=(panel_inches * len(reps) + 0.8, panel_inches * 2 + 0.4))
    axes = fig.subplots(2, len(reps), squeeze=False)
    domains = features.domains.numpy()
    labels = features.labels.numpy()
    palette = import_colormap("tab10")
    for j, (name, feats) in enumerate(reps):
        proj = project_2d(feats, method, seed=seed)
        xy = proj.coords.numpy()
        for i in range(2):
            ax = axes[i][j]
            if i == 0:
                for n, d in enumerate(np.unique(domains)):
                    sel = domains == d
                    label = (
                        domain_names[int(d)]
                        if domain_names is not None and int(d) < len(domain_names)
                        else f"domain {int(d)}"
                    )
                    ax.scatter(
                        xy[sel, 0], xy[sel, 1], s=6, alpha=0.7, color=palette(n % 10), label=label
                    )
                ax.set_title(f"{SYMBOLS[name]} by domain", fontsize=9)
            else:
                for value, colour, label in ((0, "#d73027", "spoof"), (1, "#1a9850", "live")):
                    sel = labels == value
                    ax.scatter(xy[sel, 0], xy[sel, 1], s=6, alpha=0.7, color=colour, label=label)
                ax.set_title(f"{SYMBOLS[name]} by liveness", fontsize=9)
            ax.set_xlabel(proj.axis_labels[0], fontsize=7)
            ax.set_ylabel(proj.axis_labels[1], fontsize=7)
            ax.tick_params(labelsize=6)
            if j == len(reps) - 1:
                ax.legend(fontsize=6, markerscale=2, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=dpi, format="png")
    return out
