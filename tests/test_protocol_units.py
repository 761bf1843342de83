"""A protocol's units done in one process, in concurrent shard processes into one folder,
or killed and done again: the same records and the same tables, from the run folders alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from _unit_helpers import PROTOCOL, shard_process, shared_cache, synthetic_config
from disentangle_fas.synthetic.cache import CACHE_ENV
from disentangle_fas.training.collect import collect
from disentangle_fas.training.protocol import run_protocol, run_units
from disentangle_fas.training.protocol_report import ProtocolResult
from disentangle_fas.training.run_record import RECORD_NAME


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ProtocolResult]]:
    """The protocol done serially in this process (it also fills the render cache, which
    the module's tests and their subprocesses use).
    """
    root = tmp_path_factory.mktemp("units")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(shared_cache(tmp_path_factory)))
        res = run_protocol(synthetic_config(root / "serial"), echo=lambda _: None, **PROTOCOL)
        yield root, res


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _records(out: Path) -> dict[str, dict]:
    """Every record's table-relevant content, by unit key."""
    found = {}
    for path in sorted(out.rglob(RECORD_NAME)):
        data = json.loads(path.read_text())
        for volatile in ("seconds", "checkpoint", "host"):
            data.pop(volatile)
        found[data["key"]] = data
    return found


def test_two_concurrent_shards_into_one_folder_give_the_serial_tables(
    serial: tuple[Path, ProtocolResult],
) -> None:
    root, res = serial
    out = root / "shards"
    procs = [shard_process(out, "1/2"), shard_process(out, "2/2")]
    logs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    # Each shard did its own unit; the one that finished last wrote the tables.
    assert any("units 1 of 2" in log for log in logs) and any("units 2 of 2" in log for log in logs)
    assert (out / "results.md").read_text() == (root / "serial" / "results.md").read_text()
    assert _records(out) == _records(root / "serial")
    assert list(_records(out)) == ["baseline/OCI->M/seed0", "full/OCI->M/seed0"]
    # --collect rebuilds the same tables from the run folders alone.
    (out / "results.md").unlink()
    got = collect(out)
    assert got.complete and got.result is not None
    assert (out / "results.md").read_text() == (root / "serial" / "results.md").read_text()
    assert got.result.to_dict() == res.to_dict()
    for a, b in zip(got.result.records, res.records, strict=True):
        assert a.result == b.result and a.history == b.history
        assert a.target_scores is not None and b.target_scores is not None
        assert a.target_scores.scores.tolist() == b.target_scores.scores.tolist()


def test_a_killed_shard_is_named_by_collect_and_rerunning_it_does_only_what_is_left(
    serial: tuple[Path, ProtocolResult],
) -> None:
    root, _ = serial
    out, marker = root / "killed", root / "hanging"
    # Two worker processes: unit 1 finishes, unit 2 hangs in its worker after training.
    proc = shard_process(out, "1/1", hang_marker=marker, workers=2)
    deadline = time.monotonic() + 240
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marker.exists(), proc.communicate()[0] if proc.poll() is not None else "timeout"
    while not (out / "baseline" / "OCI__M" / RECORD_NAME).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    worker = int(marker.read_text())
    proc.kill()  # SIGKILL of the protocol's process: no cleanup at all
    proc.wait()
    while _alive(worker) and time.monotonic() < deadline:  # its worker dies with it
        time.sleep(0.1)
    assert not _alive(worker), "a worker outlived the killed protocol"
    first = out / "baseline" / "OCI__M" / RECORD_NAME
    before = first.read_bytes(), first.stat().st_mtime_ns
    log_before = (first.parent / "log.jsonl").read_bytes()

    got = collect(out)
    assert not got.complete and got.result is None
    assert [(s.unit.key, s.state) for s in got.statuses] == [
        ("baseline/OCI->M/seed0", "finished"),
        ("full/OCI->M/seed0", "started"),
    ]
    assert "unit 2 full/OCI->M/seed0: started" in got.report()
    assert not (out / "results.md").exists()

    lines: list[str] = []
    done, outcome = run_units(synthetic_config(out), echo=lines.append, **PROTOCOL)
    assert "1 of 2 runs finished earlier (their records are read)" in lines
    assert [ln.split(":")[0] for ln in lines if ln.startswith("[")] == ["[1/1] full OCI->M seed 0"]
    assert (first.read_bytes(), first.stat().st_mtime_ns) == before  # not run again
    assert (first.parent / "log.jsonl").read_bytes() == log_before
    assert done.complete and not outcome.failures and outcome.reused == 1
    assert (out / "results.md").read_text() == (root / "serial" / "results.md").read_text()
