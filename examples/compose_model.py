"""Compose the paper's model from library parts and run one training step on random data.

    python examples/compose_model.py

Prints each of the six loss terms. Runs on CPU in a few seconds.
"""

from __future__ import annotations

import torch

from disentangle_fas.encoders import SharedStemEncoders
from disentangle_fas.heads import ContentDecoder, DomainClassifier, LMCLHead
from disentangle_fas.losses import DisentanglementObjective, LossWeights
from disentangle_fas.model import DisentangledFAS, normalize_layer


def main() -> None:
    torch.manual_seed(0)
    num_domains, size, batch = 3, 64, 6

    encoders = SharedStemEncoders(depth=18, warn_random=False)  # E_L, E_C, E_D, one stem
    d = encoders.num_features
    model = DisentangledFAS(
        encoders,
        liveness_head=LMCLHead(d, scale=16.0, margin=0.35),  # C_L
        domain_head=DomainClassifier(d, num_domains),  # C_D
        content_decoder=ContentDecoder(d, (1, 32, 32), in_size=(size // 32, size // 32)),  # D_C
        normalize=normalize_layer(),
    )
    objective = DisentanglementObjective(
        model.liveness_head, model.domain_head, weights=LossWeights(cont=1.0)
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    images = torch.rand(batch, 3, size, size)
    labels = torch.tensor([1, 0] * (batch // 2))  # 1 live, 0 spoof
    domains = torch.arange(batch) % num_domains
    content_target = torch.rand(batch, 1, 32, 32)  # Phi(x), e.g. a PRNet depth map

    terms = objective(model(images), labels, domains, content_target)
    optimizer.zero_grad()
    terms.total.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)  # as the trainer does
    optimizer.step()

    for name, value in terms.as_floats().items():
        print(f"{name:>9s} {value:.4f}")
    model.eval()
    print("P(live):", [round(p, 3) for p in model.live_score(images).tolist()])


if __name__ == "__main__":
    main()
