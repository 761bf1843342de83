"""Training on a packed store of real-data layout (built here from the synthetic benchmark)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from disentangle_fas.data.store import pack_store
from disentangle_fas.synthetic import SyntheticFAS, export_synthetic
from disentangle_fas.targets import PRNet, save_prnet
from disentangle_fas.training import TrainConfig, train
from disentangle_fas.training.tasks import build_store_task

pytestmark = pytest.mark.filterwarnings("ignore:SharedStemEncoders. no ImageNet weights")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fas")
    manifests = []
    for code in ("O", "C", "I", "M"):
        for split in ("train", "test"):
            ds = SyntheticFAS([code], samples_per_domain=8, image_size=32, split=split, seed=3)
            manifests.append(
                export_synthetic(ds, root / "export" / f"{code}_{split}", manifest="manifest.jsonl")
            )
    pack_store(manifests, root / "store", progress=False, workers=1)
    return root / "store"


def test_store_task_follows_the_protocol(store: Path) -> None:
    task = build_store_task(
        TrainConfig(data=str(store), task="OCI->M", image_size=32, variant="baseline")
    )
    assert task.source_names == ["O", "C", "I"] and task.target_name == "M"
    assert len(task.train) + len(task.source_val) == 3 * 16  # train + test splits of 3 sources
    assert len(task.source_val) > 0 and len(task.target_test) == 16
    train_videos = {task.train[i].video_id for i in range(len(task.train))}
    val_videos = {task.source_val[i].video_id for i in range(len(task.source_val))}
    assert not train_videos & val_videos  # held out by video
    assert sorted(set(task.train_domains.tolist())) == [0, 1, 2]


@pytest.mark.slow
def test_train_on_store_with_cached_prnet_target(store: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    weights = tmp_path / "prnet.safetensors"
    save_prnet(PRNet().eval(), weights)  # a stand-in weights file: the pipeline is under test
    cfg = TrainConfig(
        data=str(store), task="OCI->M", image_size=32, content_size=8, variant="full", depth=10,
        steps=2, eval_every=2, batch_size=6, warmup_steps=1, progress=False, out=str(tmp_path / "run"),
        prnet_weights=str(weights),
    )  # fmt: skip
    res = train(cfg)
    assert res.metrics.task == "OCI->M"
    cache_dirs = list((store / "target_cache").glob("**/meta.json")) or list(
        (tmp_path / "run" / "target_cache").glob("**/meta.json")
    )
    assert cache_dirs, "the PRNet targets were not cached"
