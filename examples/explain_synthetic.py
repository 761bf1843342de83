"""Train a tiny full model briefly on the synthetic benchmark, then explain it.

This is how the pictures and numbers of docs/explainability.md were made:

1. render the synthetic sources O, C, I (split ``train``) at 64 px;
2. build a tiny full model (ResNet-10 encoders, content target = the ground-truth depth
   map at 16 x 16) and train it for a few hundred steps with a plain loop on
   :class:`~disentangle_fas.losses.DisentanglementObjective` (CPU, a few minutes);
3. save a checkpoint that records the sources and the held-out target M;
4. run ``disentangle-fas explain`` on it (Grad-CAM on M, probes on O, C, I and M).

Run from the repository root::

    python examples/explain_synthetic.py                      # writes runs/explain-example/
    python examples/explain_synthetic.py --out docs/images    # the docs' pictures
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from disentangle_fas.checkpoint import save_model
from disentangle_fas.explain.cli import main as explain_main
from disentangle_fas.losses import DisentanglementObjective
from disentangle_fas.model import DisentangledFAS
from disentangle_fas.synthetic import SyntheticFAS

SOURCES = ["O", "C", "I"]
TARGET = "M"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--steps", type=int, default=240)
    p.add_argument("--batch-size", type=int, default=24)
    p.add_argument("--per-domain", type=int, default=200, help="training images per source")
    p.add_argument("--probe-samples", type=int, default=100, help="explain: images per domain")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--depth", type=int, default=10)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2, help="processes rendering the data")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    p.add_argument("--out", default="runs/explain-example")
    p.add_argument("--prefix", default="explain_")
    p.add_argument("--checkpoint", default="runs/explain_synthetic/model.safetensors")
    return p.parse_args()


def train(args: argparse.Namespace) -> DisentangledFAS:
    t0 = time.perf_counter()
    data = SyntheticFAS(
        SOURCES,
        samples_per_domain=args.per_domain,
        image_size=args.image_size,
        split="train",
        seed=args.seed,
        pre_render=True,
        num_workers=args.workers,
    )
    images = torch.stack([data[i].image for i in range(len(data))])
    labels = torch.as_tensor(data.labels)
    domains = torch.as_tensor(data.domain_indices)
    depth = torch.stack([data.depth(i) for i in range(len(data))])
    depth = F.interpolate(depth, size=(16, 16), mode="area")  # content target Phi(x)
    print(f"rendered {len(data)} training images in {time.perf_counter() - t0:.0f} s")

    torch.manual_seed(args.seed)
    model = DisentangledFAS.build(
        num_domains=len(SOURCES),
        variant="full",
        depth=args.depth,
        image_size=args.image_size,
        content_shape=(1, 16, 16),
        warn_random=False,
    )
    objective = DisentanglementObjective(model.liveness_head, model.domain_head, variant="full")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps)
    gen = torch.Generator().manual_seed(args.seed)
    model.train()
    t1 = time.perf_counter()
    for step in range(1, args.steps + 1):
        idx = torch.randint(0, len(data), (args.batch_size,), generator=gen)
        x, target = images[idx], depth[idx]
        flip = torch.rand(args.batch_size, generator=gen) < 0.5  # same flip for image and map
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        target = torch.where(flip[:, None, None, None], target.flip(-1), target)
        terms = objective(model(x), labels[idx], domains[idx], target)
        opt.zero_grad(set_to_none=True)
        terms.total.backward()
        opt.step()
        sched.step()
        if step % 50 == 0 or step == 1:
            parts = " ".join(f"{k}={v:.3f}" for k, v in terms.as_floats().items())
            print(f"step {step:4d} {parts} ({time.perf_counter() - t1:.0f} s)")
    return model.eval()


def main() -> int:
    args = parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    model = train(args)
    info = {
        "task": f"synthetic {''.join(SOURCES)}->{TARGET}, {args.steps} steps (explain example)",
        "sources": SOURCES,
        "target": TARGET,
        "step": args.steps,
    }
    ck = save_model(model, args.checkpoint, info=info)
    argv = ["--checkpoint", str(ck), "--out", args.out, "--prefix", args.prefix]
    argv += ["--probe-samples", str(args.probe_samples), "--num-samples", "8"]
    argv += ["--cam-layer", "layer4", "layer3", "--projection", "both"]
    argv += ["--seed", str(args.seed), "--workers", str(args.workers)]
    return explain_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
