from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from disentangle_fas.inference import export_onnx
from test_inference_support import SIZE, build_model, build_ssdg


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("onnx")
    model = build_model(seed=3)
    path = export_onnx(model, tmp_path_factory.mktemp("onnx") / "m.onnx", threshold=0.37)
    return model, path


def _assert_runner_matches(runner, model, batches):
    """The ONNX runner's scores equal the model's ``live_score`` for each batch size."""
    for batch in batches:
        x = torch.rand(batch, 3, SIZE, SIZE)
        with torch.no_grad():
            expected = model.live_score(x).numpy()
        assert np.abs(runner(x) - expected).max() < 1e-4


@pytest.mark.parametrize("batch", [1, 7])
def test_onnx_runtime_matches_pytorch(exported, batch):
    pytest.importorskip("onnxruntime")
    from disentangle_fas.inference import OnnxLivenessModel

    model, path = exported
    runner = OnnxLivenessModel(path)
    x = torch.rand(batch, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(batch))
    with torch.no_grad():
        expected = model.live_score(x).numpy()
    out = runner(x)
    assert out.shape == (batch,) and out.dtype == np.float32
    assert np.abs(out - expected).max() < 1e-4
    assert np.abs(runner(x.numpy()) - expected).max() < 1e-4


def test_onnx_graph_contract_and_metadata(exported):
    onnx = pytest.importorskip("onnx")
    _, path = exported
    proto = onnx.load(str(path))
    (inp,) = proto.graph.input
    (out,) = proto.graph.output
    assert inp.name == "images" and out.name == "p_live"
    dims = inp.type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, SIZE, SIZE]
    assert out.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert len(out.type.tensor_type.shape.dim) == 1
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["image_size"] == str(SIZE) and float(meta["threshold"]) == 0.37
    # only E_L + C_L: no content decoder or domain classifier weights in the graph
    names = " ".join(i.name for i in proto.graph.initializer)
    assert "content_decoder" not in names and "domain_head" not in names


def test_runner_reads_threshold_and_size(exported):
    pytest.importorskip("onnxruntime")
    from disentangle_fas.inference import OnnxLivenessModel

    runner = OnnxLivenessModel(exported[1], intra_op_threads=1)
    assert runner.threshold == 0.37 and runner.image_size == SIZE


def test_export_leaves_the_model_as_it_was(tmp_path):
    pytest.importorskip("onnx")
    model = build_model()
    model.config, model.image_size = None, None  # a hand-assembled model of unknown size
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    export_onnx(model, tmp_path / "m.onnx", image_size=SIZE)
    assert model.training
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(ValueError, match="image_size"):
        export_onnx(model, tmp_path / "n.onnx")


def test_other_image_size(tmp_path):
    pytest.importorskip("onnxruntime")
    from disentangle_fas.inference import OnnxLivenessModel

    model = build_model(seed=4)
    path = export_onnx(model, tmp_path / "m48.onnx", image_size=48, opset=18)
    x = torch.rand(2, 3, 48, 48)
    with torch.no_grad():
        expected = model.live_score(x).numpy()
    assert np.abs(OnnxLivenessModel(path)(x) - expected).max() < 1e-4


def test_ssdg_r_export_matches_pytorch(tmp_path):
    pytest.importorskip("onnxruntime")
    from disentangle_fas.inference import OnnxLivenessModel

    model = build_ssdg(seed=2)
    with pytest.raises(ValueError, match="image_size"):
        export_onnx(model, tmp_path / "s.onnx")
    path = export_onnx(model, tmp_path / "s.onnx", image_size=SIZE)
    _assert_runner_matches(OnnxLivenessModel(path), model, (1, 4))


def test_missing_onnx_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "disentangle-fas\[onnx\]"'):
        export_onnx(build_model(), tmp_path / "m.onnx")


def test_missing_onnxruntime_names_the_extra(tmp_path, monkeypatch):
    from disentangle_fas.inference import OnnxLivenessModel

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r'pip install "disentangle-fas\[onnx\]"'):
        OnnxLivenessModel(tmp_path / "m.onnx")


def test_unknown_exporter(tmp_path):
    pytest.importorskip("onnx")
    with pytest.raises(ValueError, match="exporter"):
        export_onnx(build_model(), tmp_path / "m.onnx", exporter="tflite")  # type: ignore[arg-type]


@pytest.mark.slow
def test_dynamo_exporter_matches_pytorch(tmp_path):
    pytest.importorskip("onnxscript")
    pytest.importorskip("onnxruntime")
    from disentangle_fas.inference import OnnxLivenessModel

    model = build_model(seed=5)
    path = export_onnx(model, tmp_path / "d.onnx", exporter="dynamo", opset=18)
    _assert_runner_matches(OnnxLivenessModel(path), model, (1, 5))
