"""Render a picture grid of the synthetic benchmark: each domain (row) with a live face, each
spoof type, and the ground-truth depth and position maps of the live face.

Usage::

    python examples/synthetic_grid.py --out docs/images/synthetic_grid.png --size 128
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from disentangle_fas.synthetic import (
    ATTACK_NAMES,
    DOMAINS,
    SampleKey,
    render_sample,
)


def _tile(rgb: np.ndarray, landmarks: np.ndarray | None) -> Image.Image:
    img = Image.fromarray(rgb)
    if landmarks is not None:
        draw = ImageDraw.Draw(img)
        for x, y in landmarks[:5]:
            draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), outline=(255, 40, 40))
    return img


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("synthetic_grid.png"),
        help="PNG to write (the docs' picture: docs/images/synthetic_grid.png)",
    )
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--landmarks", action="store_true", help="mark the 5 landmarks")
    args = parser.parse_args(argv)
    size, pad, head = args.size, 4, 18
    columns = [*ATTACK_NAMES, "depth (live)", "position (live)"]
    width = 40 + len(columns) * (size + pad)
    height = head + len(DOMAINS) * (size + pad)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for c, name in enumerate(columns):
        draw.text((40 + c * (size + pad) + 4, 3), name, fill=(0, 0, 0))
    for r, spec in enumerate(DOMAINS):
        y0 = head + r * (size + pad)
        draw.text((4, y0 + size // 2 - 6), spec.code, fill=(0, 0, 0))
        live = None
        for attack in range(len(ATTACK_NAMES)):
            # Different videos (people, sessions) per cell; video numbers chosen per column.
            key = SampleKey(
                args.seed, "train", r, subject=attack, video=attack, frame=0, attack=attack
            )
            out = render_sample(key, size)
            if attack == 0:
                live = out
            tile = _tile(out.image, out.landmarks if args.landmarks else None)
            canvas.paste(tile, (40 + attack * (size + pad), y0))
        assert live is not None
        depth = (np.repeat(live.depth.transpose(1, 2, 0), 3, axis=2) * 255).astype(np.uint8)
        pos = (live.position.transpose(1, 2, 0) * 255).astype(np.uint8)
        canvas.paste(Image.fromarray(depth), (40 + 4 * (size + pad), y0))
        canvas.paste(Image.fromarray(pos), (40 + 5 * (size + pad), y0))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
