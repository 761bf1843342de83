"""Named preprocessing recipes of the DG-FAS literature (``preprocess --recipe``).

A number is only comparable with another when both come from the same frames, crops and
splits. Each recipe fixes the frame rule, the crop, the face boxes and the splits of one
published pipeline, so that a report can say which one produced its data:

* ``"ssdg"`` -- SSDG (Jia et al., CVPR 2020; ``taylover-pei/SSDG-CVPR2020``): MTCNN
  boxes on every dataset, 256x256 crops, one frame per training video (frame 6) and two
  per test video (frames ``6 + j * floor(N / 2)``); train and test splits, no dev sets.
* ``"flip"`` -- FLIP (Srivatsan et al., ICCV 2023; ``koushiksrivats/FLIP``): MTCNN boxes,
  224x224 crops, frames 6 and ``6 + floor(N / 2)`` of every video; train and test splits.
* ``"safas"`` -- SA-FAS (Sun et al., CVPR 2023; ``sunyiyou/SAFAS``): the raw MTCNN box
  (no enlargement) of every 5th frame, 256x256, of **every** split. Its training data then
  includes the dev and test videos of the source datasets, a split leak: the recipe runs
  only with ``allow_split_leak=True`` (``--allow-split-leak``).
* ``"default"`` -- this library's own: 10 frames per video by the literature rule
  (``6 + j * floor(N / 10)``), a 1.2x square around the dataset's own boxes where it ships
  them (MTCNN for CASIA-FASD), 256x256, every split (the protocols choose later).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from disentangle_fas.data.pipeline import PreprocessConfig

__all__ = ["RECIPES", "Recipe", "get_recipe"]


@dataclass(frozen=True)
class Recipe:
    """A named preprocessing pipeline of the literature.

    Attributes:
        name: the ``--recipe`` name.
        source: the paper and code it follows.
        config: frame rule, crop size and scale (per-split frame counts included).
        splits: splits it preprocesses (``None``: all).
        detector_everywhere: find every face with MTCNN, ignoring shipped annotations.
        split_leak: it trains on splits a clean protocol keeps out (needs an explicit flag).
    """

    name: str
    source: str
    config: PreprocessConfig
    splits: tuple[str, ...] | None
    detector_everywhere: bool
    split_leak: bool = False

    def describe(self) -> str:
        """One line naming the recipe's frames, crops, boxes and splits."""
        c = self.config
        frames = ", ".join(f"{s} {k}" for s, k in c.split_frames) or str(c.frames)
        rule = f"every {c.frames}th frame" if c.sampling == "every" else f"{c.sampling} rule"
        boxes = "MTCNN on every video" if self.detector_everywhere else "dataset boxes"
        splits = "all splits" if self.splits is None else "/".join(self.splits)
        return (
            f"{self.name}: {rule}, offset {c.offset}, frames per video {frames}; {c.size} px "
            f"crops at {c.crop_scale}x the box; {boxes}; {splits} ({self.source})"
        )


RECIPES: dict[str, Recipe] = {
    "default": Recipe(
        "default",
        "disentangle-fas",
        PreprocessConfig(),
        None,
        detector_everywhere=False,
    ),
    "ssdg": Recipe(
        "ssdg",
        "Jia et al., CVPR 2020, github.com/taylover-pei/SSDG-CVPR2020",
        PreprocessConfig(
            frames=2,
            offset=6,
            size=256,
            crop_scale=1.0,
            split_frames=(("train", 1), ("test", 2)),
        ),
        ("train", "test"),
        detector_everywhere=True,
    ),
    "flip": Recipe(
        "flip",
        "Srivatsan et al., ICCV 2023, github.com/koushiksrivats/FLIP",
        PreprocessConfig(frames=2, offset=6, size=224, crop_scale=1.0),
        ("train", "test"),
        detector_everywhere=True,
    ),
    "safas": Recipe(
        "safas",
        "Sun et al., CVPR 2023, github.com/sunyiyou/SAFAS",
        PreprocessConfig(frames=5, sampling="every", offset=0, size=256, crop_scale=1.0),
        None,
        detector_everywhere=True,
        split_leak=True,
    ),
}


def get_recipe(name: str, *, allow_split_leak: bool = False) -> Recipe:
    """Look up a recipe by name.

    Args:
        name: one of :data:`RECIPES`.
        allow_split_leak: accept a recipe that trains on splits a clean protocol keeps out.

    Returns:
        The recipe.

    Raises:
        ValueError: unknown name, or a leaking recipe without ``allow_split_leak``.
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}: choose one of {', '.join(RECIPES)}")
    recipe = RECIPES[name]
    if recipe.split_leak and not allow_split_leak:
        raise ValueError(
            f"recipe {name!r} preprocesses every split, dev and test included, for training "
            "(a known split leak of its source); pass --allow-split-leak to reproduce it anyway"
        )
    return replace(recipe)
