"""The commands' default configurations (``train`` / ``protocol`` on real and synthetic data)."""

from __future__ import annotations

from disentangle_fas.training.config import TrainConfig

__all__ = ["PAPER_PRESET", "STUDY_PRESET", "SYNTHETIC_PROTOCOL_PRESET"]

#: Defaults for real data: the paper's setting (256 px, ResNet-18, PRNet content target).
PAPER_PRESET = TrainConfig(
    image_size=256,
    content_target="prnet",
    content_size=32,
    steps=4000,
    batch_size=48,
    lr=3e-4,
    eval_every=250,
    num_workers=4,
)

#: Defaults of the main command: the synthetic leave-one-domain-out protocol sized to run
#: in a few minutes on 2 CPU cores.
SYNTHETIC_PROTOCOL_PRESET = TrainConfig(
    image_size=32,
    depth=18,
    content_size=16,
    synthetic_train_per_domain=300,
    synthetic_eval_per_domain=100,
    steps=60,
    batch_size=12,
    eval_every=20,
    warmup_steps=5,
    out="runs/protocol",
)

#: The converged scale of the synthetic benchmark's difficulty report (64 px, 200 steps,
#: batch 24, 600 training and 200 evaluation images per domain): ``--preset study``.
STUDY_PRESET = SYNTHETIC_PROTOCOL_PRESET.replace(
    image_size=64,
    synthetic_train_per_domain=600,
    synthetic_eval_per_domain=200,
    steps=200,
    batch_size=24,
    eval_every=50,
    warmup_steps=20,
    out="runs/study",
)
