"""Train the paper's model: the same as ``disentangle-fas train``.

    python examples/train.py                                   # synthetic OCI->M on CPU
    python examples/train.py --task "ICM->Cb" --variant baseline
    python examples/train.py --data /data/fas-store --task "OCI->M" \\
        --imagenet-weights resnet18-f37072fd.pth --prnet-weights prnet.safetensors

This is the full-featured runner (periodic evaluation, checkpoint policies, resuming, DDP);
its loop lives in ``disentangle_fas/training/loop.py``. For the loop in one readable file,
see ``examples/train_paper.py``. ``--help`` lists every option.
"""

from __future__ import annotations

import sys

from disentangle_fas.training.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
