"""Every writer of the library, killed in the middle of a write: the old file survives
whole, and every file the killed writer made (its own temporaries included, such as the
``.tmpXXXXXX`` safetensors writes before renaming) is a temporary that
:func:`~disentangle_fas._io.remove_temporaries` finds and removes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from disentangle_fas._io import leftover_temporaries, remove_temporaries

SRC = Path(__file__).resolve().parents[1] / "src"

#: Runs one writer into argv[2] (a folder) while a thread watches the writer's temporary
#: folder and SIGKILLs the process once the write is under way: for safetensors once its
#: own ``.tmp*`` file exists inside our temporary folder, for the others once the file
#: being written has bytes.
DRIVER = r"""
import os, signal, sys, threading, time
from pathlib import Path
import numpy as np
import torch
torch.set_num_threads(1)
writer, folder = sys.argv[1], Path(sys.argv[2])

def inner_safetensors(tmp_folder):
    return any(p.name.startswith(".tmp") for p in tmp_folder.iterdir())

def file_has_bytes(tmp_folder):
    return any(p.is_file() and p.stat().st_size > 0 for p in tmp_folder.iterdir())

def watch(ready):
    while True:
        for entry in folder.iterdir():
            if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_dir():
                try:
                    if ready(entry):
                        os.kill(os.getpid(), signal.SIGKILL)
                except FileNotFoundError:
                    pass
        time.sleep(0.0002)

from torch import nn
from disentangle_fas.contracts import InputSpec, LivenessModel, LivenessPath
from disentangle_fas.heads import LMCLHead

big = torch.randn(30_000_000)  # 120 MB: the write lasts long enough to be caught


class Big(LivenessModel):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(3, 8, 3, stride=4), nn.ReLU())
        self.head = LMCLHead(8)
        self.extra = nn.Parameter(big)

    @property
    def input_spec(self):
        return InputSpec(32)

    def liveness_path(self):
        return LivenessPath(self.encoder, self.head, nn.Identity())

    def forward(self, images):
        return self.head(self.encoder(images))


net = Big()
ready = file_has_bytes
if writer == "bytes":
    from disentangle_fas._io import atomic_write_bytes
    job = lambda: atomic_write_bytes(folder / "blob.bin", b"x" * 300_000_000)
elif writer == "safetensors":
    from disentangle_fas._io import save_safetensors
    ready = inner_safetensors
    job = lambda: save_safetensors(folder / "t.safetensors", {"a": big})
elif writer == "checkpoint":
    from disentangle_fas.checkpoint import save_model
    ready = inner_safetensors
    job = lambda: save_model(net, folder / "model.safetensors")
elif writer == "state":
    from disentangle_fas.training.state import save_training_state
    ready = inner_safetensors
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    job = lambda: save_training_state(
        folder / "state.safetensors", step=1, model=net, optimizer=opt, generators={}, history=[]
    )
elif writer == "torch_save":
    from disentangle_fas._io import atomic_path
    def job():
        with atomic_path(folder / "w.pth") as tmp:
            torch.save({"a": big}, tmp)
elif writer == "cache":
    from disentangle_fas.synthetic.cache import _ARRAYS, write_rendered
    n = 40_000
    store = {k: np.zeros((n, 32, 32, 3) if k == "images" else (n,), dtype=dt)
             for k, dt in _ARRAYS.items()}
    job = lambda: write_rendered(folder, "key", store)
else:
    raise SystemExit(f"unknown writer {writer}")
threading.Thread(target=watch, args=(ready,), daemon=True).start()
job()
print("finished without being killed")
"""

WRITERS = ["bytes", "safetensors", "checkpoint", "state", "torch_save", "cache"]


@pytest.mark.parametrize("writer", WRITERS)
def test_killed_writer_leaves_only_removable_temporaries(writer: str, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "keep.txt").write_text("the run's own file")
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(script), writer, str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    entries = set(folder.iterdir())
    left = set(leftover_temporaries(folder))
    assert left, "the kill came before the write started"
    assert entries - left == {folder / "keep.txt"}  # nothing half-written under a real name
    assert set(remove_temporaries(folder)) == left
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


def test_remove_temporaries_spares_young_ones_when_asked(tmp_path: Path) -> None:
    young = tmp_path / ".a.json.x1.tmp"
    young.mkdir()
    old = tmp_path / ".b.json.x2.tmp"
    old.mkdir()
    (old / "b.json").write_text("{")
    os.utime(old, (0, 0))
    (tmp_path / "real.tmp").write_text("not hidden: a user's file")
    assert remove_temporaries(tmp_path, older_than=60) == [old]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".a.json.x1.tmp", "real.tmp"]
