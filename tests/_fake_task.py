"""A tiny in-memory task for training tests (independent of the synthetic benchmark)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from disentangle_fas.targets import PrecomputedTarget
from disentangle_fas.training import TrainConfig
from disentangle_fas.training.data import TaskData
from disentangle_fas.types import FASSample


class TensorFAS(Dataset[FASSample]):
    """Images whose liveness is a brightness-pattern cue and whose domain is a colour cast."""

    def __init__(self, n: int, domains: list[int], size: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.labels = np.array([i % 2 for i in range(n)], dtype=np.int64)
        self.domains = np.array(
            [domains[(i // 2) % len(domains)] for i in range(n)], dtype=np.int64
        )
        base = torch.rand(n, 3, size, size, generator=g) * 0.5 + 0.25
        stripes = (torch.arange(size) % 2).float().view(1, 1, 1, size) * 0.2
        live = torch.from_numpy(self.labels).float().view(n, 1, 1, 1)
        cast = torch.from_numpy(self.domains).float().view(n, 1, 1, 1) * 0.05
        self.images = (base + (1 - live) * stripes + cast).clamp(0, 1)
        self.geometry: Tensor = self.images.mean(1, keepdim=True)[:, :, ::4, ::4].contiguous()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> FASSample:
        return FASSample(
            self.images[i],
            int(self.labels[i]),
            int(self.domains[i]),
            int(1 - self.labels[i]),
            i,
            f"v{i}",
        )


def fake_task(size: int = 32, n: int = 48) -> TaskData:
    train = TensorFAS(n, [0, 1, 2], size, seed=0)
    return TaskData(
        name="fake A&B&C to D",
        train=train,
        train_labels=train.labels,
        train_domains=train.domains,
        source_val=TensorFAS(24, [0, 1, 2], size, seed=1),
        target_test=TensorFAS(24, [3], size, seed=2),
        source_names=["A", "B", "C"],
        target_name="D",
        content=PrecomputedTarget(train.geometry),
        content_shape=tuple(train.geometry.shape[1:]),  # type: ignore[arg-type]
    )


def tiny_config(out: str, **changes: object) -> TrainConfig:
    """A training config small enough for tests: ResNet-10, 32 px, a few steps on CPU."""
    base: dict[str, object] = dict(
        out=out, steps=4, batch_size=6, eval_every=2, log_every=1, depth=10, image_size=32,
        warmup_steps=1, progress=False, device="cpu",
    )  # fmt: skip
    base.update(changes)
    return TrainConfig(**base)  # type: ignore[arg-type]


def fake_task_builder(cfg: TrainConfig) -> TaskData:
    """A picklable task builder (worker processes import it): :func:`fake_task`."""
    return fake_task()
