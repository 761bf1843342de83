"""A Fig. 2-style picture: input faces above their Grad-CAM overlays, one column per sample.

Needs matplotlib (``pip install "disentangle-fas[explain]"``), imported lazily and used
without pyplot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from disentangle_fas.explain._mpl import import_colormap, import_figure

__all__ = ["LIVE_COLOUR", "SPOOF_COLOUR", "overlay_heatmap", "save_gradcam_grid"]

#: Frame colour of live (bona fide) samples, as in the paper's Fig. 2.
LIVE_COLOUR = "#1a9850"
#: Frame colour of spoof samples.
SPOOF_COLOUR = "#d73027"


def overlay_heatmap(
    image: Tensor, heatmap: Tensor, *, alpha: float = 0.5, cmap: str = "jet"
) -> np.ndarray:
    """Blend a colour-mapped heat map over an image.

    Args:
        image: ``(3, H, W)`` RGB in ``[0, 1]``.
        heatmap: ``(H, W)`` in ``[0, 1]``.
        alpha: weight of the heat map.
        cmap: matplotlib colormap name.

    Returns:
        ``(H, W, 3)`` float array in ``[0, 1]``.

    Raises:
        ValueError: shapes do not match or ``alpha`` is outside ``[0, 1]``.
    """
    if image.ndim != 3 or image.shape[0] != 3 or tuple(heatmap.shape) != tuple(image.shape[1:]):
        raise ValueError(
            f"need image (3, H, W) and heatmap (H, W), got {tuple(image.shape)} and "
            f"{tuple(heatmap.shape)}"
        )
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    rgb = image.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    heat = import_colormap(cmap)(heatmap.detach().float().clamp(0, 1).cpu().numpy())[..., :3]
    out: np.ndarray = np.clip((1.0 - alpha) * rgb + alpha * np.asarray(heat), 0.0, 1.0)
    return out


def _as_rows(maps: Tensor | Mapping[str, Tensor], size: tuple[int, int]) -> dict[str, Tensor]:
    rows = {"Grad-CAM": maps} if isinstance(maps, Tensor) else dict(maps)
    if not rows:
        raise ValueError("maps must not be empty")
    out: dict[str, Tensor] = {}
    for name, m in rows.items():
        if m.ndim != 3:
            raise ValueError(f"maps {name!r} must have shape (B, H, W), got {tuple(m.shape)}")
        m = m.detach().float().cpu()
        if tuple(m.shape[1:]) != size:
            m = F.interpolate(m[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
        out[name] = m
    return out


def save_gradcam_grid(
    path: str | Path,
    images: Tensor,
    maps: Tensor | Mapping[str, Tensor],
    *,
    scores: Tensor | Mapping[str, Tensor] | None = None,
    labels: Tensor | Sequence[int] | None = None,
    captions: Sequence[str] | None = None,
    title: str | None = None,
    alpha: float = 0.5,
    cmap: str = "jet",
    panel_inches: float = 1.5,
    dpi: int = 120,
) -> Path:
    """Write a grid PNG: row 1 the inputs, then one row of heat-map overlays per model.

    Each column is one sample. Its frame is green for live and red for spoof ground truth
    (grey when ``labels`` is ``None``), and each overlay's title gives the model's P(live).
    Pass a mapping of maps (and of scores) to compare models row by row, as in the paper.

    Args:
        path: output ``.png``; parent folders are created.
        images: RGB in ``[0, 1]``.
        maps: heat maps in ``[0, 1]`` (resized to the images if needed), or
            row name -> maps.
        scores: P(live) per sample, or row name -> scores (same keys as ``maps``).
        labels: ground truth, 1 live / 0 spoof.
        captions: one short text per column, shown above the input (e.g. the domain).
        title: figure title.
        alpha: heat-map weight in the overlay.
        cmap: matplotlib colormap of the heat maps.
        panel_inches: size of one panel.
        dpi: resolution.

    Returns:
        The path written.

    Shape:
        - images: ``(B, 3, H, W)``; maps: ``(B, h, w)``; scores, labels: ``(B,)``.

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: inconsistent batch sizes or keys.
    """
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[0] == 0:
        raise ValueError(
            f"images must have shape (B, 3, H, W) with B > 0, got {tuple(images.shape)}"
        )
    batch = int(images.shape[0])
    rows = _as_rows(maps, (int(images.shape[2]), int(images.shape[3])))
    if isinstance(scores, Tensor) or scores is None:
        row_scores: dict[str, Tensor | None] = dict.fromkeys(rows, scores)
    else:
        if set(scores) != set(rows):
            raise ValueError(f"scores keys {sorted(scores)} differ from maps keys {sorted(rows)}")
        row_scores = dict(scores)
    label_list = None if labels is None else [int(v) for v in torch.as_tensor(labels).reshape(-1)]
    for name, value in [(f"maps {k!r}", v) for k, v in rows.items()] + [
        (f"scores {k!r}", v) for k, v in row_scores.items() if v is not None
    ]:
        if int(value.shape[0]) != batch:
            raise ValueError(f"{name} has {int(value.shape[0])} entries for {batch} images")
    if label_list is not None and len(label_list) != batch:
        raise ValueError(f"labels has {len(label_list)} entries for {batch} images")
    if captions is not None and len(captions) != batch:
        raise ValueError(f"captions has {len(captions)} entries for {batch} images")

    figure_cls = import_figure()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    n_rows = 1 + len(rows)
    fig = figure_cls(figsize=(panel_inches * batch + 0.4, panel_inches * n_rows + 0.3))
    axes = fig.subplots(n_rows, batch, squeeze=False)
    for j in range(batch):
        label = None if label_list is None else label_list[j]
        colour = "grey" if label is None else (LIVE_COLOUR if label == 1 else SPOOF_COLOUR)
        head = [] if label is None else ["live" if label == 1 else "spoof"]
        if captions is not None:
            head.append(captions[j])
        axes[0][j].imshow(images[j].detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy())
        axes[0][j].set_title(" · ".join(head), fontsize=8)
        for i, (name, m) in enumerate(rows.items(), start=1):
            ax = axes[i][j]
            ax.imshow(overlay_heatmap(images[j], m[j], alpha=alpha, cmap=cmap))
            s = row_scores[name]
            if s is not None:
                ax.set_title(f"P(live) {float(s[j]):.2f}", fontsize=8)
            if j == 0:
                ax.set_ylabel(name, fontsize=8)
        for i in range(n_rows):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(3)
        if j == 0:
            axes[0][0].set_ylabel("input", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=dpi, format="png")
    return out
