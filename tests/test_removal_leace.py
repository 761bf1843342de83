"""Post-hoc LEACE erasure: the library's projection equals the concept-erasure package's
eraser, a fresh linear probe reads the domain at chance after it, and the ``erase="leace"``
step builds a scored, saved copy of the model without touching the trained one.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from disentangle_fas.explain.heldout import score_heldout
from disentangle_fas.losses import LeaceErasure, fit_leace, leace_erase
from disentangle_fas.losses import erasure as erasure_module
from disentangle_fas.methods.common import MethodContext
from disentangle_fas.methods.disentangle import DisentangledFAS, ModelConfig, erase_and_refit
from disentangle_fas.methods.disentangle.erase import liveness_features, refit_liveness_head
from disentangle_fas.methods.disentangle.method import DisentanglementMethod, configure

concept_erasure = pytest.importorskip("concept_erasure")
LogisticRegression = pytest.importorskip("sklearn.linear_model").LogisticRegression


def _domain_features(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Three domains whose means differ along a few directions (a linear domain signal)."""
    g = torch.Generator().manual_seed(seed)
    domains = torch.arange(n) % 3
    means = torch.randn(3, d, generator=torch.Generator().manual_seed(99)) * 1.5
    x = (
        torch.randn(n, d, generator=g, dtype=torch.float64)
        @ torch.diag(torch.linspace(0.5, 2.0, d)).double()
    )
    return x + means[domains].double(), domains  # fmt: skip


def test_the_projection_equals_the_packages_eraser() -> None:
    x, z = _domain_features(300, 12, seed=0)
    fit = fit_leace(x, z, 3)
    onehot = torch.nn.functional.one_hot(z, 3).double()
    eraser = concept_erasure.LeaceFitter.fit(x, onehot).eraser
    torch.testing.assert_close(leace_erase(x, fit.projection, fit.bias), eraser(x))
    # The package's low-rank form written out by hand in numpy.
    left, right, b = (t.numpy() for t in (eraser.proj_left, eraser.proj_right, eraser.bias))
    ref = x.numpy() - (x.numpy() - b) @ (left @ right).T
    np.testing.assert_allclose(leace_erase(x, fit.projection, fit.bias).numpy(), ref, atol=1e-10)


def test_erased_features_have_no_cross_covariance_with_the_labels() -> None:
    x, z = _domain_features(400, 10, seed=1)
    fit = fit_leace(x, z, 3)
    erased = leace_erase(x, fit.projection, fit.bias).numpy()
    onehot = np.eye(3)[z.numpy()]
    cross = (erased - erased.mean(0)).T @ (onehot - onehot.mean(0)) / (len(z) - 1)
    assert np.abs(cross).max() < 1e-8
    before = (x.numpy() - x.numpy().mean(0)).T @ (onehot - onehot.mean(0)) / (len(z) - 1)
    assert np.abs(before).max() > 0.3


def test_a_fresh_linear_probe_reads_the_domain_at_chance_on_held_out_erased_features() -> None:
    x_fit, z_fit = _domain_features(900, 16, seed=2)
    x_new, z_new = _domain_features(900, 16, seed=3)
    fit = fit_leace(x_fit, z_fit, 3)

    def probe_accuracy(train: torch.Tensor, test: torch.Tensor) -> float:
        clf = LogisticRegression(max_iter=2000).fit(train.numpy(), z_fit.numpy())
        return float((clf.predict(test.numpy()) == z_new.numpy()).mean())

    raw = probe_accuracy(x_fit, x_new)
    erased = probe_accuracy(
        leace_erase(x_fit, fit.projection, fit.bias), leace_erase(x_new, fit.projection, fit.bias)
    )
    assert raw > 0.9
    assert abs(erased - 1 / 3) < 0.05, erased


@pytest.mark.parametrize("d", [16, 128])
def test_probes_fitted_on_resamples_gain_no_usable_information_after_erasure(d: int) -> None:
    """LEACE's guarantee is about convex losses: a probe fitted on a resample of the
    eraser's sample (not the sample itself) predicts the held-out domains no better than
    the domain frequencies, in cross-entropy, however its accuracy moves."""
    x_fit, z_fit = _domain_features(300, d, seed=2)
    x_new, z_new = _domain_features(300, d, seed=3)
    fit = fit_leace(x_fit, z_fit, 3)
    erased_fit = leace_erase(x_fit, fit.projection, fit.bias)
    erased_new = leace_erase(x_new, fit.projection, fit.bias)
    for seed in (0, 1, 2):
        before = score_heldout(x_fit, z_fit, x_new, z_new, seed=seed)
        after = score_heldout(erased_fit, z_fit, erased_new, z_new, seed=seed)
        assert before.information > 0.9 and before.balanced_accuracy > 0.95
        assert after.information < 0.005, (seed, after)


def test_the_module_is_the_identity_until_fitted_and_saves_plain_tensors(tmp_path: Path) -> None:
    erase = LeaceErasure(6)
    x = torch.randn(4, 6)
    torch.testing.assert_close(erase(x), x)
    x_fit, z_fit = _domain_features(120, 6, seed=4)
    fit = fit_leace(x_fit.float(), z_fit, 3)
    erase.load_fit(fit)
    torch.testing.assert_close(erase(x), leace_erase(x, fit.projection, fit.bias))
    save_file(erase.state_dict(), str(tmp_path / "e.safetensors"))
    again = LeaceErasure(6)
    again.load_state_dict(load_file(str(tmp_path / "e.safetensors")))
    torch.testing.assert_close(again(x), erase(x))
    with pytest.raises(ValueError, match="5 dims but the eraser is"):
        leace_erase(torch.randn(2, 5), fit.projection, fit.bias)


def test_the_module_erases_in_float64_so_float32_features_keep_the_guarantee() -> None:
    x, z = _domain_features(900, 64, seed=5)
    fit = fit_leace(x, z, 3)  # float64, as the method fits it
    module = LeaceErasure(64).load_fit(fit)
    assert module.projection.dtype == torch.float64

    def mean_spread(erased: torch.Tensor) -> float:
        means = torch.stack([erased.double()[z == k].mean(0) for k in range(3)])
        return float((means - means.mean(0)).abs().max())

    out = module(x.float())
    assert out.dtype == torch.float32
    in_float32 = leace_erase(x.float(), fit.projection.float(), fit.bias.float())
    # Float32 arithmetic leaves class-mean differences a linear probe can fit; the module's
    # float64 product leaves only the output's rounding.
    assert mean_spread(out) < 5e-8 < mean_spread(in_float32) / 2


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def fake(name: str, *args: object) -> object:
        if name == "concept_erasure":
            raise ImportError("No module named 'concept_erasure'")
        return real(name, *args)

    monkeypatch.setattr(erasure_module.importlib, "import_module", fake)
    with pytest.raises(ImportError, match=r"disentangle-fas\[erase\]"):
        fit_leace(torch.randn(4, 3), torch.tensor([0, 1, 0, 1]), 2)
    context = MethodContext(("A", "B", "C"), image_size=32, depth=10, settings={"erase": "leace"})
    with pytest.raises(ImportError, match=r"disentangle-fas\[erase\]"):
        configure(context)


def _tiny(erase: str, variant: str = "full") -> DisentangledFAS:
    torch.manual_seed(0)
    cfg = ModelConfig(num_domains=3, variant=variant, depth=10, image_size=32,
                      content_shape=(1, 8, 8), erase=erase, erase_refit_steps=50)  # fmt: skip
    return DisentangledFAS.from_config(cfg, warn_random=False)


def _batches() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(5)
    out = []
    for _ in range(4):
        domains = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1, 2])
        images = (
            torch.rand(9, 3, 32, 32, generator=g) * 0.5 + 0.25 * domains[:, None, None, None] / 2
        )
        out.append((images, torch.tensor([0, 1, 0, 1, 0, 1, 1, 0, 1]), domains))
    return out


def test_erase_and_refit_returns_an_erased_copy_and_leaves_the_model_alone() -> None:
    model = _tiny("leace")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = erase_and_refit(model, _batches)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert out is not model and out.eraser is not None
    assert not torch.equal(out.eraser.projection, torch.eye(out.eraser.projection.shape[0]))
    assert not torch.equal(out.liveness_head.weight, model.liveness_head.weight)  # refit
    # The inference path and the representations go through the eraser.
    images = _batches()[0][0]
    with torch.no_grad():
        feats = liveness_features(out, lambda: [(images, torch.zeros(9), torch.zeros(9))], 9)[0]
        erased = leace_erase(feats, out.eraser.projection, out.eraser.bias)
        out.eval()
        torch.testing.assert_close(out.representations(images)["liveness"], erased)
        ref = out.liveness_head.live_score(erased)
        torch.testing.assert_close(out.live_score(images), ref)
        torch.testing.assert_close(out.liveness_path().live_score(images), ref)
    small = out.liveness_only()
    assert small.eraser is not None and torch.equal(small.eraser.bias, out.eraser.bias)


def test_refit_lowers_the_liveness_loss_on_fixed_features() -> None:
    from disentangle_fas.heads import LMCLHead
    from disentangle_fas.losses import lmcl_loss

    torch.manual_seed(0)
    head = LMCLHead(8)
    x = torch.randn(40, 8)
    y = (x[:, 0] > 0).long()
    start = float(lmcl_loss(head(x), y, scale=head.scale, margin=head.margin).detach())
    final = refit_liveness_head(head, x, y, 100)
    assert final < start
    after = float(lmcl_loss(head(x), y, scale=head.scale, margin=head.margin).detach())
    assert after == pytest.approx(final)
    assert refit_liveness_head(head, x, y, 0) == pytest.approx(final)  # 0 steps: unchanged


def test_the_method_finalizes_only_models_with_an_eraser() -> None:
    context = MethodContext(("A", "B", "C"), image_size=32, depth=10, content_shape=(1, 8, 8),
                            warn_random=False)  # fmt: skip
    plain = DisentanglementMethod(context)
    assert plain.finalize(plain.model, _batches) is plain.model
    settings = {"erase": "leace", "erase_refit_steps": 5}
    leace = DisentanglementMethod(replace(context, settings=settings))
    out = leace.finalize(leace.model, _batches)
    assert out is not leace.model and isinstance(out, DisentangledFAS)


def test_configs_without_the_new_keys_load_as_the_paper() -> None:
    data = ModelConfig(num_domains=3).to_dict()
    for key in ("domain_removal", "erase", "grl_gamma", "erase_max_images", "erase_refit_steps"):
        data.pop(key)
    cfg = ModelConfig.from_dict(data)
    assert cfg.domain_removal == "frozen" and cfg.erase == "none"
    model = DisentangledFAS.from_config(
        ModelConfig.from_dict({**data, "depth": 10, "image_size": 32}), warn_random=False
    )
    assert model.eraser is None and model.adversaries is None
    with pytest.raises(ValueError, match="erase must be one of"):
        ModelConfig(num_domains=3, erase="inlp")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="domain_removal must be one of"):
        ModelConfig(num_domains=3, domain_removal="mmd")  # type: ignore[arg-type]


def test_the_erased_model_saves_loads_and_exports_with_its_eraser(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from disentangle_fas.checkpoint import load_model, save_model
    from disentangle_fas.inference.cli import export_main

    out = erase_and_refit(_tiny("leace", variant="baseline"), _batches).eval()
    ck = save_model(out, tmp_path / "m.safetensors", threshold=0.5)
    loaded = load_model(ck).model.eval()
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        torch.testing.assert_close(loaded.live_score(x), out.live_score(x))
    assert export_main(["--checkpoint", str(ck), "--onnx", str(tmp_path / "m.onnx")]) == 0
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    onnx = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    np.testing.assert_allclose(onnx, out.live_score(x).detach().numpy(), atol=1e-4)
