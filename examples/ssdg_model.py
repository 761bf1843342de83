"""SSDG-R (Jia et al., CVPR 2020) assembled from library parts, trained like the paper's model.

    python examples/ssdg_model.py                 # one step on a synthetic batch
    disentangle-fas train --method ssdg-r         # the same training loop as the paper's model
    disentangle-fas protocol --variants full,baseline,ssdg-r   # side-by-side table

Builds SSDG-R explicitly: a ResNet-18 trunk, the bottleneck embedding, a normalised
(cosine) classifier, and a single-side domain discriminator behind a gradient reversal
layer that sees real faces only; the loss adds the asymmetric triplet term. Prints the
parameter counts and the three loss terms of one step.
"""

from __future__ import annotations

import argparse

import torch

from disentangle_fas import ssdg
from disentangle_fas.encoders import ResNetEncoder
from disentangle_fas.heads import LMCLHead
from disentangle_fas.model import normalize_layer
from disentangle_fas.synthetic import SyntheticFAS


def build(num_domains: int, target: str) -> tuple[ssdg.SSDGR, ssdg.SSDGObjective]:
    config = ssdg.SSDGConfig.official(target, num_domains=num_domains)
    encoder = ResNetEncoder(18)
    model = ssdg.SSDGR(
        encoder,
        ssdg.Embedding(encoder.num_features, config.embed_dim, dropout=config.embed_dropout),
        LMCLHead(config.embed_dim, 2, scale=config.scale, margin=config.margin),
        ssdg.SingleSideDiscriminator(
            config.embed_dim, num_domains, config.disc_hidden, dropout=config.disc_dropout
        ),
        normalize=normalize_layer(),
    )
    model.config = config
    return model, ssdg.SSDGObjective.from_model(model, config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", default="M", choices=sorted(ssdg.OFFICIAL_LOSS_WEIGHTS))
    parser.add_argument("--image-size", type=int, default=64)
    args = parser.parse_args()
    torch.manual_seed(0)
    sources = [d for d in ("O", "C", "I", "M") if d != args.target]
    data = SyntheticFAS(sources, samples_per_domain=4, image_size=args.image_size)
    model, objective = build(len(sources), args.target)
    print({name: sum(p.numel() for p in m.parameters()) for name, m in model.named_children()})

    batch = [data[i] for i in range(len(data))]
    images = torch.stack([s.image for s in batch])
    labels = torch.tensor([s.label for s in batch])
    domains = torch.tensor([s.domain for s in batch])
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    terms = objective(model(images), labels, domains, progress=0.5)
    optimizer.zero_grad()
    terms.total.backward()
    optimizer.step()
    for name, value in terms.as_floats().items():
        print(f"{name:>6s} {value:.4f}")


if __name__ == "__main__":
    main()
