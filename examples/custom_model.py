"""A custom DG-FAS model composed from library parts, through the whole harness.

    python examples/custom_model.py                      # synthetic OCI->M, a few minutes on CPU
    python examples/custom_model.py --steps 20 --image-size 32

E_L is a MobileNetV3-Small (light at inference), E_C and E_D are ResNet-18s (projected to
E_L's width, since the confusion terms apply every head to every encoder), and the
objective is the paper's six terms plus one loss of our own: a *live compactness* term
that pulls the normalised liveness features of live faces towards their mean (bona fide
faces share one appearance, attacks need not). The library's loop trains it
(``train(cfg, task, method=ObjectiveMethod(...))``); then the checkpoint is scored on a
photo with ``LivenessDetector``, exported to ONNX and explained with Grad-CAM. See
docs/composing.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.contracts import DisentangledFeatures, pool_map
from disentangle_fas.losses import DisentanglementObjective, ObjectiveTerms
from disentangle_fas.model import DisentangledFAS
from disentangle_fas.training import ObjectiveMethod, TrainConfig, build_task, train


def live_compactness(features: Tensor, labels: Tensor) -> Tensor:
    """Mean squared distance of normalised live features to their mean (0 with < 2 live)."""
    live = F.normalize(pool_map(features), dim=1)[labels == 1]
    if len(live) < 2:
        return features.sum() * 0.0
    return (live - live.mean(0, keepdim=True)).pow(2).sum(1).mean()


class Terms(NamedTuple):
    total: Tensor
    paper: ObjectiveTerms
    compact: Tensor

    def as_floats(self) -> dict[str, float]:
        return {
            **self.paper.as_floats(),
            "compact": float(self.compact.detach()),
            "total": float(self.total.detach()),
        }


class PaperPlusCompactness(nn.Module):
    """The paper's objective plus ``weight`` x live compactness on E_L's features."""

    def __init__(self, paper: DisentanglementObjective, weight: float = 0.5) -> None:
        super().__init__()
        self.paper, self.weight = paper, weight

    def forward(
        self, feats: DisentangledFeatures, labels: Tensor, domains: Tensor, target: Tensor | None
    ) -> Terms:
        paper = self.paper(feats, labels, domains, target)
        compact = live_compactness(feats.liveness, labels)
        return Terms(paper.total + self.weight * compact, paper, compact)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--per-domain", type=int, default=200)
    p.add_argument("--out", default="runs/custom_model")
    args = p.parse_args(argv)

    cfg = TrainConfig(
        task="OCI->M", image_size=args.image_size, content_size=16, steps=args.steps,
        batch_size=12, eval_every=max(1, args.steps // 2), warmup_steps=min(10, args.steps),
        synthetic_train_per_domain=args.per_domain, synthetic_eval_per_domain=args.per_domain // 2,
        out=args.out, progress=False,
    )  # fmt: skip
    task = build_task(cfg)
    torch.manual_seed(cfg.seed)
    model = DisentangledFAS.build(
        num_domains=len(task.source_names), backbone="mobilenet_v3_small",
        content_backbone="resnet18", domain_backbone="resnet18", image_size=args.image_size,
        content_shape=task.content_shape, warn_random=False,
    )  # fmt: skip
    paper = DisentanglementObjective(model.liveness_head, model.domain_head, variant="full")
    method = ObjectiveMethod(model, PaperPlusCompactness(paper), uses_content=True)
    result = train(cfg, task, method=method)
    m = result.metrics
    print(f"{m.task}: honest HTER {100 * m.hter:.1f}%, AUC {100 * m.auc:.1f}%")
    print(f"checkpoint: {result.checkpoint}")

    # The checkpoint is an ordinary one: detector, ONNX export and Grad-CAM read it.
    from disentangle_fas.inference import LivenessDetector

    detector = LivenessDetector.from_checkpoint(result.checkpoint, face_detector=None)
    photo = _photo()
    verdict = detector(photo, box=(0.3 * photo.shape[1], 0.1 * photo.shape[0],
                                   0.7 * photo.shape[1], 0.6 * photo.shape[0]))  # fmt: skip
    print(f"photo: p_live {verdict.p_live:.4f} -> {'live' if verdict.is_live else 'spoof'}")
    try:
        from disentangle_fas.inference import OnnxLivenessModel, export_onnx

        onnx_path = export_onnx(detector.model, Path(args.out) / "model.onnx")
        x = torch.rand(2, 3, args.image_size, args.image_size)
        with torch.no_grad():
            diff = abs(
                OnnxLivenessModel(onnx_path)(x.numpy()) - detector.model.live_score(x).numpy()
            )
        print(f"onnx: {onnx_path} (max |ONNX - PyTorch| = {diff.max():.1e})")
        from disentangle_fas.explain import liveness_gradcam

        cam = liveness_gradcam(detector.model, x)
        print(f"grad-cam: maps {tuple(cam.maps.shape)} from a {cam.layer_size} layer of E_L")
    except ImportError as exc:  # the onnx / explain extras are optional
        print(f"skipped: {exc}")


def _photo():
    try:
        from skimage import data

        return data.astronaut()
    except ImportError:  # any RGB array works
        return (torch.rand(256, 256, 3) * 255).to(torch.uint8).numpy()


if __name__ == "__main__":
    main()
