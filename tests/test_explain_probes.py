from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from _method_fixtures import tiny_paper_model
from disentangle_fas.explain import (
    LinearProbe,
    PooledFeatures,
    binary_auc,
    evaluate_probe,
    extract_features,
    fit_linear_probe,
    probe_disentanglement,
    project_2d,
    save_projection_plot,
    stratified_split,
)
from disentangle_fas.heads import pool
from disentangle_fas.ssdg import SSDGR, SSDGConfig
from disentangle_fas.types import FASSample


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _uninformative(n: int, d: int, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian features drawn independently of the labels."""
    g = _gen(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, k, (n,), generator=g)


def _informative(n: int, d: int, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels linearly encoded (a random code per class) plus Gaussian noise."""
    g = _gen(seed)
    y = torch.randint(0, k, (n,), generator=g)
    codes = torch.randn(k, d, generator=g)
    return codes[y] + 0.5 * torch.randn(n, d, generator=g), y


# -- probes on features built to carry / not carry the label --------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_binary_probe_near_chance_without_information(seed: int) -> None:
    x, y = _uninformative(400, 32, 2, seed)
    s = evaluate_probe(x, y, seed=seed)
    assert abs(s.accuracy - s.chance) < 0.15
    assert s.auc is not None and abs(s.auc - 0.5) < 0.15
    assert abs(s.balanced_accuracy - 0.5) < 0.15
    assert s.num_classes == 2 and s.n_train + s.n_test == 400


@pytest.mark.parametrize("seed", [0, 1])
def test_domain_probe_near_chance_without_information(seed: int) -> None:
    x, y = _uninformative(400, 32, 4, seed)
    s = evaluate_probe(x, y, seed=seed)
    assert s.num_classes == 4 and s.balanced_chance == 0.25
    assert abs(s.balanced_accuracy - 0.25) < 0.12
    assert s.accuracy < s.chance + 0.12
    assert s.auc is None


@pytest.mark.parametrize("k", [2, 4])
def test_probe_high_with_information(k: int) -> None:
    x, y = _informative(300, 32, k, seed=k)
    s = evaluate_probe(x, y)
    assert s.accuracy > 0.95 and s.balanced_accuracy > 0.95
    if k == 2:
        assert s.auc is not None and s.auc > 0.95


def test_probe_accepts_non_contiguous_labels() -> None:
    x, y = _informative(200, 16, 3, seed=3)
    s = evaluate_probe(x, torch.tensor([2, 5, 9])[y])
    assert s.num_classes == 3 and s.accuracy > 0.95


# -- the logistic regression against scikit-learn -------------------------------------------


def _standardise(x: torch.Tensor) -> np.ndarray:
    return ((x - x.mean(0)) / x.std(0, unbiased=False)).double().numpy()


def _probe_and_sklearn(
    x: torch.Tensor, y: torch.Tensor, *, l2: float, c_factor: float
) -> tuple[LinearProbe, LogisticRegression]:
    """Fit the probe and scikit-learn's ``LogisticRegression(C = c_factor / (l2 N))``."""
    probe = fit_linear_probe(x, y, l2=l2)
    ref = LogisticRegression(C=c_factor / (l2 * len(y)), tol=1e-10, max_iter=10000)
    ref.fit(_standardise(x), y.numpy())
    return probe, ref


def test_multinomial_probe_matches_sklearn() -> None:
    g = _gen(0)
    x = torch.randn(150, 10, generator=g)
    y = torch.randint(0, 3, (150,), generator=g)
    x[:, :3] += 1.5 * torch.nn.functional.one_hot(y, 3)
    probe, ref = _probe_and_sklearn(x, y, l2=1e-2, c_factor=1.0)
    np.testing.assert_allclose(
        probe.predict_proba(x).numpy(), ref.predict_proba(_standardise(x)), atol=1e-5
    )
    assert torch.equal(probe.predict(x), torch.from_numpy(ref.predict(_standardise(x))))


def test_binary_probe_matches_sklearn() -> None:
    # Two softmax prototypes with penalty l2/2 (|w0|^2 + |w1|^2) equal one sigmoid vector
    # v = w1 - w0 with penalty l2/4 |v|^2, i.e. scikit-learn's C = 2 / (l2 N).
    g = _gen(1)
    x = torch.randn(120, 6, generator=g)
    y = (x[:, 0] + 0.7 * torch.randn(120, generator=g) > 0).long()
    probe, ref = _probe_and_sklearn(x, y, l2=5e-2, c_factor=2.0)
    np.testing.assert_allclose(
        probe.predict_proba(x).numpy(), ref.predict_proba(_standardise(x)), atol=1e-5
    )
    # The sigmoid vector and intercept are the differences of the two prototypes.
    v = (probe.weight[:, 1] - probe.weight[:, 0]).numpy()
    np.testing.assert_allclose(v, ref.coef_[0], atol=1e-4)
    assert float(probe.bias[1] - probe.bias[0]) == pytest.approx(float(ref.intercept_[0]), abs=1e-4)


def test_constant_feature_does_not_break_standardisation() -> None:
    x, y = _informative(100, 8, 2, seed=4)
    x[:, 3] = 7.0
    probe = fit_linear_probe(x, y)
    assert torch.isfinite(probe.predict_proba(x)).all()
    assert float(probe.std[3]) == 1.0


def test_probe_errors() -> None:
    x, y = _informative(40, 4, 2, seed=0)
    with pytest.raises(ValueError, match="two classes"):
        evaluate_probe(x, torch.zeros(40, dtype=torch.long))
    with pytest.raises(ValueError, match="labels for"):
        evaluate_probe(x, y[:10])
    with pytest.raises(ValueError, match="NaN"):
        evaluate_probe(torch.full((40, 4), float("nan")), y)
    with pytest.raises(ValueError, match="l2"):
        fit_linear_probe(x, y, l2=0.0)
    with pytest.raises(ValueError, match="labels must be in"):
        fit_linear_probe(x, y + 5, num_classes=2)
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split(y, 1.0)
    with pytest.raises(ValueError, match="integer"):
        evaluate_probe(x, y.double() + 0.5)


# -- AUC and split: properties --------------------------------------------------------------


@given(
    st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=40).filter(
        lambda v: len({b for _, b in v}) == 2
    )
)
def test_binary_auc_matches_sklearn_with_ties(pairs: list[tuple[int, bool]]) -> None:
    scores = torch.tensor([float(s) for s, _ in pairs])
    labels = torch.tensor([int(b) for _, b in pairs])
    assert binary_auc(scores, labels) == pytest.approx(
        roc_auc_score(labels.numpy(), scores.numpy())
    )


@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=60), st.floats(0.05, 0.95), st.integers(0, 9)
)
def test_stratified_split_partitions_each_class(labels: list[int], frac: float, seed: int) -> None:
    y = torch.tensor(labels)
    train, test = stratified_split(y, frac, seed=seed)
    both = torch.cat([train, test]).sort().values
    assert torch.equal(both, torch.arange(len(labels)))
    for c in set(labels):
        n = labels.count(c)
        n_test = int((y[test] == c).sum())
        if n >= 2:
            assert 1 <= n_test <= n - 1
            assert n_test == min(n - 1, max(1, round(n * frac)))
        else:
            assert n_test == 0


# -- the disentanglement table -------------------------------------------------------------


def _pooled(n: int = 300, *, with_branches: bool = True, domains: int = 3) -> PooledFeatures:
    g = _gen(7)
    labels = torch.randint(0, 2, (n,), generator=g)
    dom = torch.randint(0, domains, (n,), generator=g)
    live_code, dom_code = torch.randn(2, 24, generator=g), torch.randn(domains, 24, generator=g)
    f_l = live_code[labels] + 0.5 * torch.randn(n, 24, generator=g)
    f_c = torch.randn(n, 24, generator=g)
    f_d = dom_code[dom] + 0.5 * torch.randn(n, 24, generator=g)
    if not with_branches:
        return PooledFeatures(f_l, None, None, labels, dom)
    return PooledFeatures(f_l, f_c, f_d, labels, dom)


def test_probe_disentanglement_table() -> None:
    res = probe_disentanglement(_pooled())
    assert [(r.target, r.representation) for r in res.rows] == [
        ("liveness", "liveness"),
        ("liveness", "content"),
        ("liveness", "domain"),
        ("domain", "liveness"),
        ("domain", "content"),
        ("domain", "domain"),
    ]
    live_l, live_c = res.get("liveness", "liveness"), res.get("liveness", "content")
    dom_d, dom_l = res.get("domain", "domain"), res.get("domain", "liveness")
    assert live_l is not None and live_c is not None and dom_d is not None and dom_l is not None
    assert live_l.accuracy > 0.95 and dom_d.accuracy > 0.95
    assert abs(live_c.balanced_accuracy - 0.5) < 0.15
    assert abs(dom_l.balanced_accuracy - 1 / 3) < 0.15
    assert [r.expected for r in res.rows] == [
        "high",
        "chance",
        "chance",
        "chance",
        "chance",
        "high",
    ]
    md = res.to_markdown()
    assert md.count("\n| liveness (2 classes)") == 3 and md.count("| domain (3 classes)") == 3
    assert "chance (majority)" in md and "| f_D |" in md
    assert f"{100 * live_l.accuracy:.1f}" in md
    assert str(res) == md


def test_probe_disentanglement_baseline_and_single_domain() -> None:
    base = probe_disentanglement(_pooled(with_branches=False))
    assert {r.representation for r in base.rows} == {"liveness"}
    assert base.get("liveness", "content") is None
    assert any("f_C / f_D" in n for n in base.notes)
    one = probe_disentanglement(_pooled(domains=1))
    assert {r.target for r in one.rows} == {"liveness"}
    assert any("domain probes skipped" in n for n in one.notes)
    assert "domain probes skipped" in one.to_markdown()


# -- features and projections ---------------------------------------------------------------


def _samples(n: int) -> list[FASSample]:
    g = _gen(3)
    return [
        FASSample(torch.rand(3, 32, 32, generator=g), i % 2, i % 3, 0 if i % 2 else 1, i, f"v{i}")
        for i in range(n)
    ]


@pytest.mark.parametrize("variant", ["full", "baseline"])
def test_extract_features_pools_every_branch(variant: str) -> None:
    model = tiny_paper_model(variant)
    model.train()
    data = _samples(7)
    feats = extract_features(model, data, batch_size=3)  # type: ignore[arg-type]
    assert model.training  # mode restored
    assert feats.liveness.shape == (7, 512)
    assert torch.equal(feats.labels, torch.tensor([i % 2 for i in range(7)]))
    assert torch.equal(feats.domains, torch.tensor([i % 3 for i in range(7)]))
    model.eval()
    with torch.no_grad():
        ref = model(torch.stack([s.image for s in data]))
    torch.testing.assert_close(feats.liveness, pool(ref.liveness), atol=1e-5, rtol=1e-4)
    if variant == "full":
        assert feats.content is not None and feats.domain is not None and ref.domain is not None
        torch.testing.assert_close(feats.domain, pool(ref.domain), atol=1e-5, rtol=1e-4)
        assert [n for n, _ in feats.available()] == ["liveness", "content", "domain"]
    else:
        assert feats.content is None and feats.domain is None
        assert [n for n, _ in feats.available()] == ["liveness"]


def test_extract_features_of_ssdg_r_is_its_embedding() -> None:
    torch.manual_seed(0)
    ssdg = SSDGR.from_config(SSDGConfig(num_domains=3, depth=10, embed_dim=64), warn_random=False)
    data = _samples(5)
    feats = extract_features(ssdg, data, batch_size=2)  # type: ignore[arg-type]
    assert feats.content is None and feats.domain is None
    ssdg.eval()
    with torch.no_grad():
        ref = ssdg.embed(torch.stack([s.image for s in data]))
    torch.testing.assert_close(feats.liveness, ref, atol=1e-5, rtol=1e-4)


def test_pca_matches_sklearn() -> None:
    x = torch.randn(50, 6, generator=_gen(5)) * torch.tensor([5.0, 3.0, 1.0, 0.5, 0.2, 0.1])
    proj = project_2d(x)
    ref = PCA(n_components=2).fit(x.double().numpy())
    np.testing.assert_allclose(
        np.abs(proj.coords.numpy()), np.abs(ref.transform(x.double().numpy())), atol=1e-4
    )
    ratio = ref.explained_variance_ratio_
    assert proj.axis_labels == (f"PC1 ({100 * ratio[0]:.0f}%)", f"PC2 ({100 * ratio[1]:.0f}%)")
    assert project_2d(-x).coords.equal(proj.coords) or torch.allclose(
        project_2d(-x).coords, proj.coords, atol=1e-5
    )
    with pytest.raises(ValueError, match="method"):
        project_2d(x, "umap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="N >= 2"):
        project_2d(x[:1])


@pytest.mark.slow
def test_tsne_projection_shape() -> None:
    proj = project_2d(torch.randn(30, 5, generator=_gen(6)), "tsne")
    assert proj.coords.shape == (30, 2) and torch.isfinite(proj.coords).all()


@pytest.mark.parametrize("branches", [True, False])
def test_projection_plot_png(tmp_path: Path, branches: bool) -> None:
    out = save_projection_plot(
        tmp_path / "p.png", _pooled(60, with_branches=branches), domain_names=["O", "C", "I"]
    )
    with Image.open(out) as im:
        assert im.format == "PNG"
        w, h = im.size
    assert (w > h) == branches  # three columns are wider than two rows
