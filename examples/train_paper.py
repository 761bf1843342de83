"""Train the paper's model with a plain PyTorch loop: one file, read top to bottom.

    python examples/train_paper.py                                # synthetic OCI->M, CPU or CUDA
    python examples/train_paper.py --variant baseline --steps 200  # a Table 3 ablation
    python examples/train_paper.py --backbone mobilenet_v3_small  # any backbone
    python examples/train_paper.py --data /data/fas-store --task "OCI->M" --image-size 256 \\
        --imagenet-weights resnet18-f37072fd.pth --prnet-weights prnet.safetensors

The library provides the parts (encoders, heads, the six losses, the balanced sampler, the
synthetic benchmark, PRNet, metrics, checkpoints); this script owns everything else: the
data of the task, the content teacher, AdamW with warm-up and cosine decay, bf16 autocast
and channels-last on CUDA (fp32 on CPU), an honest evaluation at the end (threshold at the
EER of held-out *source* data) and a checkpoint that ``disentangle-fas predict`` and
``disentangle-fas export`` load. The full-featured runner with periodic evaluation,
checkpoint policies, resuming and DDP is ``disentangle-fas train``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from disentangle_fas.checkpoint import save_model
from disentangle_fas.contracts import Variant
from disentangle_fas.data import DomainBalancedBatchSampler, leave_one_out
from disentangle_fas.losses import DisentanglementObjective
from disentangle_fas.metrics import evaluate_scores
from disentangle_fas.model import DisentangledFAS
from disentangle_fas.synthetic import UNSEEN_ATTACKS, SyntheticFAS
from disentangle_fas.types import FASSample


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", default="synthetic", help="'synthetic' or a packed store directory")
    p.add_argument("--task", default="OCI->M", help="leave-one-out task, e.g. OCI->M, ICM->Cb")
    p.add_argument("--variant", default="full", choices=[v.value for v in Variant])
    p.add_argument("--backbone", default="resnet18", help="e.g. resnet18, mobilenet_v3_small")
    p.add_argument("--imagenet-weights", default=None, help="local torchvision state dict")
    p.add_argument("--prnet-weights", default=None, help="local PRNet weights (real data)")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--content-size", type=int, default=16)
    p.add_argument("--per-domain", type=int, default=200, help="synthetic images per domain")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=24)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default="runs/train_paper")
    return p.parse_args(argv)


# --- data: source training set, held-out source validation, unseen target ---------------


def synthetic_data(args: argparse.Namespace) -> tuple[Dataset[FASSample], ...]:
    """The built-in benchmark: disjoint people per split, the target never seen."""
    proto = leave_one_out(args.task)
    common = dict(samples_per_domain=args.per_domain, image_size=args.image_size, seed=args.seed)
    train = SyntheticFAS(list(proto.sources), split="train", pre_render=True, **common)
    val = SyntheticFAS(list(proto.sources), split="dev", pre_render=True, **common)
    attacks = list(UNSEEN_ATTACKS) if proto.target == "Cb" else None
    target = SyntheticFAS([proto.target], split="test", attacks=attacks, pre_render=True, **common)
    return train, val, target


def store_data(args: argparse.Namespace) -> tuple[Dataset[FASSample], ...]:
    """A store written by ``disentangle-fas pack``, split as the harness splits it: about
    10 % of the source subjects held out with all their videos (keyed by domain and
    subject), every image resized to ``--image-size``.
    """
    from disentangle_fas.data.store import StoreDataset, read_store_meta
    from disentangle_fas.data.subsets import IndexedSubset, Resize, split_by_subject

    proto = leave_one_out(args.task)
    src, tgt = proto.selection("source"), proto.selection("target")
    meta = read_store_meta(args.data)
    same = (meta["height"], meta["width"]) == (args.image_size, args.image_size)
    resize = None if same else Resize(args.image_size)
    sources = StoreDataset(args.data, splits=src.splits, domains=src.domains, attacks=src.attacks)
    target = StoreDataset(
        args.data, splits=tgt.splits, domains=tgt.domains, attacks=tgt.attacks, transform=resize
    )
    held, _ = split_by_subject(sources.entries, 0.1)  # subject-disjoint, as the harness
    train = IndexedSubset(sources, np.flatnonzero(~held), resize)
    return train, IndexedSubset(sources, np.flatnonzero(held), resize), target


def labels_and_domains(ds: Dataset[FASSample]) -> tuple[np.ndarray, np.ndarray]:
    loader = DataLoader(ds, batch_size=256)
    pairs = [(b.label, b.domain) for b in loader]
    return torch.cat([p[0] for p in pairs]).numpy(), torch.cat([p[1] for p in pairs]).numpy()


# --- content teacher Phi: ground-truth depth (synthetic) or PRNet (real data) -----------


def content_teacher(args: argparse.Namespace, train: Dataset[FASSample], device: torch.device):
    """Return ``teacher(images, indices) -> (B, 1, s, s)`` on ``device``."""
    size = (args.content_size, args.content_size)
    if isinstance(train, SyntheticFAS):
        depth = torch.stack([train.depth(i) for i in range(len(train))])
        depth = F.interpolate(depth, size=size, mode="area").to(device)
        return lambda images, indices: depth[indices]
    from disentangle_fas.targets import PRNetTarget

    if args.prnet_weights is None:
        raise SystemExit("real data with a content branch needs --prnet-weights <local file>")
    prnet = PRNetTarget(args.prnet_weights, mode="depth", output_size=size).to(device)
    return lambda images, indices: prnet(images)  # the teacher runs on the batch's device


# --- evaluation: P(live) of a dataset, then the honest and oracle operating points --------


@torch.no_grad()
def scores(model: DisentangledFAS, ds: Dataset[FASSample], device: torch.device):
    model.eval()
    out, labels, videos = [], [], []
    for batch in DataLoader(ds, batch_size=64):
        out.append(model.live_score(batch.image.to(device)).float().cpu())
        labels.append(batch.label)
        videos += list(batch.video_id)
    model.train()
    return torch.cat(out).numpy(), torch.cat(labels).numpy(), videos


def lr_at(step: int, args: argparse.Namespace) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    torch.backends.cudnn.benchmark = cuda
    torch.manual_seed(args.seed)
    train, val, target = synthetic_data(args) if args.data == "synthetic" else store_data(args)
    labels, domains = labels_and_domains(train)
    num_domains = len(leave_one_out(args.task).sources)

    variant = Variant(args.variant)
    model = DisentangledFAS.build(
        num_domains=num_domains,
        variant=variant,
        backbone=args.backbone,
        image_size=args.image_size,
        content_shape=(1, args.content_size, args.content_size),
        weights=args.imagenet_weights,
    ).to(device)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    objective = DisentanglementObjective(model.liveness_head, model.domain_head, variant=variant)
    teacher = content_teacher(args, train, device) if variant.uses_content else None
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=args.lr, weight_decay=args.weight_decay, fused=True
    )

    # Every batch holds equal numbers of live and spoof images from each source domain.
    sampler = DomainBalancedBatchSampler(labels, domains, args.batch_size, seed=args.seed)
    loader = DataLoader(
        train,
        batch_sampler=sampler,
        num_workers=args.workers,
        pin_memory=cuda,
        persistent_workers=args.workers > 0,
    )
    flips = torch.Generator().manual_seed(args.seed)
    step, epoch, t0 = 0, 0, time.perf_counter()
    model.train()
    while step < args.steps:
        sampler.set_epoch(epoch)  # a new balanced order every epoch
        epoch += 1
        for batch in loader:
            if step == args.steps:
                break
            images = batch.image.to(device, non_blocking=True)
            y, d = batch.label.to(device), batch.domain.to(device)
            phi = None if teacher is None else teacher(images, batch.index.to(device))
            flip = (torch.rand(len(images), generator=flips) < 0.5).to(device)[:, None, None, None]
            images = torch.where(flip, images.flip(-1), images)  # the same flip for Phi(x)
            phi = None if phi is None else torch.where(flip, phi.flip(-1), phi)
            if cuda:
                images = images.contiguous(memory_format=torch.channels_last)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, args)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
                terms = objective(model(images), y, d, phi)
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            step += 1
            if step % 25 == 0 or step == args.steps:
                logged = " ".join(f"{k}={v:.3f}" for k, v in terms.as_floats().items())
                print(f"step {step}/{args.steps} {logged} ({time.perf_counter() - t0:.0f} s)")

    # Honest protocol: the threshold is the EER threshold of held-out source data.
    src_scores, src_labels, _ = scores(model, val, device)
    tgt_scores, tgt_labels, tgt_videos = scores(model, target, device)
    result = evaluate_scores(
        tgt_scores, tgt_labels, video_ids=tgt_videos,
        source_scores=src_scores, source_labels=src_labels,
    )  # fmt: skip
    assert result.honest is not None
    print(f"{args.task} [{variant.value}, {args.backbone}] target AUC {100 * result.auc:.1f}%")
    print(f"  honest HTER {100 * result.honest.hter:.1f}% (source-val EER threshold)")
    print(f"  oracle HTER {100 * result.oracle.hter:.1f}% (target EER threshold, literature)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = save_model(
        model,
        out / "model.safetensors",
        threshold=result.honest.threshold,
        threshold_strategy="source_val_eer",
        info={"task": args.task, "step": step},
    )
    print(f"checkpoint: {path}  (disentangle-fas predict --checkpoint {path} IMAGE)")


if __name__ == "__main__":
    main()
