"""``disentangle-fas check-data``: a dataset copy against the official counts, before preprocessing.

The check lists files and reads annotation / protocol files only; it opens videos only
with ``decode=True`` (``--decode``). It reports, per split, the counts of videos (or
images), real items, attacks and each attack type next to the official numbers
(:mod:`disentangle_fas.data.official`), the expected files that are missing, the files
that are not part of the dataset, the items whose face annotation is missing and, for
OULU-NPU, the protocol files' counts.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from disentangle_fas.data.adapters import (
    ADAPTERS,
    CasiaFASD,
    DatasetAdapter,
    MsuMfsd,
    ReplayAttack,
)
from disentangle_fas.data.official import (
    EXPECTED,
    OULU_PROTOCOL_COUNTS,
    REPLAY_ENROLMENT,
    casia_names,
    msu_names,
    oulu_names,
)
from disentangle_fas.data.records import Record

__all__ = ["CountRow", "DataCheck", "check_dataset", "main", "make_adapter"]

_SHOWN = 10


@dataclass(frozen=True)
class CountRow:
    """One line of the table: a count found next to the official one.

    Attributes:
        split: the split (or ``"all"``).
        group: what is counted (``"videos"``, ``"real"``, ``"attack 2"``, ...).
        expected: the official number, or ``None`` when there is none.
        found: the number in the copy.
        required: a difference is a mismatch (``False``: shown for information).
    """

    split: str
    group: str
    expected: int | None
    found: int
    required: bool = True

    @property
    def ok(self) -> bool:
        """The counts agree, or there is nothing to compare, or the row is informational."""
        return self.expected is None or self.found == self.expected or not self.required


@dataclass
class DataCheck:
    """Result of :func:`check_dataset`.

    Attributes:
        dataset: the adapter name (``"oulu"``, ...).
        root: the dataset root.
        rows: the count table.
        missing: official files not found (relative paths).
        unexpected: ``(path, reason)`` of files that are not part of the dataset.
        missing_annotations: items whose face-annotation file is missing (when every one
            is missing, a warning instead: a copy without annotation files).
        undecodable: ``(path, reason)`` of videos that could not be decoded (``decode``).
        warnings: other remarks (not mismatches).
        attack_names: attack id -> name (the adapter's ``ATTACKS``), shown in the table.
    """

    dataset: str
    root: Path
    rows: list[CountRow] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[tuple[str, str]] = field(default_factory=list)
    missing_annotations: list[str] = field(default_factory=list)
    undecodable: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    attack_names: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every required count matches and nothing official is missing or broken."""
        return (
            all(r.ok for r in self.rows)
            and not self.missing
            and not self.missing_annotations
            and not self.undecodable
        )

    def table(self) -> str:
        """The report as text: the count table, then the file lists (first ten of each)."""
        head = ("split", "count", "official", "found", "")
        lines = [head]
        for r in self.rows:
            mark = "ok" if r.expected is not None and r.found == r.expected else ""
            if not r.ok:
                mark = "MISMATCH"
            elif r.expected is not None and r.found != r.expected:
                mark = "differs (informational)"
            expected = "-" if r.expected is None else f"{r.expected:,}"
            group = r.group
            if group.startswith("attack ") and group[7:].isdigit():
                group += f" ({self.attack_names.get(int(group[7:]), '?')})"
            lines.append((r.split, group, expected, f"{r.found:,}", mark))
        widths = [max(len(row[i]) for row in lines) for i in range(5)]
        out = [f"{self.dataset} at {self.root}"]
        out += [
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in lines
        ]
        for title, items in (
            ("missing files", self.missing),
            ("unexpected files", [f"{p} ({why})" for p, why in self.unexpected]),
            ("missing face annotations", self.missing_annotations),
            ("undecodable videos", [f"{p} ({why})" for p, why in self.undecodable]),
        ):
            out.append(f"{title}: {len(items)}")
            out += [f"  {item}" for item in items[:_SHOWN]]
            if len(items) > _SHOWN:
                out.append(f"  ... and {len(items) - _SHOWN} more")
        out += [f"warning: {w}" for w in self.warnings]
        out.append("result: " + ("matches the official release" if self.ok else "MISMATCH"))
        return "\n".join(out)


def make_adapter(
    name: str, root: str | Path, *, face_locations: str | Path | None = None
) -> DatasetAdapter:
    """Build the adapter of a benchmark by its command-line name.

    Args:
        name: one of :data:`~disentangle_fas.data.adapters.ADAPTERS`.
        root: the dataset root.
        face_locations: Bob face-location folder (CASIA-FASD and Replay-Attack only).

    Returns:
        The adapter.

    Raises:
        ValueError: unknown name, or ``face_locations`` for another dataset.
        FileNotFoundError: a folder does not exist.
    """
    if name not in ADAPTERS:
        raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(ADAPTERS)}")
    if name == "casia":
        return CasiaFASD(root, face_locations=face_locations)
    if name == "replay":
        return ReplayAttack(root, face_locations=face_locations)
    if face_locations is not None:
        raise ValueError(
            f"--face-locations applies to casia and replay (Bob .face files), not {name!r}"
        )
    return ADAPTERS[name](root)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _count_rows(check: DataCheck, name: str, split: str, records: list[Record]) -> None:
    expected = EXPECTED[name][split]
    unit = "images" if "images" in expected else "videos"
    counts = Counter(f"attack {r.attack}" if r.label == 0 else "real" for r in records)
    found = {unit: len(records), "real": counts["real"], "attack": len(records) - counts["real"]}
    found.update({k: v for k, v in counts.items() if k != "real"})
    groups = list(expected) if unit == "videos" else [unit, "real", "attack"]
    groups += sorted(k for k in found if k not in groups)
    for group in groups:
        check.rows.append(CountRow(split, group, expected.get(group), found.get(group, 0)))


def _official_names(name: str, split: str, adapter: DatasetAdapter) -> set[str] | None:
    if name == "oulu":
        return oulu_names(split)
    if name == "casia":
        return casia_names(split)
    if name == "msu" and isinstance(adapter, MsuMfsd):
        return msu_names(adapter._clients(split))
    return None


def _oulu_protocols(check: DataCheck, root: Path, present: set[str]) -> None:
    folder = root / "Protocols"
    if not folder.is_dir():
        check.warnings.append("no Protocols/ folder: the protocol files were not checked")
        return
    files = {"train": "Train", "dev": "Dev", "test": "Test"}
    absent: list[str] = []
    for protocol, splits in OULU_PROTOCOL_COUNTS.items():
        folds = [""] if protocol in (1, 2) else [f"_{k}" for k in range(1, 7)]
        for fold in folds:
            for split, (real, attack) in splits.items():
                rel = f"Protocols/Protocol_{protocol}/{files[split]}{fold}.txt"
                path = root / rel
                if not path.is_file():
                    absent.append(rel)
                    continue
                signs: Counter[str] = Counter()
                for line in path.read_text().splitlines():
                    sign, _, stem = line.strip().partition(",")
                    if not stem:
                        continue
                    signs[sign.strip()] += 1
                    video = f"{stem.strip()}.avi"
                    if not any(
                        f"{d}/{video}" in present
                        for d in ("Train_files", "Dev_files", "Test_files")
                    ):
                        check.missing.append(f"{video} (listed in {rel})")
                label = f"P{protocol}{fold.replace('_', ' fold ')}"
                check.rows.append(CountRow(split, f"{label} real", real, signs["+1"] + signs["1"]))
                check.rows.append(CountRow(split, f"{label} attack", attack, signs["-1"]))
    if absent:
        check.warnings.append(
            f"{len(absent)} of the 42 official protocol files are absent and were not "
            f"checked (first: {absent[0]})"
        )


def _decode(check: DataCheck, records: list[Record]) -> None:
    from disentangle_fas.data.video import VideoReadError, count_frames, iter_frames

    for r in records:
        rel = _rel(r.path, check.root)
        try:
            if r.is_video:
                n = count_frames(r.path)
                if n < 1 or not list(iter_frames(r.path, [0])):
                    check.undecodable.append((rel, "no frame decoded"))
            else:
                from PIL import Image

                with Image.open(r.path) as img:
                    img.verify()
        except (VideoReadError, OSError, ValueError) as err:
            check.undecodable.append((rel, str(err).splitlines()[0][:120]))


def check_dataset(
    name: str,
    root: str | Path,
    *,
    decode: bool = False,
    face_locations: str | Path | None = None,
) -> DataCheck:
    """Compare a local copy of a benchmark with the official release.

    Args:
        name: ``"oulu"``, ``"casia"``, ``"replay"``, ``"msu"`` or ``"celeba-spoof"``.
        root: the dataset root.
        decode: also open every video (slow; PyAV needed) and every image.
        face_locations: CASIA-FASD / Replay-Attack face-location folder (Bob format) whose
            coverage to check; Replay-Attack defaults to its own ``face-locations/``.

    Returns:
        The check; :attr:`DataCheck.ok` says whether the copy matches.

    Raises:
        ValueError: unknown dataset name.
        FileNotFoundError: ``root`` is not a folder.
    """
    adapter = make_adapter(name, root, face_locations=face_locations)
    check = DataCheck(name, adapter.root, attack_names=dict(adapter.ATTACKS))
    all_records: list[Record] = []
    for split in adapter.SPLITS:
        try:
            records = adapter.records(split)
        except (FileNotFoundError, ValueError) as err:
            check.warnings.append(f"{split}: {err}")
            records = []
        all_records.extend(records)
        _count_rows(check, name, split, records)
        present = {_rel(r.path, check.root) for r in records}
        official = _official_names(name, split, adapter) if records else None
        if official is not None:
            check.missing.extend(sorted(official - present))
            check.unexpected.extend(
                (p, f"not an official {split} file") for p in sorted(present - official)
            )
        check.unexpected.extend((_rel(p, check.root), why) for p, why in adapter.skipped)
        for r in records:
            if r.annotation is not None and not r.annotation.is_file():
                check.missing_annotations.append(_rel(r.annotation, check.root))
    check.unexpected = list(dict.fromkeys(check.unexpected))
    with_annotation = sum(r.annotation is not None for r in all_records)
    if with_annotation and len(check.missing_annotations) == with_annotation:
        check.warnings.append(
            f"none of the {with_annotation} face-annotation files is present (a copy without "
            "them): preprocessing will need --detector-fallback or --detector mtcnn"
        )
        check.missing_annotations = []
    present_all = {_rel(r.path, check.root) for r in all_records}
    if name == "oulu":
        _oulu_protocols(check, check.root, present_all)
    if name == "replay":
        enrol = (
            sorted((check.root / "enroll").rglob("*.mov"))
            if (check.root / "enroll").is_dir()
            else []
        )
        check.rows.append(
            CountRow("all", "enrolment videos", REPLAY_ENROLMENT, len(enrol), required=False)
        )
    if name == "msu" and isinstance(adapter, MsuMfsd):
        for split, n in (("train", 15), ("test", 20)):
            try:
                check.rows.append(CountRow(split, "clients", n, len(adapter._clients(split))))
            except (FileNotFoundError, ValueError) as err:
                check.warnings.append(str(err))
    if name == "celeba-spoof" and (check.root / "Data" / "train_2").exists():
        check.warnings.append("Data/train_2/ is ignored (a broken duplicate in some copies)")
    if decode:
        _decode(check, all_records)
    return check


def main(argv: list[str]) -> int:
    """Run ``disentangle-fas check-data``.

    Args:
        argv: command-line arguments after the subcommand.

    Returns:
        0 when the copy matches, 1 on a mismatch, 2 on a usage error.
    """
    p = argparse.ArgumentParser(
        prog="disentangle-fas check-data",
        description="Count a dataset copy's files per split, class and attack type against "
        "the official numbers. Lists files only; --decode also opens every video.",
    )
    p.add_argument("--dataset", required=True, help=f"one of {', '.join(ADAPTERS)}")
    p.add_argument("--root", type=Path, required=True, help="your local copy of the dataset")
    p.add_argument("--decode", action="store_true", help="open every video and image (slow)")
    p.add_argument("--face-locations", type=Path, help="Bob face-location folder to check")
    args = p.parse_args(argv)
    if args.dataset not in ADAPTERS:
        print(
            f"disentangle-fas check-data: error: unknown dataset {args.dataset!r}; "
            f"choose one of {', '.join(ADAPTERS)}",
            file=sys.stderr,
        )
        return 2
    try:
        check = check_dataset(
            args.dataset, args.root, decode=args.decode, face_locations=args.face_locations
        )
    except (FileNotFoundError, ValueError, ImportError, TypeError) as err:
        print(f"disentangle-fas check-data: error: {err}", file=sys.stderr)
        return 2
    print(check.table())
    return 0 if check.ok else 1
