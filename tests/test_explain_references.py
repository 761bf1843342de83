"""Probes against references: the pixel and untrained references, their HSIC, and the
table's reading of each probe."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from disentangle_fas.explain.disentanglement import DisentanglementProbes, ProbeRow
from disentangle_fas.explain.probes import ProbeScore
from disentangle_fas.explain.references import (
    ReferenceProbes,
    pixel_features,
    reference_probes,
    reference_table,
    untrained_copy,
)
from disentangle_fas.losses import hsic
from disentangle_fas.model import DisentangledFAS
from disentangle_fas.synthetic import SyntheticFAS

pytestmark = pytest.mark.filterwarnings("ignore:.*no ImageNet weights")


@pytest.fixture(scope="module")
def data() -> SyntheticFAS:
    return SyntheticFAS(["O", "C", "I"], samples_per_domain=20, image_size=32, split="test",
                        seed=0, pre_render=True)  # fmt: skip


def _trained_like() -> DisentangledFAS:
    torch.manual_seed(3)
    model = DisentangledFAS.build(num_domains=3, depth=10, image_size=32,
                                  content_shape=(1, 8, 8), warn_random=False)  # fmt: skip
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05)  # weights no initialisation gives
    return model.eval()


def test_pixel_features_are_the_pooled_images(data: SyntheticFAS) -> None:
    feats = pixel_features(data, size=4)
    images = torch.stack([data[i].image for i in range(len(data))])
    assert torch.allclose(feats.liveness, F.adaptive_avg_pool2d(images, 4).flatten(1))
    assert feats.content is None and feats.domain is None
    assert torch.equal(feats.domains, torch.tensor([data[i].domain for i in range(len(data))]))


def test_untrained_copy_is_the_architecture_at_a_fresh_start() -> None:
    model = _trained_like()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(11)
    expected_next = torch.rand(1)
    torch.manual_seed(11)
    a, b = untrained_copy(model, seed=1), untrained_copy(model, seed=1)
    assert torch.equal(torch.rand(1), expected_next)  # the global generator is restored
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # unchanged
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == before.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)  # seeded
    weights = [k for k in sa if k.endswith("weight") and sa[k].ndim > 1]
    assert weights and all(not torch.equal(sa[k], before[k]) for k in weights)


def test_reference_probes_run_the_same_probes_and_hsic(data: SyntheticFAS) -> None:
    model = _trained_like()
    refs = reference_probes(model, data, seed=0)
    assert [(r.target, r.representation) for r in refs.model.rows] == [
        (r.target, r.representation) for r in refs.untrained.rows
    ]
    assert {(r.target, r.representation) for r in refs.pixels.rows} == {
        ("liveness", "liveness"), ("domain", "liveness")}  # fmt: skip
    pixels = pixel_features(data)
    onehot = F.one_hot(pixels.domains).double()
    assert refs.hsic_domain["pixels"] == pytest.approx(
        float(hsic(pixels.liveness.double(), onehot))
    )
    assert {"model f_L", "model f_C", "model f_D", "untrained f_L"} <= set(refs.hsic_domain)
    # The synthetic domains are visible in the pixels: well above chance.
    domain_from_pixels = refs.pixels.get("domain", "liveness")
    assert domain_from_pixels is not None and domain_from_pixels.balanced_accuracy > 0.6
    table = reference_table(refs)
    assert "| domain | f_L |" in table and "HSIC with the domain labels" in table


def _score(balanced: float, k: int) -> ProbeScore:
    return ProbeScore(balanced, 1 / k, balanced, None, k, 10, 10)


def test_the_table_reads_each_probe_against_the_untrained_encoder() -> None:
    def probes(f_l_domain: float, f_l_live: float) -> DisentanglementProbes:
        return DisentanglementProbes((ProbeRow("liveness", "liveness", _score(f_l_live, 2)),
                                      ProbeRow("domain", "liveness", _score(f_l_domain, 3))))  # fmt: skip

    pixels = probes(0.9, 0.7)
    removed = ReferenceProbes(probes(0.5, 0.95), pixels, probes(0.8, 0.8), {})
    table = reference_table(removed)
    assert "| domain | f_L | 50.0 | 80.0 | 90.0 | 33.3 | below the untrained encoder |" in table
    assert "| liveness | f_L | 95.0 | 80.0 | 70.0 | 50.0 | kept |" in table
    kept = reference_table(ReferenceProbes(probes(0.85, 0.6), pixels, probes(0.8, 0.8), {}))
    assert "| not removed |" in kept and "| lower than untrained |" in kept
