"""GAC-FAS: its losses against numpy, its step against a hand-written SAM step and a numpy
logistic regression, the weights and statistics it restores, and the loop's backward hook
with a toy method."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from _fake_task import fake_task, tiny_config
from disentangle_fas.contracts import Losses, compute_gradients, loss_backward
from disentangle_fas.methods.common.context import MethodContext
from disentangle_fas.methods.common.training import ObjectiveMethod
from disentangle_fas.methods.gac_fas import (
    GACFASConfig,
    GACFASMethod,
    ascent_directions,
    domain_losses,
    gac_backward,
    random_cutout,
)
from disentangle_fas.methods.ssdg import SSDGR, SSDGConfig
from disentangle_fas.training import train

pytestmark = pytest.mark.filterwarnings("ignore:.*no ImageNet weights")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _bce(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    return -(y * np.log(_sigmoid(z)) + (1 - y) * np.log(1 - _sigmoid(z)))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_domain_losses_equal_a_numpy_loop(n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    z, y, d = rng.normal(size=n) * 3, rng.integers(0, 2, n), rng.integers(0, k, n)
    got = domain_losses(torch.tensor(z), torch.tensor(y), torch.tensor(d), k).numpy()
    for j in range(k):
        rows = d == j
        want = _bce(z[rows], y[rows]).mean() / k if rows.any() else 0.0
        assert got[j] == pytest.approx(want, rel=1e-9, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.booleans(), st.floats(0, 0.5), st.integers(0, 2**31 - 1))
def test_ascent_directions_equal_a_numpy_loop(
    k: int, adaptive: bool, eta: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    shapes = [(3, 2), (2,), (4,)]
    names = ["conv.weight", "conv.bias", "bn.weight"]
    w = [rng.normal(size=s) for s in shapes]
    g = [[rng.normal(size=s) for s in shapes] for _ in range(k)]
    rho, alpha = 0.3, 0.01
    got = ascent_directions(names, [torch.tensor(a) for a in w],
                            [[torch.tensor(a) for a in gk] for gk in g], rho=rho, alpha=alpha,
                            eta=eta, adaptive=adaptive)  # fmt: skip
    scale = [np.abs(a) + eta if adaptive and n.endswith("weight") else np.ones_like(a)
             for n, a in zip(names, w, strict=True)]  # fmt: skip
    for j in range(k):
        norm = np.sqrt(sum(float(((t * gj) ** 2).sum()) for t, gj in zip(scale, g[j], strict=True)))
        for i in range(len(shapes)):
            erm = sum(g[m][i] for m in range(k))
            want = rho * scale[i] ** 2 * g[j][i] / norm - alpha * erm
            np.testing.assert_allclose(got[j][i].numpy(), want, rtol=1e-10, atol=1e-12)


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)[:, 0]


def test_one_domain_without_alignment_is_erm_plus_a_hand_written_sam_step() -> None:
    torch.manual_seed(1)
    x, y = torch.randn(10, 4, dtype=torch.float64), torch.randint(0, 2, (10,)).double()
    net = _Net().double()
    loss_fn = nn.functional.binary_cross_entropy_with_logits

    # Hand-written: SAM's ascent eps = rho g / ||g||, then the gradient there; plus ERM's.
    params = list(net.parameters())
    g = torch.autograd.grad(loss_fn(net(x), y), params)
    norm = torch.sqrt(sum((gi**2).sum() for gi in g))
    with torch.no_grad():
        for p, gi in zip(params, g, strict=True):
            p.add_(0.05 * gi / norm)
    g_sam = torch.autograd.grad(loss_fn(net(x), y), params)
    with torch.no_grad():
        for p, gi in zip(params, g, strict=True):
            p.sub_(0.05 * gi / norm)
    want = [a + b for a, b in zip(g, g_sam, strict=True)]

    net.zero_grad()
    loss = loss_fn(net(x), y)
    gac_backward(net, loss[None], loss, lambda: loss_fn(net(x), y), rho=0.05, alpha=0.0,
                 adaptive=False)  # fmt: skip
    for p, w in zip(params, want, strict=True):
        torch.testing.assert_close(p.grad, w, rtol=1e-10, atol=1e-12)


def test_the_step_equals_a_numpy_logistic_regression() -> None:
    # Logistic regression z = x . v + c: per-domain gradients, ascents, and the gradients
    # at the ascent points all in closed form.
    rng = np.random.default_rng(3)
    n, dim, k, rho, alpha, eta = 24, 5, 3, 0.2, 0.05, 0.1
    x, y, d = rng.normal(size=(n, dim)), rng.integers(0, 2, n).astype(float), np.arange(n) % k
    v, c = rng.normal(size=dim), np.array([0.3])

    def grads(v_: np.ndarray, c_: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = (_sigmoid(x[rows] @ v_ + c_[0]) - y[rows]) / rows.sum() / k
        return r @ x[rows], np.array([r.sum()])

    g = [grads(v, c, d == j) for j in range(k)]
    erm = (sum(gj[0] for gj in g), sum(gj[1] for gj in g))
    total_v, total_c = np.zeros(dim), np.zeros(1)
    for j in range(k):
        t_v = np.abs(v) + eta  # "weight": scaled; "bias": not
        norm = np.sqrt(((t_v * g[j][0]) ** 2).sum() + (g[j][1] ** 2).sum())
        ev = rho * t_v**2 * g[j][0] / norm - alpha * erm[0]
        ec = rho * g[j][1] / norm - alpha * erm[1]
        pv, pc = np.zeros(dim), np.zeros(1)
        for m in range(k):
            a, b = grads(v + ev, c + ec, d == m)
            pv, pc = pv + a, pc + b
        total_v, total_c = total_v + pv / k, total_c + pc / k
    want_v, want_c = erm[0] + total_v, erm[1] + total_c

    lin = nn.Linear(dim, 1).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(v)[None])
        lin.bias.copy_(torch.tensor(c))
    xt, yt, dt = torch.tensor(x), torch.tensor(y).long(), torch.tensor(d)

    def loss_at() -> Tensor:
        return domain_losses(lin(xt)[:, 0], yt, dt, k).sum()

    per = domain_losses(lin(xt)[:, 0], yt, dt, k)
    gac_backward(lin, per, per.sum(), loss_at, rho=rho, alpha=alpha, eta=eta, adaptive=True)
    np.testing.assert_allclose(lin.weight.grad.numpy()[0], want_v, rtol=1e-9)
    np.testing.assert_allclose(lin.bias.grad.numpy(), want_c, rtol=1e-9)


def test_the_step_restores_weights_and_batchnorm_statistics() -> None:
    net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Linear(6, 1))
    x, y = torch.randn(12, 4), torch.randint(0, 2, (12,)).float()
    loss_fn = nn.functional.binary_cross_entropy_with_logits
    loss = loss_fn(net(x)[:, 0], y)  # the step's own forward updates the statistics once
    before = {k: v.clone() for k, v in net.state_dict().items()}
    eps = gac_backward(net, torch.stack([loss / 2, loss / 2]), loss,
                       lambda: loss_fn(net(x)[:, 0], y), rho=0.5, alpha=0.1)  # fmt: skip
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert len(eps) == 2 and any(float(e.abs().sum()) > 0 for e in eps[0])


def _method(**settings: object) -> GACFASMethod:
    ctx = MethodContext(source_names=("O", "C", "I"), depth=10, image_size=32, seed=0, settings=settings,
                        warn_random=False)  # fmt: skip
    torch.manual_seed(0)  # the same initial weights for every method built here
    return GACFASMethod(ctx)


def test_released_mode_is_plain_erm_and_the_ascent_changes_the_gradient() -> None:
    images = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    labels, domains = torch.tensor([1, 0, 1, 0, 1, 0]), torch.tensor([0, 0, 1, 1, 2, 2])

    def gradient(method: GACFASMethod, progress: float) -> list[Tensor]:
        method.model.zero_grad()
        method.generator.manual_seed(5)
        compute_gradients(method, method.model, images, labels, domains, None, progress)
        return [p.grad.clone() for p in method.model.parameters()]

    released = _method(released=True)
    erm = gradient(released, 0.9)
    ours = _method()
    assert [torch.equal(a, b) for a, b in zip(gradient(ours, 0.0), erm, strict=True)] == [
        True
    ] * len(erm)
    ascended = gradient(ours, 0.9)  # after ascent_start: every parameter moves differently
    changed = [not torch.allclose(a, b) for a, b in zip(ascended, erm, strict=True)]
    assert sum(changed) >= len(changed) - 1  # the last BN bias may see no ascent difference
    assert all(torch.isfinite(g).all() for g in ascended)


def test_cutout_boxes_take_their_mean_and_p_zero_is_identity() -> None:
    x = torch.rand(8, 3, 16, 16)
    assert torch.equal(random_cutout(x, 0.0), x)
    out = random_cutout(x, 1.0, generator=torch.Generator().manual_seed(0))
    changed = (out != x).any(dim=1)
    assert bool(changed.any()) and torch.equal(x[~changed[:, None].expand_as(x)],
                                               out[~changed[:, None].expand_as(x)])  # fmt: skip
    with pytest.raises(ValueError, match="p must lie in"):
        random_cutout(x, 1.5)


def test_config_refuses_bad_values() -> None:
    with pytest.raises(ValueError, match="rho must be finite and >= 0"):
        GACFASConfig(num_domains=3, rho=-1.0)
    with pytest.raises(ValueError, match="ascent_start must lie in"):
        GACFASConfig(num_domains=3, ascent_start=2.0)


class _ToyMethod(ObjectiveMethod):
    """A method that owns its backward: it counts the calls and leaves no gradient."""

    calls = 0

    def backward(self, step_model: nn.Module, images: Tensor, labels: Tensor, domains: Tensor,
                 content_target: Tensor | None, progress: float, **kwargs: object) -> Losses:  # fmt: skip
        _ToyMethod.calls += 1
        with torch.no_grad():
            losses = self.loss(step_model, images, labels, domains, content_target, progress)
        return Losses(losses.total, losses.terms)


def test_the_loop_steps_with_the_gradient_a_method_leaves(tmp_path: Path) -> None:
    def objective(out: object, labels: Tensor, domains: Tensor, target: object) -> Tensor:
        return out.logits.float().pow(2).mean()  # type: ignore[attr-defined]

    model = SSDGR.from_config(SSDGConfig(num_domains=3, depth=10, image_size=32),
                              warn_random=False)  # fmt: skip
    start = {k: v.clone() for k, v in model.state_dict().items() if "running" not in k}
    toy = _ToyMethod(model, objective)
    train(tiny_config(str(tmp_path / "toy"), steps=3, eval_every=3), fake_task(), method=toy)
    assert _ToyMethod.calls == 3
    # No gradient left, so AdamW skipped every parameter: the weights are unchanged.
    end = model.state_dict()
    assert all(torch.equal(start[k], end[k]) for k in start if "num_batches" not in k)
    # The default rule is one backward pass of the loss.
    plain = ObjectiveMethod(model, objective)
    model.zero_grad()
    losses = loss_backward(plain, model, torch.rand(6, 3, 32, 32), torch.tensor([1, 0] * 3),
                           torch.tensor([0, 0, 1, 1, 2, 2]), None, 0.0)  # fmt: skip
    assert losses.total.requires_grad and any(p.grad is not None for p in model.parameters())
