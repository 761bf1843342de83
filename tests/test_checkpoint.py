from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from disentangle_fas.checkpoint import (
    liveness_only,
    load_model,
    read_metadata,
    save_liveness_model,
    save_model,
)
from disentangle_fas.contracts import InputSpec
from disentangle_fas.errors import NonFiniteWeightsError
from disentangle_fas.model import DisentangledFAS, ModelConfig


def _model(variant: str = "full") -> DisentangledFAS:
    torch.manual_seed(0)
    cfg = ModelConfig(
        num_domains=3, variant=variant, depth=10, image_size=32, content_shape=(1, 8, 8)
    )
    return DisentangledFAS.from_config(cfg, warn_random=False)


def test_round_trip(tmp_path: Path) -> None:
    m = _model()
    with torch.no_grad():
        m.liveness_head.weight.mul_(3.0)
    path = save_model(
        m, tmp_path / "ck.safetensors", threshold=0.42, threshold_strategy="fixed", info={"step": 7}
    )
    loaded = load_model(path)
    assert loaded.config == m.config
    assert loaded.threshold == pytest.approx(0.42)
    assert loaded.threshold_strategy == "fixed"
    assert loaded.info == {"step": 7}
    for (k, a), (_, b) in zip(
        m.state_dict().items(), loaded.model.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=k)
    assert loaded.model.encoders.liveness.stem is loaded.model.encoders.stem  # sharing survives
    x = torch.rand(2, 3, 32, 32)
    m.eval()
    torch.testing.assert_close(loaded.model.live_score(x), m.live_score(x))
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_liveness_only_checkpoint(tmp_path: Path) -> None:
    m = _model().eval()
    small = liveness_only(m)
    assert small.encoders.content is None and small.encoders.domain is None
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in m.parameters()) / 2
    path = save_liveness_model(m, tmp_path / "live.safetensors", threshold=0.3)
    loaded = load_model(path)
    assert loaded.config.variant == "baseline"
    x = torch.rand(3, 3, 32, 32)
    torch.testing.assert_close(loaded.model.live_score(x), m.live_score(x))


def test_bad_files_are_explained(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "none.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a safetensors"):
        read_metadata(junk)
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    with pytest.raises(ValueError, match="not a disentangle-fas checkpoint"):
        load_model(other)


def test_hand_assembled_model_is_saved_for_its_builder(tmp_path: Path) -> None:
    m = _model()
    m.config = None  # as assembled by hand: no config rebuilds it
    path = save_model(m, tmp_path / "x.safetensors", input_spec=InputSpec(32), builder="me:build")
    meta = read_metadata(path)
    assert meta["kind"] == "custom" and meta["builder"] == "me:build"
    assert meta["class"].endswith("DisentangledFAS")
    with pytest.raises(ValueError, match=r"custom model .*DisentangledFAS.*'me:build'.*--builder"):
        load_model(path)

    def blank(config: dict[str, object]) -> DisentangledFAS:
        fresh = _model()
        with torch.no_grad():
            for p in fresh.parameters():
                p.zero_()  # nothing of m's weights until the file is loaded
        return fresh

    rebuilt = load_model(path, builder=blank)
    assert all(torch.equal(a, b) for a, b in zip(rebuilt.model.state_dict().values(),
                                                 m.state_dict().values(), strict=True))  # fmt: skip


def test_config_round_trip() -> None:
    cfg = ModelConfig(num_domains=4, variant="domain", content_shape=(3, 16, 16), domain_hidden=64)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        ModelConfig(num_domains=2, variant="bogus")


def test_save_model_takes_the_model_first_and_still_reads_the_former_order(
    tmp_path: Path,
) -> None:
    m = DisentangledFAS.build(num_domains=2, variant="baseline", depth=10, image_size=32,
                              warn_random=False)  # fmt: skip
    new = save_model(m, tmp_path / "new.safetensors")
    with pytest.warns(DeprecationWarning, match="pass the model first"):
        old = save_model(tmp_path / "old.safetensors", m)  # type: ignore[arg-type]
    assert new.read_bytes() == old.read_bytes()
    with pytest.raises(TypeError, match="path must be a str or path"):
        save_model(m, m)  # type: ignore[arg-type]


def test_a_checkpoint_stating_a_huge_input_is_refused_before_anything_is_allocated(
    tmp_path: Path,
) -> None:
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file

    from disentangle_fas.checkpoint import _META_KEY
    from disentangle_fas.contracts import MAX_IMAGE_SIZE
    from disentangle_fas.inference.cli import export_main

    path = save_model(_model(), tmp_path / "m.safetensors")
    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()[_META_KEY])
    meta["input"]["image_size"] = 100000  # a crafted file
    bad = tmp_path / "bad.safetensors"
    save_file(load_file(str(path)), str(bad), metadata={_META_KEY: json.dumps(meta)})
    with pytest.raises(ValueError, match=rf"image_size must lie in \[1, {MAX_IMAGE_SIZE}\]"):
        load_model(bad)
    assert export_main(["--checkpoint", str(path), "--liveness", str(tmp_path / "l.st"),
                        "--image-size", str(MAX_IMAGE_SIZE + 1)]) == 2  # fmt: skip


def _rewrite(path: Path, dest: Path, *, meta_change=None, tensor_change=None) -> Path:  # type: ignore[no-untyped-def]
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file

    from disentangle_fas.checkpoint import _META_KEY

    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()[_META_KEY])
    tensors = load_file(str(path))
    if meta_change:
        meta_change(meta)
    if tensor_change:
        tensor_change(tensors)
    save_file(tensors, str(dest), metadata={_META_KEY: json.dumps(meta)})
    return dest


def test_bad_weights_and_thresholds_are_refused_not_scored(tmp_path: Path) -> None:
    path = save_model(_model(), tmp_path / "m.safetensors", threshold=0.4)
    assert load_model(path).threshold == 0.4
    for value in (-1.0, 2.5, "0.5", None):
        bad = _rewrite(path, tmp_path / "t.safetensors",
                       meta_change=lambda m, v=value: m.update(threshold=v))  # fmt: skip
        if value is None:
            assert load_model(bad).threshold == 0.5  # none stored: the default
            continue
        with pytest.raises(ValueError, match="threshold"):
            load_model(bad)

    def nan(t: dict[str, torch.Tensor]) -> None:
        key = next(k for k, v in t.items() if v.is_floating_point() and v.ndim > 1)
        t[key] = t[key].clone().fill_(float("nan"))

    with pytest.raises(NonFiniteWeightsError, match="NaN or infinite values"):
        load_model(_rewrite(path, tmp_path / "nan.safetensors", tensor_change=nan))

    def int8(t: dict[str, torch.Tensor]) -> None:
        for k, v in list(t.items()):
            if v.is_floating_point():
                t[k] = v.to(torch.int8)

    with pytest.raises(ValueError, match=r"of the wrong kind.*int8 where the model holds"):
        load_model(_rewrite(path, tmp_path / "int8.safetensors", tensor_change=int8))
