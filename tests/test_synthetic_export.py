"""Exporting the synthetic benchmark to PNG files and a manifest."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from disentangle_fas.synthetic import SyntheticFAS, export_synthetic, read_manifest
from disentangle_fas.synthetic.export import MANIFEST_COLUMNS


@pytest.fixture(scope="module")
def dataset() -> SyntheticFAS:
    return SyntheticFAS(["O", "Cb"], samples_per_domain=3, image_size=32, attacks="all")


def test_export_csv_roundtrip(tmp_path: Path, dataset: SyntheticFAS) -> None:
    manifest = export_synthetic(dataset, tmp_path, geometry=True)
    assert manifest == tmp_path / "manifest.csv"
    with manifest.open(newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == MANIFEST_COLUMNS
        rows = list(reader)
    assert len(rows) == len(dataset)
    for rec, row in zip(dataset.records, rows, strict=True):
        assert int(row["label"]) == rec.label and int(row["attack"]) == rec.attack
        assert row["domain"] == rec.domain and row["subject"] == rec.subject
        assert row["split"] == rec.split and row["video_id"] == rec.video_id
        png = np.asarray(Image.open(tmp_path / row["path"]).convert("RGB"))
        out = dataset.render(rec.index)
        assert np.array_equal(png, out.image)  # lossless
        geo = np.load((tmp_path / row["path"]).with_suffix(".npz"))
        np.testing.assert_allclose(geo["position"], out.position, atol=1e-3)
        assert np.array_equal(geo["face"], out.face)
    assert read_manifest(manifest)[0]["label"] == dataset.records[0].label


def test_export_reads_through_the_library_manifest(tmp_path: Path, dataset: SyntheticFAS) -> None:
    from disentangle_fas.data.manifest import read_manifest as read_library_manifest

    for name in ("manifest.csv", "manifest.jsonl"):
        entries = read_library_manifest(export_synthetic(dataset, tmp_path, manifest=name))
        assert [(e.label, e.attack, e.domain, e.video_id, e.frame) for e in entries] == [
            (r.label, r.attack, r.domain, r.video_id, r.frame) for r in dataset.records
        ]
        assert all(e.box is None and e.box_source == "full" for e in entries)


def test_export_jsonl_and_overwrite(tmp_path: Path, dataset: SyntheticFAS) -> None:
    manifest = export_synthetic(dataset, tmp_path, manifest="m.jsonl")
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert [r["video_id"] for r in rows] == [r.video_id for r in dataset.records]
    assert not list(tmp_path.rglob("*.npz"))
    with pytest.raises(FileExistsError):
        export_synthetic(dataset, tmp_path, manifest="m.jsonl")
    export_synthetic(dataset, tmp_path, manifest="m.jsonl", overwrite=True)
    assert read_manifest(manifest) == read_manifest(manifest)


def test_export_errors(tmp_path: Path, dataset: SyntheticFAS) -> None:
    with pytest.raises(ValueError, match=r"csv or \.jsonl"):
        export_synthetic(dataset, tmp_path, manifest="m.txt")
    with pytest.raises(FileNotFoundError):
        read_manifest(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("path,label\nx.png,1\n")
    with pytest.raises(ValueError, match="lacks the columns"):
        read_manifest(bad)
