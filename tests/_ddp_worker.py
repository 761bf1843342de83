"""Run by torchrun in test_ddp.py: train on the fake task and dump this rank's parameters."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from _fake_task import fake_task, tiny_config
from disentangle_fas.training import train


def main() -> None:
    torch.set_num_threads(1)
    out = Path(sys.argv[1])
    cfg = tiny_config(str(out / "run"), steps=3, batch_size=12, eval_every=3, variant="full")
    res = train(cfg, fake_task())
    rank = os.environ["RANK"]
    flat = torch.cat([p.detach().flatten() for p in res.model.parameters()])
    torch.save(flat, out / f"params_rank{rank}.pt")


if __name__ == "__main__":
    main()
