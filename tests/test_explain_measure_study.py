"""The study's measured disentanglement: per-run rows and the table over training seeds
against a hand computation (numpy, scipy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from _method_fixtures import tiny_paper_model
from disentangle_fas.explain.features import PooledFeatures
from disentangle_fas.explain.measure import measure_features
from disentangle_fas.explain.measure_runs import (
    cap_per_domain,
    measure_row,
    measure_run,
    runs_table,
)
from disentangle_fas.synthetic import SyntheticFAS


def _feats(seed: int, strength: float) -> PooledFeatures:
    g = torch.Generator().manual_seed(seed)
    domains = torch.arange(60) % 3
    labels = (torch.arange(60) // 3) % 2
    attacks = torch.where(labels == 1, 0, 1 + (torch.arange(60) // 6) % 2)
    f_l = strength * torch.eye(3)[domains].repeat(1, 2) + torch.randn(60, 6, generator=g)
    return PooledFeatures(f_l + labels[:, None], None, None, labels, domains, attacks)


def test_measure_row_keeps_each_figure_beside_its_references() -> None:
    pair = (_feats(0, 0.0), _feats(1, 0.0))
    ref = (_feats(2, 3.0), _feats(3, 3.0))
    m = measure_features(*pair, untrained=ref, pixels=ref, kinds=["linear"], seeds=(0, 1))
    row = measure_row(m)
    values = row["values"]
    domain = m.get("domain", "liveness")
    assert domain is not None and domain.untrained is not None
    assert values["domain_from_f_L"] == pytest.approx(domain.trained.mean)
    assert values["domain_from_f_L@untrained"] == pytest.approx(domain.untrained.mean)
    assert values["domain_from_f_L@chance"] == pytest.approx(1 / 3)
    assert values["liveness_from_f_L@chance"] == 0.5
    assert {"attack_from_f_L", "attack_from_f_L@pixels", "cka f_L ~ domain@pixels"} <= set(values)
    assert not any(k.startswith("domain_from_f_D") for k in values)  # no E_D in this model
    assert row["domain_chance"] == pytest.approx(1 / 3) and row["seconds"] > 0
    info = m.get("domain", "liveness", "linear", "information")
    assert info is not None and info.untrained is not None
    assert values["domain_info_from_f_L"] == pytest.approx(info.trained.mean)
    assert values["domain_info_from_f_L@untrained"] == pytest.approx(info.untrained.mean)
    assert values["domain_info_from_f_L@chance"] == 0.0
    assert values["domain_info_from_f_L@untrained"] > 0.5 > values["domain_info_from_f_L"]
    assert "| domain from f_L (linear, usable info) |" in runs_table({("v", "t", 0): values})


def test_reference_table_equals_a_hand_computation() -> None:
    rng = np.random.default_rng(0)
    values = {}
    trained = rng.uniform(0.4, 0.6, (3, 2))  # seed x task
    untrained = trained + rng.uniform(0.1, 0.2, (3, 2))  # the reference reads more
    for seed in range(3):
        for t, task in enumerate(("A", "B")):
            values[("full", task, seed)] = {
                "domain_from_f_L": trained[seed, t],
                "domain_from_f_L@untrained": untrained[seed, t],
                "domain_from_f_L@pixels": 0.9,
                "domain_from_f_L@chance": 1 / 3,
            }
            values[("baseline", task, seed)] = {
                "domain_from_f_L": untrained[seed, t] + 0.05,
                "domain_from_f_L@untrained": untrained[seed, t],
                "domain_from_f_L@chance": 1 / 3,
            }
    table = runs_table(values)
    per_seed = trained.mean(1)
    mean = per_seed.mean()
    half = stats.t.ppf(0.975, 2) * per_seed.std(ddof=1) / np.sqrt(3)
    diff = per_seed - untrained.mean(1)
    lo, hi = stats.t.interval(0.95, 2, loc=diff.mean(), scale=stats.sem(diff))
    row = next(ln for ln in table.splitlines() if ln.startswith("| full | domain from f_L"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == f"{100 * mean:.1f} ± {100 * half:.1f}"
    assert cells[4] == "90.0 ± 0.0" and cells[5] == "33.3"
    assert cells[6] == f"{100 * diff.mean():+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"
    assert cells[7] == "below untrained"
    base = next(ln for ln in table.splitlines() if ln.startswith("| baseline | domain from f_L"))
    assert base.split("|")[5].strip() == "–" and base.rstrip("| ").endswith("not below")


def test_cap_per_domain() -> None:
    domains = np.array([0] * 10 + [1] * 3 + [2] * 7)
    keep = cap_per_domain(domains, 4, seed=1)
    assert np.bincount(domains[keep]).tolist() == [4, 3, 4]
    assert keep == sorted(set(keep)) and keep == cap_per_domain(domains, 4, seed=1)
    with pytest.raises(ValueError):
        cap_per_domain(domains, 0)


@pytest.mark.filterwarnings("ignore:.*no ImageNet weights")
def test_measure_run_fits_on_a_capped_train_subset_and_scores_on_val() -> None:
    kw = {"image_size": 32, "pre_render": True}
    train = SyntheticFAS(["O", "C", "I"], samples_per_domain=10, split="train", **kw)  # type: ignore[arg-type]
    val = SyntheticFAS(["O", "C", "I"], samples_per_domain=6, split="dev", **kw)  # type: ignore[arg-type]
    row = measure_run(tiny_paper_model("baseline"), train, train.domain_indices, val, seed=3,
                      kinds=["linear"], probe_seeds=1, train_per_domain=4)  # fmt: skip
    assert (row["n_train"], row["n_val"]) == (12, 18)
    assert {"domain_from_f_L", "domain_from_f_L@untrained", "liveness_from_f_L@pixels"} <= set(
        row["values"]
    )
    assert not any(k.endswith(":mlp") for k in row["values"])
