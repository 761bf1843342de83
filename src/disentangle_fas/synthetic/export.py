"""Export a :class:`~disentangle_fas.synthetic.SyntheticFAS` to PNG files and a manifest.

The manifest (CSV or JSON lines) has one row per image with the columns
``path, label, attack, domain, subject, split, video_id, frame, box_source`` (paths
relative to the manifest's folder; ``box_source`` is ``"full"``: the whole image is the
face crop), so exported synthetic data goes through the same manifest and store path as
preprocessed real data (:func:`disentangle_fas.data.manifest.read_manifest`,
``disentangle-fas pack``). Beside the manifest, ``generator.json`` records the
generator's design version (:data:`~disentangle_fas.synthetic.GENERATOR_VERSION`), read
back by :func:`read_generator_version`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from disentangle_fas.synthetic.labels import ATTACK_NAMES
from disentangle_fas.synthetic.version import GENERATOR_VERSION

if TYPE_CHECKING:
    from disentangle_fas.synthetic.dataset import SyntheticFAS

__all__ = [
    "GENERATOR_FILE",
    "MANIFEST_COLUMNS",
    "export_synthetic",
    "read_generator_version",
    "read_manifest",
]

#: File beside the manifest that records the generator's design version.
GENERATOR_FILE = "generator.json"

#: Manifest columns, in order.
MANIFEST_COLUMNS: tuple[str, ...] = (
    "path",
    "label",
    "attack",
    "domain",
    "subject",
    "split",
    "video_id",
    "frame",
    "box_source",
)


def export_synthetic(
    dataset: SyntheticFAS,
    root: str | Path,
    *,
    manifest: str = "manifest.csv",
    geometry: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write every image of ``dataset`` as a PNG under ``root`` and a manifest beside them.

    Images go to ``<root>/<domain>/<split>/<attack name>/v<video>_f<frame>.png``. With
    ``geometry=True`` each image also gets ``<same stem>.npz`` holding ``position``
    ``(3, H, W)``, ``depth`` ``(1, H, W)`` (float16), ``face`` ``(H, W)`` and
    ``landmarks`` ``(K, 2)``. ``<root>/generator.json`` records the generator version
    with the dataset's seed, split, image size and domains.

    Args:
        dataset: the synthetic dataset.
        root: output folder (created if missing).
        manifest: manifest file name; ``.csv`` or ``.jsonl``.
        geometry: also write the ground-truth geometry.
        overwrite: replace an existing manifest (otherwise refuse).

    Returns:
        The manifest's path.

    Raises:
        ValueError: unsupported manifest suffix.
        FileExistsError: the manifest exists and ``overwrite`` is false.
    """
    root = Path(root)
    target = root / manifest
    if target.suffix not in (".csv", ".jsonl"):
        raise ValueError(f"manifest must end in .csv or .jsonl, got {manifest!r}")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    root.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str | int]] = []
    for rec in dataset.records:
        rel = Path(
            rec.domain, rec.split, ATTACK_NAMES[rec.attack], f"v{rec.video:05d}_f{rec.frame:03d}"
        )
        out = dataset.render(rec.index)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(out.image).save(root / rel.with_suffix(".png"), compress_level=1)
        if geometry:
            np.savez(
                root / rel.with_suffix(".npz"),
                position=out.position.astype(np.float16),
                depth=out.depth.astype(np.float16),
                face=out.face,
                landmarks=out.landmarks,
            )
        rows.append(
            {
                "path": rel.with_suffix(".png").as_posix(),
                "label": rec.label,
                "attack": rec.attack,
                "domain": rec.domain,
                "subject": rec.subject,
                "split": rec.split,
                "video_id": rec.video_id,
                "frame": rec.frame,
                "box_source": "full",
            }
        )
    info = {
        "generator_version": GENERATOR_VERSION,
        "seed": dataset.seed,
        "split": dataset.split,
        "image_size": dataset.image_size,
        "domains": list(dataset.domain_codes),
    }
    (root / GENERATOR_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if target.suffix == ".csv":
        with target.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(MANIFEST_COLUMNS))
            writer.writeheader()
            writer.writerows(rows)
    else:
        with target.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
    return target


def read_manifest(path: str | Path) -> list[dict[str, str | int]]:
    """Read a manifest written by :func:`export_synthetic` (``label``, ``attack``, ``frame`` as ints).

    Args:
        path: the ``.csv`` or ``.jsonl`` manifest.

    Returns:
        One dict per image with the :data:`MANIFEST_COLUMNS` keys.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unsupported suffix or missing columns.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no manifest at {path}")
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            raw: list[dict[str, str | int]] = list(csv.DictReader(fh))
    elif path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as fh:
            raw = [json.loads(line) for line in fh if line.strip()]
    else:
        raise ValueError(f"manifest must end in .csv or .jsonl, got {path.name!r}")
    for row in raw:
        missing = [c for c in MANIFEST_COLUMNS if c not in row]
        if missing:
            raise ValueError(f"{path}: a row lacks the columns {missing}")
        row["label"] = int(row["label"])
        row["attack"] = int(row["attack"])
        row["frame"] = int(row["frame"])
    return raw


def read_generator_version(root: str | Path) -> int:
    """Return the generator version recorded by :func:`export_synthetic` in ``root``.

    Args:
        root: the export folder (or the manifest inside it).

    Returns:
        The version the data was rendered with.

    Raises:
        FileNotFoundError: no ``generator.json`` there (data exported before versions
            were recorded, or not synthetic).
        ValueError: the file has no integer ``generator_version``.
    """
    root = Path(root)
    folder = root.parent if root.is_file() else root
    path = folder / GENERATOR_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {GENERATOR_FILE} in {folder}")
    version = json.loads(path.read_text(encoding="utf-8")).get("generator_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"{path}: generator_version must be an integer, got {version!r}")
    return version
