"""Two-process DDP on CPU (gloo): both ranks end with identical parameters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch


@pytest.mark.slow
def test_two_process_gloo_ddp_ends_with_identical_parameters(tmp_path: Path) -> None:
    worker = Path(__file__).with_name("_ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--master_port=29533", str(worker), str(tmp_path)]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a = torch.load(tmp_path / "params_rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "params_rank1.pt", weights_only=True)
    assert a.numel() > 1000
    assert torch.equal(a, b)
    # Training really ran: the state was saved and three steps were logged.
    assert (tmp_path / "run" / "state.safetensors").is_file()
    log = (tmp_path / "run" / "log.jsonl").read_text()
    assert log.count('"kind": "train"') == 3
