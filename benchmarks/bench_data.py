"""Data throughput: training-store reads (images/s per core) and preprocessing (frames/s).

Store reads: a temporary store of random crops (written directly in the store format) is
read in one process with one torch thread, after a full pass that puts it in the page
cache. Rates are images per second of this process's CPU time (``time.process_time``),
i.e. per core, which other processes on a shared machine disturb much less than wall time;
wall-clock rates are printed too, and the minor page faults per image (memory the
allocator got fresh from the kernel). Paths, alternating batch by batch over several
rounds:

* ``before``: the read path as it was before the batched reads (copy the row out of the
  map, float CHW conversion, a second array for the division), re-created here as the
  reference;
* ``dataset[i]`` and ``DataLoader(dataset, batch_sampler=DomainBalancedBatchSampler)``
  (the batch read through ``__getitems__`` + ``default_collate``, the training loop's
  pattern);
* ``read_batch`` float32 and ``BatchReader`` uint8 (one gather per batch; uint8 batches
  are converted on the device, here optionally on the CPU to show that cost).

Preprocessing: synthetic Replay-Attack-style videos (``.mov``, 320x240, H.264 when the
bundled FFmpeg has it) with ``.face`` annotations, run through ``ReplayAttack`` and
``preprocess_records`` (no detector needed) with the default settings (10 frames per
video, PNG crops) and with every frame.

    python benchmarks/bench_data.py                      # about 30 s on 2 cores
    python benchmarks/bench_data.py --workers 2          # + DataLoader worker processes
    MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=536870912 \
        python benchmarks/bench_data.py                  # glibc keeps freed batches
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _common import cpu_model, load_average, run_stages, store_parser
from torch.utils.data import DataLoader, Dataset

from disentangle_fas.data import (
    DomainBalancedBatchSampler,
    ManifestEntry,
    ReplayAttack,
    StoreDataset,
    write_manifest,
)
from disentangle_fas.data.datasets import BatchReader, uint8_to_float
from disentangle_fas.data.pipeline import PreprocessConfig
from disentangle_fas.data.preprocess import preprocess_records
from disentangle_fas.types import FASSample

TARGET_PER_CORE = 5000.0


# -- machine ----------------------------------------------------------------------------------
def machine() -> list[str]:
    import av

    return [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"cpu: {cpu_model()}, {os.cpu_count()} logical cores",
        f"python {platform.python_version()}, torch {torch.__version__}, numpy "
        f"{np.__version__}, av {av.__version__}",
        "device: cpu (store reads and preprocessing run on the CPU)",
        f"load average (1/5/15 min): {load_average()}",
    ]


# -- store reads ------------------------------------------------------------------------------
def write_store(root: Path, n: int, size: int) -> None:
    """``n`` random ``size x size`` crops, 3 domains, live/spoof alternating, 10 per video."""
    rng = np.random.default_rng(0)
    array = np.lib.format.open_memmap(
        root / "train.npy", mode="w+", dtype=np.uint8, shape=(n, size, size, 3)
    )
    for start in range(0, n, 256):
        stop = min(n, start + 256)
        array[start:stop] = rng.integers(0, 256, (stop - start, size, size, 3), dtype=np.uint8)
    array.flush()
    del array
    entries = [
        ManifestEntry(
            path=f"crops/{i}.png",
            label=(i // 10) % 2,
            attack=0 if (i // 10) % 2 else 1,
            domain="OCI"[(i // 20) % 3],
            subject=f"s{i // 60}",
            split="train",
            video_id=f"v{i // 10}",
            frame=i % 10,
        )
        for i in range(n)
    ]
    write_manifest(root / "train.jsonl", entries)
    meta = {"format": "disentangle-fas-store", "version": 1, "height": size, "width": size}
    (root / "store.json").write_text(json.dumps({**meta, "splits": {"train": n}}))


def before_getitem(ds: StoreDataset, index: int) -> FASSample:
    """The per-sample read path as it was before the batched reads (reference)."""
    split, row = ds._rows[int(ds._positions[index])]
    array = np.array(ds._array(split)[row], dtype=np.uint8)
    chw = np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32)
    image = torch.from_numpy(chw / np.float32(255.0))
    entry = ds.entries[index]
    return FASSample(
        image, entry.label, int(ds.domains[index]), entry.attack, index, entry.video_id
    )


class Before(Dataset[FASSample]):
    """``StoreDataset`` with the old per-sample path, for the DataLoader comparison."""

    def __init__(self, ds: StoreDataset) -> None:
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, index: int) -> FASSample:
        return before_getitem(self.ds, index)


def _sizes(batches: Iterable[Any], convert: bool = False) -> Iterator[int]:
    """Yield each batch's image count (converting uint8 batches to float when asked)."""
    for b in batches:
        image = uint8_to_float(b.image) if convert else b.image
        yield int(image.shape[0])


def store_paths(
    ds: StoreDataset, sampler: DomainBalancedBatchSampler
) -> dict[str, Callable[[], Iterator[int]]]:
    """Per path, a factory of an iterator that reads the sampler's batches one per ``next``."""
    old = Before(ds)

    def per_sample(get: Callable[[int], FASSample]) -> Callable[[], Iterator[int]]:
        def run() -> Iterator[int]:
            for indices in sampler:
                yield len([get(i) for i in indices])

        return run

    def batch_reader(convert: bool) -> Callable[[], Iterator[int]]:
        loader = DataLoader(BatchReader(ds), sampler=sampler, batch_size=None)
        return lambda: _sizes(loader, convert)

    return {
        "before: dataset[i]": per_sample(lambda i: before_getitem(ds, i)),
        "dataset[i]": per_sample(ds.__getitem__),
        "before: DataLoader(batch_sampler)": lambda: _sizes(DataLoader(old, batch_sampler=sampler)),
        "DataLoader(batch_sampler)": lambda: _sizes(DataLoader(ds, batch_sampler=sampler)),
        "read_batch float32": lambda: _sizes(ds.read_batch(b) for b in sampler),
        "DataLoader(BatchReader) uint8": batch_reader(convert=False),
        "DataLoader(BatchReader) uint8 + CPU float": batch_reader(convert=True),
    }


def worker_loaders(
    ds: StoreDataset, sampler: DomainBalancedBatchSampler, workers: int
) -> dict[str, DataLoader[Any]]:
    """Loaders with persistent worker processes (started by the warm-up pass)."""
    return {
        f"DataLoader(batch_sampler), {workers} workers": DataLoader(
            ds, batch_sampler=sampler, num_workers=workers, persistent_workers=True
        ),
        f"DataLoader(BatchReader) uint8, {workers} workers": DataLoader(
            BatchReader(ds),
            sampler=sampler,
            batch_size=None,
            num_workers=workers,
            persistent_workers=True,
        ),
    }


def bench_store(args: argparse.Namespace, tmp: Path) -> None:
    root = tmp / "store"
    root.mkdir()
    t0 = time.perf_counter()
    write_store(root, args.images, args.size)
    mib = args.images * args.size * args.size * 3 / 2**20
    num_batches = max(1, args.read // args.batch)
    print(
        f"\nstore: {args.images} random {args.size}x{args.size} crops ({mib:.0f} MiB) written "
        f"in {time.perf_counter() - t0:.1f} s; batch {args.batch} (DomainBalancedBatchSampler, "
        f"3 domains), {num_batches} batches per path and round, {args.rounds} rounds, paths "
        "alternating batch by batch, torch threads 1"
    )
    ds = StoreDataset(root)
    np.asarray(np.load(root / "train.npy", mmap_mode="r")).sum()  # page cache warm-up
    sampler = DomainBalancedBatchSampler.from_dataset(ds, args.batch, num_batches=num_batches)
    paths = store_paths(ds, sampler)
    names = list(paths)
    for make in paths.values():  # warm-up (first map, allocator)
        sum(make())
    cpu: dict[str, list[float]] = {k: [] for k in names}
    wall: dict[str, list[float]] = {k: [] for k in names}
    faults = dict.fromkeys(names, 0.0)  # minor page faults per image
    for r in range(args.rounds):
        sampler.set_epoch(r)
        running = {name: paths[name]() for name in names}
        spent = {name: [0.0, 0.0, 0, 0] for name in names}  # CPU s, wall s, images, faults
        for b in range(num_batches):
            k = (b + r) % len(names)
            for name in names[k:] + names[:k]:
                f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                c0, w0 = time.process_time(), time.perf_counter()
                n = next(running[name])
                spent[name][0] += time.process_time() - c0
                spent[name][1] += time.perf_counter() - w0
                spent[name][2] += n
                spent[name][3] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
        for name, (c, w, n, f) in spent.items():
            cpu[name].append(n / max(c, 1e-9))
            wall[name].append(n / max(w, 1e-9))
            faults[name] += f / n / args.rounds
    before = cpu["before: DataLoader(batch_sampler)"]
    print(
        "\n| read path | images/s per core (CPU time) | images/s wall | vs before loader "
        "| page faults per image |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in names:
        per_round = [a / b for a, b in zip(cpu[name], before, strict=True)]
        print(
            f"| {name} | {statistics.median(cpu[name]):.0f} | "
            f"{statistics.median(wall[name]):.0f} | {statistics.median(per_round):.2f}x | "
            f"{faults[name]:.0f} |"
        )
    if args.workers > 0:  # wall clock only: the work happens in the worker processes
        loaders = worker_loaders(ds, sampler, args.workers)
        for loader in loaders.values():
            sum(_sizes(loader))
        rates: dict[str, list[float]] = {k: [] for k in loaders}
        for _ in range(args.rounds):
            for name, loader in loaders.items():
                w0 = time.perf_counter()
                rates[name].append(sum(_sizes(loader)) / (time.perf_counter() - w0))
        for name, values in rates.items():
            print(f"| {name} | n/a (in workers) | {statistics.median(values):.0f} | | |")
    for name in ("DataLoader(batch_sampler)", "DataLoader(BatchReader) uint8"):
        rate = statistics.median(cpu[name])
        verdict = "met" if rate >= TARGET_PER_CORE else "missed"
        print(f"target >= {TARGET_PER_CORE:.0f} images/s per core, {name}: {verdict} ({rate:.0f})")


# -- preprocessing ----------------------------------------------------------------------------
def write_video(path: Path, frames: int, width: int, height: int, seed: int) -> str:
    """A synthetic face-like clip: textured background, a bright ellipse moving slowly."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    background = rng.integers(40, 200, (height // 8, width // 8, 3), dtype=np.uint8)
    background = background.repeat(8, axis=0).repeat(8, axis=1)
    yy, xx = np.mgrid[0:height, 0:width]
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            img = background.copy()
            cx, cy = width // 2 + 10 * np.sin(i / 10), height // 2
            face = ((xx - cx) / 50) ** 2 + ((yy - cy) / 65) ** 2 < 1
            img[face] = (220, 180, 150)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return codec


def replay_tree(root: Path, videos: int, frames: int) -> str:
    """Replay-Attack layout: ``train/real``, ``train/attack/fixed`` and ``.face`` files."""
    codec = ""
    for k in range(videos):
        if k % 2 == 0:
            rel = f"train/real/client{k:03d}_session01_webcam_authenticate_controlled_1.mov"
        else:
            rel = (
                f"train/attack/fixed/attack_print_client{k:03d}_session01_highdef_photo_adverse.mov"
            )
        codec = write_video(root / rel, frames, 320, 240, seed=k)
        face = (root / "face-locations" / rel).with_suffix(".face")
        face.parent.mkdir(parents=True, exist_ok=True)
        face.write_text("".join(f"{i} 110 55 100 130\n" for i in range(frames)))
    (root / "train" / "attack" / "hand").mkdir(parents=True, exist_ok=True)
    return codec


def bench_preprocess(args: argparse.Namespace, tmp: Path) -> None:
    root = tmp / "replay"
    codec = replay_tree(root, args.videos, args.video_frames)
    records = ReplayAttack(root).records(split="train")
    print(
        f"\npreprocessing: {len(records)} Replay-style videos, 320x240, {args.video_frames} "
        f"frames each, codec {codec}, .face boxes (no detector), {args.workers_pre} "
        "process(es), 256x256 crops"
    )
    configs = {
        "default (10 frames/video, png)": PreprocessConfig(),
        "every frame, png": PreprocessConfig(sampling="all", frames=1),
        "every frame, jpg": PreprocessConfig(sampling="all", frames=1, image_format="jpg"),
    }
    print(
        "\n| settings | crops | s | crops/s | source frames decoded/s | ms per crop (CPU) |"
        "\n| --- | ---: | ---: | ---: | ---: | ---: |"
    )
    for name, config in configs.items():
        out = tmp / f"pre-{len(os.listdir(tmp))}"
        c0, w0 = time.process_time(), time.perf_counter()
        report = preprocess_records(records, out, config, workers=args.workers_pre, progress=False)
        seconds, cpu = time.perf_counter() - w0, time.process_time() - c0
        if report.failed or report.crops == 0:
            raise SystemExit(f"preprocessing failed: {report.to_json()[:2000]}")
        frames = [e.frame for e in _manifest(out)]
        decoded = len(records) * (max(frames) + 1)  # decoding stops after the last wanted
        cpu_note = f"{1000 * cpu / report.crops:.1f}" if args.workers_pre <= 1 else "n/a"
        print(
            f"| {name} | {report.crops} | {seconds:.1f} | {report.crops / seconds:.0f} | "
            f"{decoded / seconds:.0f} | {cpu_note} |"
        )
        shutil.rmtree(out)


def _manifest(out: Path) -> list[ManifestEntry]:
    from disentangle_fas.data import read_manifest

    return read_manifest(out / "manifest.jsonl")


def main(argv: list[str] | None = None) -> int:
    p = store_parser(
        __doc__, images=2000, batch=24, batch_help="batch size (multiple of 6)", read=480
    )
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--workers", type=int, default=0, help="also time DataLoader workers")
    p.add_argument("--videos", type=int, default=4, help="synthetic videos to preprocess")
    p.add_argument("--video-frames", type=int, default=75, help="frames per video")
    p.add_argument("--workers-pre", type=int, default=1, help="preprocessing processes")
    p.add_argument("--skip-store", action="store_true")
    p.add_argument("--skip-preprocess", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    print("\n".join(machine()))
    return run_stages(
        args, args.tmp, [(args.skip_store, bench_store), (args.skip_preprocess, bench_preprocess)]
    )


if __name__ == "__main__":
    raise SystemExit(main())
