"""SSAN-R, SA-FAS and GAC-FAS in the harness: train, protocol, checkpoints, predict and ONNX
export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from _fake_task import fake_task, tiny_config
from disentangle_fas.checkpoint import load_model
from disentangle_fas.cli import main as cli_main
from disentangle_fas.methods.gac_fas import GACFAS
from disentangle_fas.methods.safas import SAFASMethod
from disentangle_fas.safas import SAFAS
from disentangle_fas.ssan import SSANR
from disentangle_fas.training import TrainConfig, train
from disentangle_fas.training.cli import protocol_main
from disentangle_fas.training.methods import build_method
from disentangle_fas.training.protocol import run_protocol

pytestmark = [
    pytest.mark.filterwarnings("ignore:resnet10. no ImageNet weights"),
    # InstanceNorm2d without running statistics always normalises with the input's own.
    pytest.mark.filterwarnings("ignore:ONNX export mode is set to TrainingMode.EVAL"),
]

EXPECTED = {
    "ssan-r": (SSANR, {"cls", "contrast", "adv"}),
    "sa-fas": (SAFAS, {"cls", "supcon"}),
    "gac-fas": (GACFAS, {"cls", "supcon"}),
}


@pytest.fixture(scope="module", params=["ssan-r", "sa-fas", "gac-fas"])
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    method = request.param
    out = tmp_path_factory.mktemp(method.replace("-", "")) / "run"
    res = train(tiny_config(str(out), method=method, steps=2, eval_every=2), fake_task())
    return method, out, res


def test_trains_in_the_loop_and_checkpoints_rebuild(trained) -> None:
    method, out, res = trained
    kind, terms = EXPECTED[method]
    loaded = load_model(res.checkpoint)
    assert isinstance(loaded.model, kind)
    assert loaded.config.image_size == 32  # type: ignore[union-attr]
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert terms <= set(rows[0])
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        scores = loaded.model.live_score(x)
    assert scores.shape == (3,) and bool(((scores >= 0) & (scores <= 1)).all())
    assert 0.0 <= res.metrics.auc <= 1.0


def test_predict_scores_a_checkpoint(
    trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    _, _, res = trained
    img = tmp_path / "face.png"
    Image.fromarray((np.random.default_rng(0).random((40, 40, 3)) * 255).astype(np.uint8)).save(img)
    code = cli_main(["predict", str(img), "--json", "--checkpoint", str(res.checkpoint),
                     "--face-detector", "none"])  # fmt: skip
    assert code == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["kind"] == "image" and 0.0 <= row["p_live"] <= 1.0


def test_onnx_export_matches_pytorch(trained, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from disentangle_fas.inference import OnnxLivenessModel

    _, _, res = trained
    onnx_path = tmp_path / "m.onnx"
    assert cli_main(["export", "--onnx", str(onnx_path), "--checkpoint", str(res.checkpoint)]) == 0
    model = load_model(res.checkpoint).model
    runner = OnnxLivenessModel(onnx_path)
    for batch in (1, 3):
        x = torch.rand(batch, 3, 32, 32, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            expected = model.live_score(x).numpy()
        assert np.abs(runner(x) - expected).max() < 1e-4


def test_safas_aligns_its_heads_after_the_steps(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[float] = []
    original = SAFASMethod.after_step

    def spy(self: SAFASMethod, progress: float) -> None:
        calls.append(progress)
        original(self, progress)

    monkeypatch.setattr(SAFASMethod, "after_step", spy)
    train(tiny_config(str(tmp_path / "r"), method="sa-fas", steps=3, eval_every=3), fake_task())
    assert calls == pytest.approx([1 / 3, 2 / 3, 1.0])  # progress after each step


def test_methods_build_from_the_run_config() -> None:
    cfg = TrainConfig(method="ssan-r", depth=10, image_size=32)
    method = build_method(cfg, fake_task(), warn_random=False)
    assert isinstance(method.model, SSANR)
    assert method.model.config is not None and method.model.config.assembly_stride == 1
    big = build_method(cfg.replace(image_size=64), fake_task(), warn_random=False)
    assert isinstance(big.model, SSANR) and big.model.config is not None
    assert big.model.config.assembly_stride == 2  # the official stride from 64 px on
    with pytest.raises(ValueError, match="backbone"):
        build_method(cfg.replace(backbone="mobilenet_v2"), fake_task(), warn_random=False)
    safas = build_method(cfg.replace(method="sa-fas"), fake_task(), warn_random=False)
    assert isinstance(safas.model, SAFAS) and safas.model.config is not None


def test_protocol_compares_both_methods_in_one_table(tmp_path: Path) -> None:
    cfg = TrainConfig(out=str(tmp_path), steps=2, eval_every=2, batch_size=6, depth=10,
                      image_size=32, warmup_steps=1, progress=False)  # fmt: skip
    res = run_protocol(cfg, tasks=["T1"], variants=["ssan-r", "sa-fas"],
                       task_builder=lambda c: fake_task(), echo=lambda s: None)  # fmt: skip
    md = res.to_markdown()
    # Each method: the summary tables (honest, oracle), then the seed's own two tables.
    assert md.count("| ssan-r |") == 4 and md.count("| sa-fas |") == 4
    assert "source_val_eer" in md and "oracle_target_eer" in md


def test_protocol_rejects_unknown_variants_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert protocol_main(["--variants", "full,ssan"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'ssan'" in err and "sa-fas" in err
