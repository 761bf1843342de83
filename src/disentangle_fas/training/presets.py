"""The commands' default configurations (``train`` / ``protocol`` on real and synthetic data)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import NamedTuple

from disentangle_fas.data.protocols import TABLE1_TASKS, TABLE2_TASKS
from disentangle_fas.training.config import TrainConfig

__all__ = [
    "PAPER_PRESET",
    "REMOVAL_VARIANTS",
    "STUDY_PRESET",
    "STUDY_PRESETS",
    "STUDY_TASKS",
    "STUDY_VARIANTS",
    "SYNTHETIC_PROTOCOL_PRESET",
    "StudyPreset",
]


#: Defaults for real data: the paper's setting (256 px, ResNet-18, PRNet content target).
def _loader_workers() -> int:
    """DataLoader workers for real data: 4, fewer on a machine with fewer spare cores (one
    core stays with the training process).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(0, min(4, (cores or 1) - 1))


PAPER_PRESET = TrainConfig(
    image_size=256,
    content_target="prnet",
    content_size=32,
    steps=4000,
    batch_size=48,
    lr=3e-4,
    eval_every=250,
    num_workers=_loader_workers(),
)


class _SyntheticScale(NamedTuple):
    """The settings that size a run of the synthetic benchmark."""

    depth: int
    image_size: int
    train_per_domain: int
    eval_per_domain: int
    steps: int
    batch_size: int
    eval_every: int
    warmup_steps: int
    out: str

    def config(self) -> TrainConfig:
        """The synthetic protocol's configuration at this scale (16-px content target)."""
        return TrainConfig(
            depth=self.depth,
            content_size=16,
            image_size=self.image_size,
            synthetic_train_per_domain=self.train_per_domain,
            synthetic_eval_per_domain=self.eval_per_domain,
            steps=self.steps,
            batch_size=self.batch_size,
            eval_every=self.eval_every,
            warmup_steps=self.warmup_steps,
            out=self.out,
        )


# The two scales side by side: ResNet depth, image side, training / evaluation images per
# domain, steps, batch, evaluation every, warm-up steps, output folder. Both train with
# TrainConfig's default weight averaging (SWAD-style dense average from 25 % of the steps).
_PROTOCOL_SCALE = _SyntheticScale(10, 32, 300, 100, 400, 18, 25, 20, "runs/protocol")
_STUDY_SCALE = _SyntheticScale(18, 64, 600, 200, 200, 24, 50, 20, "runs/study")

#: Defaults of the main command: the synthetic leave-one-domain-out protocol at the
#: smallest scale found where the baseline converges (source-validation AUC 97.7-100 and
#: flat over the last third of training in every run) with target AUCs inside the band
#: (docs/synthetic.md, "Difficulty at the main command's scale"): ResNet-10 from random
#: initialisation, 32 px, 400 steps of batch 18, 300 training and 100 held-out images per
#: domain (two frames per held-out video), evaluation every 25 steps.
SYNTHETIC_PROTOCOL_PRESET = _PROTOCOL_SCALE.config()

#: The converged scale of the synthetic benchmark's difficulty report (64 px, 200 steps,
#: batch 24, 600 training and 200 evaluation images per domain): ``--preset study``.
STUDY_PRESET = _STUDY_SCALE.config()

#: Table 3's rows (baseline, +content, +domain, full) and the compared method SSDG-R.
STUDY_VARIANTS: tuple[str, ...] = ("baseline", "content", "domain", "full", "ssdg-r")
#: Table 1's four leave-one-out tasks and Table 2's four tasks with unseen 3D masks.
STUDY_TASKS: tuple[str, ...] = TABLE1_TASKS + TABLE2_TASKS
#: How the domain is kept out of f_L: the baseline, the paper's full model (confusion through
#: the frozen classifiers) and each removal mechanism of the full model.
REMOVAL_VARIANTS: tuple[str, ...] = (
    "baseline",
    "full",
    "full-adversarial",
    "full-hsic",
    "full-orthogonal",
    "full-leace",
)


@dataclass(frozen=True)
class StudyPreset:
    """A sized study: configuration, tasks, variants and seeds.

    Attributes:
        name: the preset's name (``--preset``).
        config: the base configuration of every run.
        tasks: task names.
        variants: Table 3 variants and/or method names.
        seeds: seeds per (task, variant).
        description: one line on its scale and what it leaves out, printed with the results.
    """

    name: str
    config: TrainConfig
    tasks: tuple[str, ...]
    variants: tuple[str, ...]
    seeds: int
    description: str


STUDY_PRESETS: dict[str, StudyPreset] = {
    "study": StudyPreset(
        "study",
        STUDY_PRESET,
        STUDY_TASKS,
        STUDY_VARIANTS,
        5,
        "study: 8 tasks x 5 variants x 5 seeds at the difficulty report's converged scale "
        "(64 px, 200 steps, batch 24, 600/200 images per domain); sized for one GPU",
    ),
    "study-cpu": StudyPreset(
        "study-cpu",
        SYNTHETIC_PROTOCOL_PRESET.replace(out="runs/study-cpu"),
        STUDY_TASKS,
        STUDY_VARIANTS,
        5,
        "study-cpu: 8 tasks x 5 variants x 5 seeds at the main command's converged scale "
        "(ResNet-10, 32 px, 400 steps, batch 18, 300/100 images per domain); sized for "
        "2 CPU cores (several hours)",
    ),
    "removal": StudyPreset(
        "removal",
        STUDY_PRESET.replace(out="runs/removal"),
        STUDY_TASKS,
        REMOVAL_VARIANTS,
        5,
        "removal: 8 tasks x 6 variants (baseline, full and its removal mechanisms) x 5 seeds "
        "at the difficulty report's converged scale (64 px, 200 steps); sized for one GPU",
    ),
    "removal-cpu": StudyPreset(
        "removal-cpu",
        SYNTHETIC_PROTOCOL_PRESET.replace(out="runs/removal-cpu"),
        STUDY_TASKS,
        REMOVAL_VARIANTS,
        5,
        "removal-cpu: 8 tasks x 6 variants (baseline, full and its removal mechanisms) x 5 "
        "seeds at the main command's converged scale (ResNet-10, 32 px, 400 steps); sized for "
        "2 CPU cores (about 4 hours; --tasks runs a subset)",
    ),
}
