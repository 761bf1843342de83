from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from disentangle_fas.data import DomainBalancedBatchSampler
from disentangle_fas.data.sampler import check_batch_size


def toy(sizes: dict[tuple[int, int], int]) -> tuple[np.ndarray, np.ndarray]:
    labels, domains = [], []
    for (d, y), n in sizes.items():
        labels += [y] * n
        domains += [d] * n
    perm = np.random.default_rng(0).permutation(len(labels))
    return np.asarray(labels)[perm], np.asarray(domains)[perm]


SIZES = {(0, 1): 30, (0, 0): 50, (1, 1): 20, (1, 0): 70, (2, 1): 25, (2, 0): 40}


def counts(batch: list[int], labels: np.ndarray, domains: np.ndarray) -> Counter[tuple[int, int]]:
    return Counter((int(domains[i]), int(labels[i])) for i in batch)


def test_every_batch_is_balanced() -> None:
    labels, domains = toy(SIZES)
    sampler = DomainBalancedBatchSampler(labels, domains, batch_size=12, seed=3)
    batches = list(sampler)
    assert len(batches) == len(sampler) == int(np.ceil(235 / 12))
    for batch in batches:
        assert len(batch) == 12
        assert counts(batch, labels, domains) == {g: 2 for g in SIZES}
        assert len(set(batch)) == 12  # no repeats inside a batch when groups are large


def test_deterministic_under_seed_and_epoch() -> None:
    labels, domains = toy(SIZES)
    a = DomainBalancedBatchSampler(labels, domains, 6, seed=7, num_batches=5)
    b = DomainBalancedBatchSampler(torch.as_tensor(labels), list(domains), 6, seed=7, num_batches=5)
    assert list(a) == list(b) == list(a)
    a.set_epoch(1)
    assert list(a) != list(b)
    b.set_epoch(1)
    assert list(a) == list(b)
    c = DomainBalancedBatchSampler(labels, domains, 6, seed=8, num_batches=5)
    assert list(c) != list(b)


def test_ddp_ranks_are_disjoint_and_compose_the_global_batch() -> None:
    labels, domains = toy(SIZES)
    kw = {"seed": 11, "num_batches": 8}
    r0 = DomainBalancedBatchSampler(labels, domains, 6, rank=0, world_size=2, **kw)
    r1 = DomainBalancedBatchSampler(labels, domains, 6, rank=1, world_size=2, **kw)
    single = DomainBalancedBatchSampler(labels, domains, 12, **kw)
    for epoch in (0, 3):
        for s in (r0, r1, single):
            s.set_epoch(epoch)
        for b0, b1, g in zip(r0, r1, single, strict=True):
            assert not set(b0) & set(b1)
            for b in (b0, b1):
                assert counts(b, labels, domains) == {grp: 1 for grp in SIZES}
            # rank r holds the r-th half of every group of the single-process batch
            halves = [g[k : k + 2] for k in range(0, 12, 2)]
            assert b0 == [h[0] for h in halves] and b1 == [h[1] for h in halves]


def test_small_group_is_sampled_with_replacement() -> None:
    labels = np.array([1, 0, 0, 0, 1, 0])
    domains = np.array([0, 0, 0, 0, 1, 1])
    sampler = DomainBalancedBatchSampler(labels, domains, 12, num_batches=3)
    for batch in sampler:
        assert batch[:3] == [0, 0, 0]  # the only live sample of domain 0, three times
        assert counts(batch, labels, domains) == {(0, 1): 3, (0, 0): 3, (1, 1): 3, (1, 0): 3}


def test_errors() -> None:
    labels, domains = toy(SIZES)
    with pytest.raises(ValueError, match=r"batch_size 8 does not fit: .* 3 source domains, so "
                       r"it must be a positive multiple of 6 \(e.g. 6\)"):  # fmt: skip
        DomainBalancedBatchSampler(labels, domains, 8)
    with pytest.raises(ValueError, match=r"for task T: .* multiple of 4 \(e.g. 4\)"):
        check_batch_size(2, 2, "T")
    check_batch_size(12, 3)  # fits: nothing raised
    with pytest.raises(ValueError, match="domain 1 has no spoof"):
        DomainBalancedBatchSampler([1, 0, 1], [0, 0, 1], 4)
    with pytest.raises(ValueError, match="domain 5 has no live"):
        DomainBalancedBatchSampler(labels, domains, 8, domain_ids=[0, 5])
    with pytest.raises(ValueError, match="labels must be"):
        DomainBalancedBatchSampler([2, 0], [0, 0], 2)
    with pytest.raises(ValueError, match="length"):
        DomainBalancedBatchSampler([1, 0], [0], 2)
    with pytest.raises(ValueError, match="rank"):
        DomainBalancedBatchSampler(labels, domains, 6, rank=2, world_size=2)
    with pytest.raises(TypeError, match="labels/domains"):
        DomainBalancedBatchSampler.from_dataset(object(), 6)


def test_domain_ids_restrict_the_draw() -> None:
    labels, domains = toy(SIZES)
    sampler = DomainBalancedBatchSampler(labels, domains, 4, domain_ids=[2, 0], num_batches=4)
    for batch in sampler:
        assert [int(domains[i]) for i in batch] == [2, 2, 0, 0]
        assert [int(labels[i]) for i in batch] == [1, 0, 1, 0]


@dataclass
class Rec:
    label: int
    domain: str


def test_from_dataset_records() -> None:
    class DS:
        def __init__(self) -> None:
            self.records = [Rec(1, "B"), Rec(0, "B"), Rec(1, "A"), Rec(0, "A")]

    sampler = DomainBalancedBatchSampler.from_dataset(DS(), 4, num_batches=2)
    assert [sorted(b) for b in sampler] == [[0, 1, 2, 3]] * 2
    assert next(iter(sampler))[:2] == [2, 3]  # domain "A" is index 0


@given(
    sizes=st.lists(st.tuples(st.integers(1, 9), st.integers(1, 9)), min_size=1, max_size=4),
    per_group=st.integers(1, 3),
    seed=st.integers(0, 2**31),
)
def test_balance_property(sizes: list[tuple[int, int]], per_group: int, seed: int) -> None:
    groups = {}
    for d, (n_live, n_spoof) in enumerate(sizes):
        groups[(d, 1)], groups[(d, 0)] = n_live, n_spoof
    labels, domains = toy(groups)
    bs = 2 * len(sizes) * per_group
    sampler = DomainBalancedBatchSampler(labels, domains, bs, seed=seed, num_batches=3)
    for batch in sampler:
        assert counts(batch, labels, domains) == {g: per_group for g in groups}
