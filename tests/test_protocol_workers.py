"""The protocol's worker processes, the disk cache of rendered synthetic splits, and the
synthetic held-out sets' multi-frame videos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import disentangle_fas.synthetic.dataset as dataset_module
from _fake_task import fake_task, fake_task_builder
from disentangle_fas.synthetic import SyntheticFAS
from disentangle_fas.synthetic.cache import (
    CACHE_ENV,
    default_cache_dir,
    read_rendered,
    write_rendered,
)
from disentangle_fas.training import TrainConfig
from disentangle_fas.training.protocol import default_workers, run_protocol
from disentangle_fas.training.scoring import evaluate_model
from disentangle_fas.training.tasks import synthetic_splits, synthetic_task


def _cfg(out: Path) -> TrainConfig:
    return TrainConfig(out=str(out), steps=4, eval_every=2, batch_size=6, depth=10,
                       image_size=32, warmup_steps=1, progress=False, device="cpu")  # fmt: skip


def test_results_do_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    kw: dict = dict(tasks=["T1"], variants=["full", "baseline"], seeds=2,
                    task_builder=fake_task_builder, echo=lambda _: None, keep="none")  # fmt: skip
    one = run_protocol(_cfg(tmp_path / "one"), workers=1, **kw)
    two = run_protocol(_cfg(tmp_path / "two"), workers=2, **kw)
    assert [(r.variant, r.seed) for r in one.records] == [
        ("full", 0), ("baseline", 0), ("full", 1), ("baseline", 1)
    ]  # fmt: skip
    assert [(r.variant, r.task, r.seed) for r in two.records] == [
        (r.variant, r.task, r.seed) for r in one.records
    ]
    for a, b in zip(one.records, two.records, strict=True):
        assert a.history == b.history  # every evaluation, bit for bit
        assert a.result == b.result
    # The tables say what the results depend on (one torch thread per run), not how many
    # processes did the runs: the same tables whichever way the runs were done.
    assert one.env == two.env and one.env["threads"] == 1 and "workers" not in one.env
    assert (tmp_path / "one" / "results.md").read_text() == (
        tmp_path / "two" / "results.md"
    ).read_text()
    assert one.summary is not None and two.summary is not None
    assert one.summary.to_dict() == two.summary.to_dict()


def test_workers_refuse_what_cannot_reach_a_worker_before_any_run(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="task_builder cannot go to a worker process"):
        run_protocol(_cfg(tmp_path), tasks=["T1"], variants=["baseline"],
                     task_builder=lambda c: fake_task(), workers=2)  # fmt: skip
    assert not (tmp_path / "baseline").exists()
    with pytest.raises(ValueError, match="workers"):
        run_protocol(_cfg(tmp_path), tasks=["T1"], task_builder=fake_task_builder, workers=0)


def test_one_worker_runs_with_one_torch_thread_and_restores_the_count(tmp_path: Path) -> None:
    seen: list[int] = []

    def after_run(*_: object) -> None:
        seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    run_protocol(_cfg(tmp_path), tasks=["T1"], variants=["baseline"], after_run=after_run,
                 task_builder=lambda c: fake_task(), echo=lambda _: None)  # fmt: skip
    assert seen == [1] and torch.get_num_threads() == before


def test_default_workers_is_one_per_available_core_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import disentangle_fas.training.protocol_jobs as jobs

    monkeypatch.setattr(jobs.os, "sched_getaffinity", lambda _: {0, 2, 5}, raising=False)
    assert default_workers("cpu") == 3


def test_rendered_splits_are_cached_on_disk_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kw: dict = dict(samples_per_domain=6, image_size=32, split="dev", seed=3,
                    frames_per_video=2, pre_render=True, cache_dir=tmp_path)  # fmt: skip
    first = SyntheticFAS(["C"], **kw)
    files = list(tmp_path.glob("*.npz"))
    assert [f.name for f in files] == [f"{first.render_key()}.npz"]

    def no_render(*_: object) -> None:
        raise AssertionError("rendered again")

    monkeypatch.setattr(dataset_module, "render_sample", no_render)
    again = SyntheticFAS(["C"], **kw)  # read from the cache: no rendering
    assert np.array_equal(again.images_uint8(range(6)), first.images_uint8(range(6)))
    assert torch.equal(again.geometry(4), first.geometry(4))
    # Every argument that changes the renders changes the key (so it is rendered again).
    for change in ({"seed": 4}, {"frames_per_video": 3}, {"split": "test"}, {"image_size": 40}):
        with pytest.raises(AssertionError, match="rendered again"):
            SyntheticFAS(["C"], **{**kw, **change})
    monkeypatch.setattr(first, "generator_version", first.generator_version + 1)
    assert first.render_key() != again.render_key()


def test_a_damaged_cache_file_is_rendered_again(tmp_path: Path) -> None:
    kw: dict = dict(samples_per_domain=4, image_size=32, split="train", pre_render=True,
                    cache_dir=tmp_path)  # fmt: skip
    good = SyntheticFAS(["O"], **kw)
    (path,) = tmp_path.glob("*.npz")
    path.write_bytes(b"not a zip file")
    assert read_rendered(tmp_path, good.render_key(), 4, 32) is None
    again = SyntheticFAS(["O"], **kw)
    assert np.array_equal(again.images_uint8(range(4)), good.images_uint8(range(4)))
    assert read_rendered(tmp_path, good.render_key(), 4, 32) is not None  # rewritten
    assert read_rendered(tmp_path, good.render_key(), 5, 32) is None  # another layout


def test_an_unwritable_cache_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = {"image": np.zeros((1, 32, 32, 3), np.uint8)}
    assert write_rendered(blocker / "sub", "k", store | _maps(1, 32)) is None


def _maps(n: int, h: int) -> dict[str, np.ndarray]:
    return {
        "position": np.zeros((n, 3, h, h), np.float16),
        "depth": np.zeros((n, 1, h, h), np.float16),
        "face": np.zeros((n, h, h), bool),
        "landmarks": np.zeros((n, 10, 2), np.float32),
    }


def test_the_cache_folder_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert default_cache_dir() == tmp_path / "synthetic"
    for off in ("off", "none", "0", ""):
        monkeypatch.setenv(CACHE_ENV, off)
        assert default_cache_dir() is None
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "disentangle-fas" / "synthetic"


class _Brightness(torch.nn.Module):
    """A liveness model whose score is the mean brightness (varies across images)."""

    def live_score(self, images: torch.Tensor) -> torch.Tensor:
        return images.mean(dim=(1, 2, 3))


def test_synthetic_held_out_sets_have_two_frames_per_video_averaged_per_video() -> None:
    task = synthetic_task("OCI->M", image_size=32, train_per_domain=8, eval_per_domain=8, seed=5)
    target = task.target_test
    assert isinstance(target, SyntheticFAS)
    videos = [r.video_id for r in target.records]
    assert len(set(videos)) == 4 < len(videos) == 8
    assert all(videos.count(v) == 2 for v in videos)
    # Both frames of a video are different pictures of one capture, with one label.
    assert not np.array_equal(target.images_uint8([0]), target.images_uint8([1]))
    assert target.records[0].label == target.records[1].label
    train_videos = {r.video_id for r in task.train.parts[0].records}  # type: ignore[attr-defined]
    assert len(train_videos) == 8  # training keeps one frame per video
    result = evaluate_model(_Brightness(), task.source_val, target, device=torch.device("cpu"))
    assert result.level == "video"
    assert result.num_videos == 4 < result.num_samples == 8
    specs = synthetic_splits("OCI->M", 32, 8, 8, 5)
    assert [(s.domain, s.split, s.frames_per_video) for s in specs] == [
        ("O", "train", 1), ("C", "train", 1), ("I", "train", 1),
        ("O", "dev", 2), ("C", "dev", 2), ("I", "dev", 2), ("M", "test", 2),
    ]  # fmt: skip
    assert result.num_videos is not None


def test_a_batch_that_cannot_be_balanced_is_refused_before_any_run(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path).replace(batch_size=16)
    with pytest.raises(
        ValueError, match=r"batch_size 16 does not fit for task OCI->M.*multiple of 6 \(e.g. 18\)"
    ):
        run_protocol(cfg, tasks=["OCI->M"], variants=["baseline"])
    assert not any(tmp_path.iterdir())  # nothing rendered, nothing written


def test_workers_render_each_synthetic_split_once_before_the_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    cfg = _cfg(tmp_path / "runs").replace(
        steps=2, batch_size=6, synthetic_train_per_domain=6, synthetic_eval_per_domain=4
    )
    lines: list[str] = []
    res = run_protocol(cfg, tasks=["OCI->M", "OCM->I"], variants=["baseline"], seeds=1,
                       workers=2, echo=lines.append, keep="none")  # fmt: skip
    assert lines[0].startswith("protocol: 2 tasks x 1 variant x 1 seed = 2 runs on 2 workers; ")
    assert "resnet10, 32 px, 2 steps of batch 6" in lines[0]
    # OCI->M and OCM->I share O and C (train and dev): 3 + 3 + 1 + 3 + 3 + 1 - 4 = 10 splits.
    assert lines[1].startswith("rendered or read 10 synthetic splits")
    assert len(list((tmp_path / "cache" / "synthetic").glob("*.npz"))) == 10
    assert [r.task for r in res.records] == ["OCI->M", "OCM->I"]
    assert all(r.result.num_videos == 2 < r.result.num_samples == 4 for r in res.records)
