from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from _fake_task import fake_task, tiny_config
from disentangle_fas.checkpoint import load_model
from disentangle_fas.training import NonFiniteLossError, TrainConfig, lr_at, parse_config, train
from disentangle_fas.training.config_io import load_config
from disentangle_fas.training.methods import check_method_settings
from disentangle_fas.training.state import load_training_state

pytestmark = pytest.mark.filterwarnings("ignore:SharedStemEncoders. no ImageNet weights")


def _cfg(tmp_path: Path, **kw: object) -> TrainConfig:
    return tiny_config(str(tmp_path / "run"), **kw)


@pytest.mark.parametrize("variant", ["baseline", "content", "domain", "full"])
def test_end_to_end_each_variant(tmp_path: Path, variant: str) -> None:
    res = train(_cfg(tmp_path, variant=variant), fake_task())
    assert res.steps == 4
    assert 0.0 <= res.metrics.hter <= 1.0 and 0.0 <= res.metrics.auc <= 1.0
    assert res.metrics.threshold_strategy.value == "source_val_eer"
    assert res.metrics.checkpoint_policy.value == "best_source_val"
    loaded = load_model(res.checkpoint)
    assert loaded.config.variant == variant
    assert loaded.threshold_strategy == "source_val_eer"
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if r["kind"] == "train"]
    assert [r["step"] for r in train_rows] == [1, 2, 3, 4]
    assert all(torch.isfinite(torch.tensor(r["total"])) for r in train_rows)
    assert len([r for r in rows if r["kind"] == "eval"]) == 2
    assert (tmp_path / "run" / "result.json").is_file()


@pytest.mark.filterwarnings("ignore:resnet10. no ImageNet weights")
@pytest.mark.parametrize("method", ["disentangle", "ssdg-r", "ssan-r", "sa-fas", "gac-fas"])
def test_resume_is_bit_identical(tmp_path: Path, method: str) -> None:
    # Each compared method draws its own randomness (SSDG-R's dropout, SSAN-R's style
    # shuffle, SA-FAS's and GAC-FAS's views): a resumed run must continue those streams, not
    # restart them; GAC-FAS's ascent restores the weights and statistics it perturbs.
    task = fake_task()
    full = train(_cfg(tmp_path / "a", method=method, steps=6, eval_every=3), task)
    # "Kill" a run after step 3: train to 3 with the same schedule, then resume to 6.
    part = _cfg(tmp_path / "b", method=method, steps=6, eval_every=3)
    _train_until(part, task, stop_after=3)
    resumed = train(part.replace(resume=True), task)
    a = load_model(Path(full.checkpoint).parent / "last.safetensors").model.state_dict()
    b = load_model(Path(resumed.checkpoint).parent / "last.safetensors").model.state_dict()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert resumed.history == full.history


def _train_until(cfg: TrainConfig, task: object, stop_after: int) -> None:
    """Run the real loop and interrupt it right after the state of ``stop_after`` is saved."""
    import disentangle_fas.training.loop as loop

    real = loop.save_training_state

    class KilledError(Exception):
        pass

    def save_then_die(*args: object, **kwargs: object) -> Path:
        path = real(*args, **kwargs)  # type: ignore[arg-type]
        if kwargs["step"] == stop_after:
            raise KilledError
        return path

    loop.save_training_state = save_then_die  # type: ignore[assignment]
    try:
        with pytest.raises(KilledError):
            train(cfg, task)  # type: ignore[arg-type]
    finally:
        loop.save_training_state = real
    state = Path(cfg.out) / "state.safetensors"
    assert state.is_file()


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path: Path) -> None:
    task = fake_task()
    cfg = _cfg(tmp_path, steps=4, eval_every=2)
    _train_until(cfg, task, stop_after=2)
    state = Path(cfg.out) / "state.safetensors"
    before = state.read_bytes()
    bad = cfg.replace(resume=True, allow_config_change=True, lr=1e30, grad_clip=0.0, w_cont=1e38)
    with pytest.raises(NonFiniteLossError, match="non-finite loss"):
        train(bad, task)
    assert state.read_bytes() == before


def test_lr_schedule() -> None:
    cfg = TrainConfig(lr=1.0, steps=100, warmup_steps=10)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(10, cfg) == pytest.approx(1.0)
    assert lr_at(99, cfg) < 0.05
    assert all(lr_at(s, cfg) >= lr_at(s + 1, cfg) for s in range(10, 99))


def test_config_file_and_flags(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('variant = "baseline"\nlr = 2\nsteps = 7\n')
    cfg = load_config(toml)
    assert (cfg.method_settings["variant"], cfg.lr, cfg.steps) == ("baseline", 2.0, 7)
    cfg2 = parse_config(["--config", str(toml), "--steps", "9", "--no-amp"])
    assert (cfg2.method_settings["variant"], cfg2.steps, cfg2.amp) == ("baseline", 9, False)
    yml = tmp_path / "c.yaml"
    yml.write_text("depth: 34\n")
    assert load_config(yml).depth == 34
    run_config = tmp_path / "config.json"  # what a run folder stores
    run_config.write_text(json.dumps(cfg2.to_dict()))
    assert load_config(run_config) == cfg2
    run_config.write_text("{steps: 1}")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_config(run_config)
    bad = tmp_path / "bad.toml"
    bad.write_text("lerning_rate = 1\n")
    with pytest.raises(ValueError, match="unknown config fields"):
        load_config(bad)
    bad.write_text('steps = "many"\n')
    with pytest.raises(TypeError, match="steps"):
        load_config(bad)
    with pytest.raises(ValueError, match="variant must be one of"):
        check_method_settings(TrainConfig(variant="everything"))


def test_state_file_round_trip(tmp_path: Path) -> None:
    res = train(_cfg(tmp_path, steps=2, eval_every=2, variant="baseline"), fake_task())
    from disentangle_fas.model import DisentangledFAS

    model = DisentangledFAS.from_config(load_model(res.checkpoint).config, warn_random=False)
    opt = torch.optim.AdamW(model.parameters())
    gen = torch.Generator()
    st = load_training_state(
        Path(res.checkpoint).parent / "state.safetensors",
        model=model,
        optimizer=opt,
        generators={"aug": gen},
    )
    assert st.step == 2 and len(st.history) == 1
    assert len(opt.state) == len(list(model.parameters()))


def test_ssdg_r_trains_in_the_same_loop(tmp_path: Path) -> None:
    res = train(_cfg(tmp_path, method="ssdg-r", steps=2, eval_every=2), fake_task())
    loaded = load_model(res.checkpoint)
    from disentangle_fas.ssdg import SSDGR

    assert isinstance(loaded.model, SSDGR)
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert {"cls", "adv", "trip"} <= set(rows[0])
    x = torch.rand(2, 3, 32, 32)
    assert loaded.model.live_score(x).shape == (2,)


def test_a_method_generator_must_be_a_torch_generator(tmp_path: Path) -> None:
    from disentangle_fas.losses import DisentanglementObjective
    from disentangle_fas.model import DisentangledFAS
    from disentangle_fas.training.methods import ObjectiveMethod

    model = DisentangledFAS.build(
        num_domains=3, variant="baseline", depth=10, image_size=32, warn_random=False
    )
    method = ObjectiveMethod(
        model, DisentanglementObjective(model.liveness_head, None, variant="baseline")
    )
    method.generators = {"views": 7}  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="'views' is a int"):
        train(_cfg(tmp_path, variant="baseline"), fake_task(), method=method)
