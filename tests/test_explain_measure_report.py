"""Measured disentanglement: references beside every probe, the verdict, kernel CKA against
numpy, and the measure of real models (the paper's and one exposing f_L only)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import stats

from _method_fixtures import tiny_paper_model
from disentangle_fas.explain.features import PooledFeatures
from disentangle_fas.explain.measure import (
    Spread,
    kernel_cka,
    measure_disentanglement,
    measure_features,
)
from disentangle_fas.explain.measure_markdown import measure_dict, measure_table
from disentangle_fas.ssdg import SSDGR, SSDGConfig
from disentangle_fas.synthetic import SyntheticFAS

pytestmark = pytest.mark.filterwarnings("ignore:.*no ImageNet weights")


def _np_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Gaussian-kernel CKA written out: median-heuristic kernels, centred, Frobenius."""

    def gram(a: np.ndarray) -> np.ndarray:
        d2 = ((a[:, None, :] - a[None, :, :]) ** 2).sum(-1)
        off = np.sqrt(d2[~np.eye(len(a), dtype=bool)])
        sigma = np.median(off[off > 0])
        return np.exp(-d2 / (2 * sigma**2))

    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l_ = h @ gram(x) @ h, h @ gram(y) @ h
    return float((k * l_).sum() / np.sqrt((k * k).sum() * (l_ * l_).sum()))


def test_kernel_cka_equals_numpy() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 5, generator=g, dtype=torch.float64)
    y = x[:, :2] ** 2 + 0.5 * torch.randn(40, 2, generator=g, dtype=torch.float64)
    onehot = torch.nn.functional.one_hot(torch.arange(40) % 3).double()
    for a, b in ((x, y), (x, onehot), (y, torch.randn(40, 3, generator=g, dtype=torch.float64))):
        assert kernel_cka(a, b) == pytest.approx(_np_cka(a.numpy(), b.numpy()), rel=1e-9)
    assert kernel_cka(x, x) == pytest.approx(1.0)
    assert kernel_cka(x, torch.ones(40, 1, dtype=torch.float64)) == 0.0


def test_spread_statistics_equal_numpy_and_scipy() -> None:
    values = (0.61, 0.7, 0.64, 0.69)
    s = Spread(values)
    assert s.mean == pytest.approx(np.mean(values))
    assert s.std == pytest.approx(np.std(values, ddof=1))
    low, high = stats.t.interval(0.95, 3, loc=np.mean(values), scale=stats.sem(values))
    assert s.interval == pytest.approx((low, high))


def _features(domain_strength: float, seed: int, n: int = 96) -> PooledFeatures:
    """f_L carries the domain with the given strength and liveness strongly; f_D the domain."""
    g = torch.Generator().manual_seed(seed)
    domains = torch.arange(n) % 3
    labels = (torch.arange(n) // 3) % 2
    attacks = torch.where(labels == 1, 0, 1 + (torch.arange(n) // 6) % 2)
    codes = torch.randn(3, 8, generator=torch.Generator().manual_seed(99))
    f_l = domain_strength * codes[domains] + 2.0 * labels[:, None].float()
    f_l = f_l + torch.randn(n, 8, generator=g)
    f_d = 2.0 * codes[domains] + torch.randn(n, 8, generator=g)
    return PooledFeatures(f_l, None, f_d, labels, domains, attacks)


def test_measure_puts_references_beside_every_probe_and_reads_below_untrained() -> None:
    train, val = _features(0.0, 0), _features(0.0, 1)  # trained f_L: no domain at all
    untrained = (_features(2.0, 2), _features(2.0, 3))  # the reference carries it strongly
    pixels = (_features(1.0, 4), _features(1.0, 5))
    m = measure_features(train, val, untrained=untrained, pixels=pixels, seeds=(0, 1))
    assert {(r.target, r.representation) for r in m.rows} == {
        (t, rep) for t in ("liveness", "domain", "attack") for rep in ("liveness", "domain")
    }
    assert len(m.rows) == 6 * 2 * 3  # x (linear, mlp) x (balanced accuracy, AUC, information)
    for r in m.rows:
        assert r.untrained is not None and r.pixels is not None and r.difference is not None
        assert len(r.trained.values) == 2
        assert r.difference.values == pytest.approx(
            [a - b for a, b in zip(r.trained.values, r.untrained.values, strict=True)]
        )
    dom = m.get("domain", "liveness", "linear")
    assert dom is not None and dom.verdict == "below untrained" and dom.expected == "chance"
    assert dom.trained.mean < 0.5 and dom.untrained is not None and dom.untrained.mean > 0.9
    assert dom.chance == pytest.approx(1 / 3)
    info = m.get("domain", "liveness", "linear", "information")
    assert info is not None and info.chance == 0.0 and info.verdict == "below untrained"
    assert info.trained.mean < 0.05 and info.untrained is not None and info.untrained.mean > 0.5
    live = m.get("liveness", "liveness", "mlp", "auc")
    assert live is not None and live.verdict == "not below" and live.chance == 0.5
    assert "the model has no f_C" in m.notes[0]
    # The table prints the references beside every probe: no row without them.
    table = measure_table(m)
    probe_lines = [
        ln for ln in table.splitlines() if ln.startswith(("| liveness", "| domain", "| attack"))
    ]
    assert len(probe_lines) == len(m.rows)
    for line in probe_lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[4] != "–" and cells[5] != "–"  # untrained, pixels
    assert "| domain | f_L | linear |" in table and "below untrained" in table
    assert "| f_L ~ domain |" in table and "| f_L ~ f_D |" in table
    as_json = json.loads(json.dumps(measure_dict(m)))
    assert len(as_json["rows"]) == len(m.rows) and as_json["seeds"] == [0, 1]
    dep = {d["name"]: d for d in as_json["dependence"]}
    assert dep["f_D ~ domain"]["cka"] > dep["f_L ~ domain"]["cka"]
    assert dep["f_L ~ domain"]["untrained_cka"] > dep["f_L ~ domain"]["cka"]


def test_domain_carried_like_the_untrained_encoder_is_not_below() -> None:
    train, val = _features(2.0, 0), _features(2.0, 1)
    m = measure_features(train, val, untrained=(train, val), kinds=["linear"], seeds=(0, 1))
    row = m.get("domain", "liveness")
    assert row is not None and row.difference is not None
    assert row.difference.values == (0.0, 0.0) and row.verdict == "not below"
    assert row.pixels is None and "| – |" in measure_table(m)


def test_attack_probes_need_attack_types_and_two_of_them() -> None:
    train, val = _features(1.0, 0), _features(1.0, 1)
    no_attacks = measure_features(train._replace(attacks=None), val, kinds=["linear"], seeds=(0,))
    assert not any(r.target == "attack" for r in no_attacks.rows)
    assert any("record no attack types" in n for n in no_attacks.notes)
    one_type = val._replace(attacks=torch.where(val.labels == 1, 0, 1))
    m = measure_features(train, one_type, kinds=["linear"], seeds=(0,))
    assert any("fewer than two classes" in n for n in m.notes)
    with pytest.raises(ValueError, match="seed"):
        measure_features(train, val, seeds=())


@pytest.fixture(scope="module")
def parts() -> tuple[SyntheticFAS, SyntheticFAS]:
    kw = {"samples_per_domain": 12, "image_size": 32, "pre_render": True}
    return (SyntheticFAS(["O", "C", "I"], split="train", **kw),  # type: ignore[arg-type]
            SyntheticFAS(["O", "C", "I"], split="dev", **kw))  # type: ignore[arg-type]  # fmt: skip


def test_measure_a_paper_model_on_train_and_val(parts: tuple[SyntheticFAS, SyntheticFAS]) -> None:
    train, val = parts
    lines: list[str] = []
    m = measure_disentanglement(tiny_paper_model("full"), train, val, kinds=["linear"],
                                seeds=(0,), echo=lines.append)  # fmt: skip
    assert (m.n_train, m.n_val) == (36, 36)
    assert {r.representation for r in m.rows} == {"liveness", "content", "domain"}
    assert any("untrained copy" in line for line in lines) and any(
        "probing domain" in line for line in lines
    )
    assert [d.name for d in m.dependence] == [
        "f_L ~ domain", "f_C ~ domain", "f_D ~ domain", "f_L ~ f_C", "f_L ~ f_D", "f_C ~ f_D"]  # fmt: skip
    assert all(d.untrained_cka is not None for d in m.dependence)
    assert m.seconds > 0


def test_measure_a_model_exposing_only_f_l(parts: tuple[SyntheticFAS, SyntheticFAS]) -> None:
    torch.manual_seed(0)
    ssdg = SSDGR.from_config(
        SSDGConfig(num_domains=3, depth=10, embed_dim=16, image_size=32), warn_random=False
    )
    m = measure_disentanglement(ssdg, *parts, kinds=["linear"], seeds=(0,), references=False)
    assert {r.representation for r in m.rows} == {"liveness"}
    assert all(r.untrained is None and r.verdict == "–" for r in m.rows)
    assert [d.name for d in m.dependence] == ["f_L ~ domain"]


def test_no_package_export_is_shadowed_by_a_submodule_of_the_same_name() -> None:
    # Importing a submodule sets it as an attribute of the package; a lazy export of the
    # same name would then resolve to the module instead of the function.
    import pkgutil

    import disentangle_fas.explain as pkg

    submodules = {m.name for m in pkgutil.iter_modules(pkg.__path__)}
    assert submodules & set(pkg.__all__) == set()
    import disentangle_fas.explain.measure_markdown  # noqa: F401

    assert callable(pkg.measure_table) and callable(pkg.measure_disentanglement)
