"""A model assembled by hand, as README.md shows, through the whole harness: train(),
save_model, and the commands predict, export, explain and evaluate with --builder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from _fake_task import fake_task, tiny_config
from disentangle_fas.builders import resolve_builder
from disentangle_fas.checkpoint import load_model, read_metadata, save_model
from disentangle_fas.cli import main as cli_main
from disentangle_fas.losses import DisentanglementObjective
from disentangle_fas.training import ObjectiveMethod, train

pytestmark = pytest.mark.filterwarnings("ignore:.*no ImageNet weights")

BUILDER = """
from disentangle_fas.encoders import SharedStemEncoders
from disentangle_fas.heads import ContentDecoder, DomainClassifier, LMCLHead
from disentangle_fas.model import DisentangledFAS, normalize_layer


def build(config):
    enc = SharedStemEncoders(depth=config["depth"])
    d = enc.num_features
    return DisentangledFAS(
        enc,
        liveness_head=LMCLHead(d, scale=16.0, margin=0.35),
        domain_head=DomainClassifier(d, num_domains=3),
        content_decoder=ContentDecoder(d, (1, 8, 8), in_size=(1, 1)),
        normalize=normalize_layer(),
        image_size=config.get("image_size"),
    )
"""


@pytest.fixture
def builder_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "handbuilt.py").write_text(BUILDER)
    monkeypatch.chdir(tmp_path)  # the commands find the user's module in the working dir
    yield tmp_path
    sys.modules.pop("handbuilt", None)


def _train(tmp_path: Path, config: dict[str, int]) -> Path:
    sys.path.insert(0, str(tmp_path))
    try:
        from handbuilt import build  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    torch.manual_seed(0)
    model = build(config)
    objective = DisentanglementObjective(model.liveness_head, model.domain_head, variant="full")
    method = ObjectiveMethod(model, objective, uses_content=True, checkpoint_config=config,
                             builder="handbuilt:build")  # fmt: skip
    cfg = tiny_config(str(tmp_path / "run"), steps=6, eval_every=3, content_size=8)
    res = train(cfg, fake_task(), method=method)
    return Path(res.checkpoint)


def test_a_hand_built_model_goes_through_every_command(
    builder_module: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ck = _train(builder_module, {"depth": 10})  # no image size at construction
    meta = read_metadata(ck)
    assert meta["kind"] == "custom" and meta["config"] == {"depth": 10}
    assert meta["builder"] == "handbuilt:build" and meta["input"]["image_size"] == 32

    # Without --builder: one line naming what is needed and the stored hint.
    assert cli_main(["predict", "x.png", "--checkpoint", str(ck)]) != 0
    err = capsys.readouterr().err
    assert "--builder MODULE:FUNCTION" in err and "'handbuilt:build'" in err

    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray((rng.random((40, 40, 3)) * 255).astype(np.uint8)).save(f"face{i}.png")
    assert cli_main(["predict", "face0.png", "face1.png", "--json", "--checkpoint", str(ck),
                     "--face-detector", "none", "--builder", "handbuilt:build"]) == 0  # fmt: skip
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert len(rows) == 2 and rows[0]["p_live"] != rows[1]["p_live"]  # eval-mode scores vary

    pytest.importorskip("onnxruntime")
    onnx = builder_module / "m.onnx"
    assert cli_main(["export", "--onnx", str(onnx), "--checkpoint", str(ck),
                     "--builder", "handbuilt:build"]) == 0  # fmt: skip
    assert onnx.is_file()
    assert cli_main(["explain", "--checkpoint", str(ck), "--builder", "handbuilt:build",
                     "--out", "ex", "--num-samples", "2", "--probe-samples", "6",
                     "--domains", "O", "C"]) == 0  # fmt: skip
    assert (builder_module / "ex" / "report.md").is_file()
    assert cli_main(["evaluate", str(ck), "--builder", "handbuilt:build", "--task", "OCI->M",
                     "--synthetic-train-per-domain", "8",
                     "--synthetic-eval-per-domain", "8"]) == 0  # fmt: skip
    assert "Checkpoint policy: best_source_val" in capsys.readouterr().out


def test_a_saved_hand_built_model_reloads_through_its_builder(builder_module: Path) -> None:
    build = resolve_builder("handbuilt:build")
    model = build({"depth": 10, "image_size": 32}).eval()
    path = save_model(model, "mine.safetensors", config={"depth": 10, "image_size": 32},
                      builder="handbuilt:build")  # fmt: skip
    loaded = load_model(path, builder=build)
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model.live_score(x), model.live_score(x))
    assert loaded.input_spec is not None and loaded.input_spec.image_size == 32


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("handbuilt", "expected MODULE:FUNCTION"),
        ("no_such_module_here:build", "cannot import 'no_such_module_here'"),
        ("handbuilt:nope", "has no function 'nope'"),
    ],
)
def test_builder_names_are_checked(builder_module: Path, spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_builder(spec)


def test_the_readme_snippet_trains_saves_and_reloads(tmp_path: Path) -> None:
    import re

    from disentangle_fas.training import TrainConfig

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"## Compose your own model\n\n```python\n(.*?)```", readme, re.S)
    assert block is not None
    scope: dict[str, object] = {}
    exec(block.group(1), scope)  # the snippet as a user pastes it: one step, then P(live)
    model, objective = scope["model"], scope["objective"]
    assert scope["p_live"].shape == (6,)  # type: ignore[attr-defined]
    cfg = TrainConfig(out=str(tmp_path / "run"), steps=2, eval_every=2, batch_size=6,
                      image_size=64, content_size=32, synthetic_train_per_domain=4,
                      synthetic_eval_per_domain=4, warmup_steps=1, progress=False)  # fmt: skip
    with pytest.warns(UserWarning, match="states an input of 256 px but the run trains it at 64"):
        res = train(cfg, method=ObjectiveMethod(model, objective, uses_content=True))  # type: ignore[arg-type]
    assert read_metadata(res.checkpoint)["input"]["image_size"] == 64
    path = save_model(model, tmp_path / "mine.safetensors")  # type: ignore[arg-type]

    def rebuild(config: dict[str, object]) -> object:  # a fresh model from the snippet
        fresh: dict[str, object] = {}
        exec(block.group(1), fresh)  # type: ignore[union-attr]
        assert fresh["model"] is not model
        return fresh["model"]

    loaded = load_model(path, builder=rebuild)  # type: ignore[arg-type]
    x = torch.rand(2, 3, 256, 256)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model.live_score(x), model.eval().live_score(x))  # type: ignore[attr-defined]
