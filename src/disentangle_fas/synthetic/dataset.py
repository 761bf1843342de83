"""``SyntheticFAS``: the built-in multi-domain benchmark as a torch ``Dataset``."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from disentangle_fas.synthetic.cache import read_rendered, render_key, write_rendered
from disentangle_fas.synthetic.domains import DOMAINS
from disentangle_fas.synthetic.generator import SampleKey, SampleRender, render_sample
from disentangle_fas.synthetic.labels import LIVE
from disentangle_fas.synthetic.selection import resolve_attacks, resolve_domains
from disentangle_fas.synthetic.version import GENERATOR_VERSION
from disentangle_fas.types import FASSample, LabelledItem

__all__ = ["DEFAULT_DOMAINS", "SPLIT_NAMES", "SyntheticFAS", "SyntheticRecord"]

#: The four source/target domains of the leave-one-domain-out protocols.
DEFAULT_DOMAINS: tuple[str, ...] = ("O", "C", "I", "M")
#: Accepted split names (``"val"`` is an alias of ``"dev"``).
SPLIT_NAMES: tuple[str, ...] = ("train", "dev", "val", "test")
_CACHE_SIZE = 16


@dataclass(frozen=True)
class SyntheticRecord(LabelledItem[str]):
    """Metadata of one synthetic sample, known without rendering it.

    The first seven fields are :class:`~disentangle_fas.types.LabelledItem`'s, the
    labels of :class:`disentangle_fas.data.Record`.

    Attributes:
        path: a virtual path, ``synthetic://<domain>/<split>/seed<seed>/v<video>/f<frame>``.
        label: 1 live, 0 spoof.
        attack: attack id (0 live, 1 print, 2 replay, 3 mask).
        domain: domain code (``"O"``, ``"C"``, ``"I"``, ``"M"``, ``"Cb"``).
        subject: person id, unique across domains, splits and seeds.
        split: ``"train"``, ``"dev"`` or ``"test"``.
        video_id: ``"synth-<domain>:<split>/seed<seed>/v<video>"``, shared by the
            video's frames.
        index: position in the dataset.
        domain_index: index of the domain within this dataset (``FASSample.domain``).
        video: video number within the domain.
        frame: frame number within the video.
    """

    index: int
    domain_index: int
    video: int
    frame: int


class SyntheticFAS(Dataset[FASSample]):
    """Procedurally rendered multi-domain face anti-spoofing benchmark.

    Samples are laid out domain by domain; within a domain, index ``i`` is frame
    ``i % frames_per_video`` of video ``i // frames_per_video``. Labels are stratified
    exactly (a ``live_fraction`` share of the videos of every prefix is live; spoof videos
    cycle through the attack types) and ``videos_per_subject`` consecutive videos show the
    same person, so each person appears live and spoofed. Every sample is a pure function
    of ``(seed, split, domain, video, frame)``: it can be rendered alone, in any order, in
    any worker, and is identical every time, for one :attr:`generator_version`.

    Args:
        domains: codes, names or global indices of the domains (default ``O, C, I, M``).
        samples_per_domain: number of images per domain.
        image_size: output side in pixels (32 to 256).
        split: ``"train"``, ``"dev"`` (alias ``"val"``) or ``"test"``; each split draws
            its own people, scenes and cameras.
        seed: the benchmark seed.
        attacks: spoof types to include (names or ids, or ``"all"``); ``None`` uses each
            domain's own list (print and replay, plus masks in ``Cb``).
        live_fraction: share of live videos.
        frames_per_video: frames rendered per video (pose, expression and hand jitter).
        videos_per_subject: consecutive videos that share a person.
        pre_render: render everything now and keep it in memory (uint8 images, float16
            maps); otherwise render on access (with a small cache).
        num_workers: worker processes for pre-rendering.
        transform: optional function applied to the ``(3, H, W)`` image tensor.
        cache_dir: with ``pre_render``, a folder of rendered splits
            (:mod:`~disentangle_fas.synthetic.cache`): the renders are read from it when
            it holds this dataset's :meth:`render_key`, else rendered and written to it.

    Raises:
        ValueError: invalid sizes, fractions, splits, domains or attacks.

    Example:
        >>> ds = SyntheticFAS(["O", "C"], samples_per_domain=4, image_size=32)
        >>> s = ds[0]
        >>> s.image.shape, s.label, ds.records[0].domain
        (torch.Size([3, 32, 32]), 0, 'O')
    """

    def __init__(
        self,
        domains: Sequence[str | int] | str | int = DEFAULT_DOMAINS,
        *,
        samples_per_domain: int = 256,
        image_size: int = 64,
        split: str = "train",
        seed: int = 0,
        attacks: Sequence[str | int] | str | int | None = None,
        live_fraction: float = 0.5,
        frames_per_video: int = 1,
        videos_per_subject: int = 4,
        pre_render: bool = False,
        num_workers: int = 0,
        transform: Callable[[Tensor], Tensor] | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        if not isinstance(image_size, int) or not 32 <= image_size <= 256:
            raise ValueError(f"image_size must be an integer in [32, 256], got {image_size!r}")
        if not isinstance(samples_per_domain, int) or samples_per_domain < 1:
            raise ValueError(
                f"samples_per_domain must be a positive integer, got {samples_per_domain!r}"
            )
        if split not in SPLIT_NAMES:
            raise ValueError(f"split must be one of {SPLIT_NAMES}, got {split!r}")
        if not 0.0 <= live_fraction <= 1.0:
            raise ValueError(f"live_fraction must be in [0, 1], got {live_fraction}")
        if frames_per_video < 1 or videos_per_subject < 1:
            raise ValueError("frames_per_video and videos_per_subject must be at least 1")
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        self.domain_ids = resolve_domains(domains)
        self.domain_codes = tuple(DOMAINS[g].code for g in self.domain_ids)
        self.split = "dev" if split == "val" else split
        self.seed = int(seed)
        self.image_size = image_size
        self.samples_per_domain = samples_per_domain
        self.live_fraction = float(live_fraction)
        self.frames_per_video = frames_per_video
        self.videos_per_subject = videos_per_subject
        self.transform = transform
        #: The design version of the generator that renders this dataset.
        self.generator_version = GENERATOR_VERSION
        if attacks is None:
            self.attacks_per_domain = tuple(DOMAINS[g].attacks for g in self.domain_ids)
        else:
            chosen = resolve_attacks(attacks) if live_fraction < 1 else ()
            self.attacks_per_domain = tuple(chosen for _ in self.domain_ids)
        self.records = self._build_records()
        self.labels = np.array([r.label for r in self.records], dtype=np.int64)
        self.attack_ids = np.array([r.attack for r in self.records], dtype=np.int64)
        self.domain_indices = np.array([r.domain_index for r in self.records], dtype=np.int64)
        self._cache: OrderedDict[int, SampleRender] = OrderedDict()
        self._store: dict[str, np.ndarray] | None = None
        if pre_render:
            cached = None if cache_dir is None else self._read_cache(cache_dir)
            if cached is None:
                self.render_all(num_workers=num_workers)
                if cache_dir is not None and self._store is not None:
                    write_rendered(cache_dir, self.render_key(), self._store)
            else:
                self._store = cached

    def render_key(self) -> str:
        """The name of this dataset's renders in a cache: a hash of the generator version
        and of every argument that decides what is rendered (not ``transform``).
        """
        return render_key(
            {
                "generator_version": self.generator_version,
                "domains": list(self.domain_ids),
                "samples_per_domain": self.samples_per_domain,
                "image_size": self.image_size,
                "split": self.split,
                "seed": self.seed,
                "attacks": [list(a) for a in self.attacks_per_domain],
                "live_fraction": self.live_fraction,
                "frames_per_video": self.frames_per_video,
                "videos_per_subject": self.videos_per_subject,
            }
        )

    def _read_cache(self, folder: str | Path) -> dict[str, np.ndarray] | None:
        return read_rendered(folder, self.render_key(), len(self.records), self.image_size)

    # -- layout ---------------------------------------------------------------------------

    def _video_label(self, video: int, attacks: tuple[int, ...]) -> tuple[int, int]:
        lf = self.live_fraction
        if math.floor((video + 1) * lf) > math.floor(video * lf) or not attacks:
            return 1, LIVE
        rank = video - math.floor(video * lf)
        return 0, attacks[rank % len(attacks)]

    def _build_records(self) -> list[SyntheticRecord]:
        recs: list[SyntheticRecord] = []
        for local, (gid, attacks) in enumerate(
            zip(self.domain_ids, self.attacks_per_domain, strict=True)
        ):
            code = DOMAINS[gid].code
            base = f"{self.split}/seed{self.seed}"
            for i in range(self.samples_per_domain):
                video, frame = divmod(i, self.frames_per_video)
                label, attack = self._video_label(video, attacks)
                subject = video // self.videos_per_subject
                recs.append(
                    SyntheticRecord(
                        path=f"synthetic://{code}/{base}/v{video:05d}/f{frame:03d}",
                        label=label,
                        attack=attack,
                        domain=code,
                        subject=f"synth-{code}:{base}/s{subject:05d}",
                        split=self.split,
                        video_id=f"synth-{code}:{base}/v{video:05d}",
                        index=len(recs),
                        domain_index=local,
                        video=video,
                        frame=frame,
                    )
                )
        return recs

    def key(self, index: int) -> SampleKey:
        """Return the :class:`SampleKey` that determines sample ``index``."""
        r = self.records[self._check(index)]
        return SampleKey(
            seed=self.seed,
            split=self.split,
            domain=self.domain_ids[r.domain_index],
            subject=r.video // self.videos_per_subject,
            video=r.video,
            frame=r.frame,
            attack=r.attack,
        )

    def _check(self, index: int) -> int:
        i = int(index)
        if i < 0:
            i += len(self.records)
        if not 0 <= i < len(self.records):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} samples")
        return i

    # -- rendering ------------------------------------------------------------------------

    def render(self, index: int) -> SampleRender:
        """Render sample ``index`` (or fetch it from memory) with all its ground truth.

        Args:
            index: sample index.

        Returns:
            The image, position and depth maps, face mask and landmarks (numpy).
        """
        i = self._check(index)
        if self._store is not None:
            s = self._store
            return SampleRender(
                s["image"][i],
                s["position"][i].astype(np.float32),
                s["depth"][i].astype(np.float32),
                s["face"][i],
                s["landmarks"][i],
            )
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        out = render_sample(self.key(i), self.image_size)
        self._cache[i] = out
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return out

    def render_all(self, num_workers: int = 0) -> None:
        """Render every sample into memory (uint8 images, float16 maps).

        Args:
            num_workers: worker processes (0 renders in this process).
        """
        n, h = len(self), self.image_size
        store: dict[str, np.ndarray] = {
            "image": np.zeros((n, h, h, 3), dtype=np.uint8),
            "position": np.zeros((n, 3, h, h), dtype=np.float16),
            "depth": np.zeros((n, 1, h, h), dtype=np.float16),
            "face": np.zeros((n, h, h), dtype=bool),
            "landmarks": np.zeros((n, 10, 2), dtype=np.float32),
        }
        loader = torch.utils.data.DataLoader(
            _Renderer(self),
            batch_size=None,
            num_workers=num_workers,
            collate_fn=_identity,
        )
        for i, r in loader:
            store["image"][i] = r.image
            store["position"][i] = r.position
            store["depth"][i] = r.depth
            store["face"][i] = r.face
            store["landmarks"][i] = r.landmarks
        self._store = store
        self._cache.clear()

    @property
    def pre_rendered(self) -> bool:
        """Whether all samples are held in memory."""
        return self._store is not None

    def __len__(self) -> int:
        return len(self.records)

    def images_uint8(self, indices: Sequence[int]) -> np.ndarray:
        """The stored 0-255 pixels of several samples, without conversion or transform.

        Pre-rendered datasets gather them from memory in one indexing operation.

        Args:
            indices: sample indices.

        Returns:
            ``(B, H, W, 3)`` uint8 RGB array.

        Raises:
            IndexError: an index is out of range.
        """
        rows = np.array([self.records[self._check(i)].index for i in indices], dtype=np.int64)
        if self._store is not None:
            images: np.ndarray = self._store["image"][rows]
            return images
        return np.stack([self.render(int(r)).image for r in rows])

    def __getitem__(self, index: int) -> FASSample:
        """Return sample ``index`` as a :class:`~disentangle_fas.types.FASSample`."""
        r = self.records[self._check(index)]
        image = torch.from_numpy(self.render(r.index).image.transpose(2, 0, 1).copy())
        image = image.to(torch.float32).div_(255.0)
        if self.transform is not None:
            image = self.transform(image)
        return FASSample(image, r.label, r.domain_index, r.attack, r.index, r.video_id)

    # -- ground truth ---------------------------------------------------------------------

    def geometry(self, index: int, kind: str = "position") -> Tensor:
        """Dense ground-truth geometry of sample ``index`` (a content target).

        Args:
            index: sample index.
            kind: ``"position"`` (head-frame X, Y, Z in ``(0, 1)``) or ``"depth"``.

        Returns:
            float32 tensor, 0 off the face.

        Shape:
            - output: ``(3, H, W)`` for ``"position"``, ``(1, H, W)`` for ``"depth"``.

        Raises:
            ValueError: unknown ``kind``.
        """
        if kind not in ("position", "depth"):
            raise ValueError(f"kind must be 'position' or 'depth', got {kind!r}")
        r = self.render(index)
        return torch.from_numpy(np.array(r.position if kind == "position" else r.depth))

    def depth(self, index: int) -> Tensor:
        """Ground-truth depth map ``(1, H, W)`` of sample ``index`` (1 nearest, 0 off the face)."""
        return self.geometry(index, "depth")

    def landmarks(self, index: int) -> Tensor:
        """Landmarks ``(K, 2)`` ``(x, y)`` in pixels, in :data:`LANDMARK_NAMES` order."""
        return torch.from_numpy(np.array(self.render(index).landmarks))

    def face_mask(self, index: int) -> Tensor:
        """Boolean face region ``(H, W)`` (where the geometry maps are non-zero)."""
        return torch.from_numpy(np.array(self.render(index).face))

    def __repr__(self) -> str:
        return (
            f"SyntheticFAS(domains={list(self.domain_codes)}, split={self.split!r}, "
            f"samples_per_domain={self.samples_per_domain}, image_size={self.image_size}, "
            f"seed={self.seed}, live={int(self.labels.sum())}/{len(self)})"
        )


def _identity(item: Any) -> Any:
    return item


class _Renderer(Dataset[tuple[int, SampleRender]]):
    """Index -> (index, render) view used to pre-render in worker processes."""

    def __init__(self, ds: SyntheticFAS) -> None:
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, index: int) -> tuple[int, SampleRender]:
        return index, render_sample(self.ds.key(index), self.ds.image_size)
