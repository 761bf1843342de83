"""Index-based targets: per-sample content targets looked up by dataset index."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from disentangle_fas.targets.base import check_indices

__all__ = ["PrecomputedTarget"]

TargetSource = Tensor | np.ndarray | Callable[[int], Tensor | np.ndarray]


def _as_chw(value: Tensor | np.ndarray, where: str) -> Tensor:
    t = torch.as_tensor(np.asarray(value)) if isinstance(value, np.ndarray) else value
    if not isinstance(t, Tensor):
        raise TypeError(f"{where}: expected a Tensor or numpy array, got {type(value).__name__}")
    if t.ndim == 2:
        t = t.unsqueeze(0)
    if t.ndim != 3:
        raise ValueError(f"{where}: expected a (C, H, W) or (H, W) target, got {tuple(t.shape)}")
    return t


class PrecomputedTarget:
    """Content targets known per sample, looked up by dataset index (a :class:`TargetProvider`).

    Use it for ground-truth geometry (the synthetic benchmark's depth, say) or targets
    computed offline. The images are not used, only their count and device.

    Args:
        targets: all targets as a ``(N, C, H, W)`` (or ``(N, H, W)``) tensor or numpy
            array (a ``np.memmap`` works), or a callable ``index -> (C, H, W)`` target.
        name: identifier of the target.
        version: version of the values.
        shape: ``(C, H, W)`` of one target; required only if a callable's targets should
            not be probed with ``targets(0)``.
        num_items: number of valid indices for a callable (optional; checked if given).

    Shape:
        - images: ``(B, 3, H, W)`` (ignored but for ``B`` and the device);
          indices: ``(B,)``; output: ``(B, C, H', W')`` float32.

    Example:
        >>> import torch
        >>> t = PrecomputedTarget(torch.arange(12.0).reshape(3, 1, 2, 2), name="gt")
        >>> t(torch.zeros(2, 3, 8, 8), torch.tensor([2, 0]))[:, 0, 0, 0]
        tensor([8., 0.])
    """

    #: Called with ``(images, indices)``: a :class:`~disentangle_fas.targets.TargetProvider`.
    takes_indices = True

    def __init__(
        self,
        targets: TargetSource,
        *,
        name: str = "precomputed",
        version: str = "1",
        shape: tuple[int, int, int] | None = None,
        num_items: int | None = None,
    ) -> None:
        self.name = name
        self.version = str(version)
        self._table: Tensor | np.ndarray | None = None
        self._fn: Callable[[int], Tensor | np.ndarray] | None = None
        if isinstance(targets, (Tensor, np.ndarray)):
            arr = targets
            if arr.ndim == 3:
                arr = arr[:, None]
            if arr.ndim != 4:
                raise ValueError(
                    f"expected targets of shape (N, C, H, W) or (N, H, W), got {tuple(arr.shape)}"
                )
            self._table = arr
            self.num_items: int | None = int(arr.shape[0])
            self._shape = (int(arr.shape[1]), int(arr.shape[2]), int(arr.shape[3]))
        elif callable(targets):
            self._fn = targets
            self.num_items = num_items
            self._shape = shape or tuple(_as_chw(targets(0), "targets(0)").shape)  # type: ignore[assignment]
        else:
            raise TypeError(
                "targets must be a Tensor, a numpy array or a callable index -> target, "
                f"got {type(targets).__name__}"
            )
        if shape is not None and tuple(shape) != self._shape:
            raise ValueError(f"shape {tuple(shape)} does not match the targets' {self._shape}")

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        """Return the fixed per-sample shape ``(C, H, W)`` (independent of ``image_size``)."""
        return self._shape

    def lookup(self, indices: Tensor) -> Tensor:
        """Return the targets of ``indices`` as a float32 CPU tensor.

        Args:
            indices: dataset indices.

        Returns:
            The stacked targets.

        Shape:
            - indices: ``(B,)``; output: ``(B, C, H, W)``.

        Raises:
            ValueError: an index out of range or a target of the wrong shape.
        """
        idx = check_indices(indices, int(torch.as_tensor(indices).numel()), self.num_items)
        if self._table is not None:
            if isinstance(self._table, Tensor):
                return self._table[idx.to(self._table.device)].to("cpu", torch.float32)
            return torch.from_numpy(np.asarray(self._table[idx.numpy()], dtype=np.float32))
        assert self._fn is not None
        items = []
        for i in idx.tolist():
            t = _as_chw(self._fn(i), f"targets({i})")
            if tuple(t.shape) != self._shape:
                raise ValueError(f"targets({i}) has shape {tuple(t.shape)}, expected {self._shape}")
            items.append(t.to("cpu", torch.float32))
        return torch.stack(items)

    def __call__(self, images: Tensor, indices: Tensor) -> Tensor:
        """Return the targets of the batch on ``images.device``.

        Args:
            images: the batch (only its size and device are used).
            indices: its dataset indices.

        Returns:
            The targets, float32.

        Shape:
            - images: ``(B, 3, H, W)``; indices: ``(B,)``; output: ``(B, C, H', W')``.
        """
        check_indices(indices, images.shape[0], self.num_items)
        return self.lookup(indices).to(images.device)

    def __repr__(self) -> str:
        return f"PrecomputedTarget(name={self.name!r}, shape={self._shape})"
