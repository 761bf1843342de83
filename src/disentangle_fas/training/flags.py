"""One line of ``--help`` per :class:`~disentangle_fas.training.TrainConfig` field (the
full story of each is in the config's docstring and ``docs/training.md``).
"""

from __future__ import annotations

__all__ = ["FLAG_HELP"]

#: field -> the one-line help of its flag (the default is appended by the parser).
FLAG_HELP: dict[str, str] = {
    "data": "'synthetic' (the built-in benchmark) or a training store folder from "
    "'disentangle-fas pack'",
    "task": "the task, e.g. 'OCI->M' (sources -> target); 'OCI->Cb' for unseen 3D masks",
    "image_size": "side in pixels of the images fed to the model",
    "synthetic_train_per_domain": "synthetic training images per source domain",
    "synthetic_eval_per_domain": "synthetic held-out images per domain (source val, target)",
    "num_workers": "DataLoader worker processes (real data)",
    "hflip": "random horizontal flips during training",
    "method": "the method to train ('disentangle-fas methods' lists them and their --set settings)",
    "depth": "ResNet depth of the encoders when --backbone is empty (10, 18, 34, 50)",
    "backbone": "encoder backbone: resnet10/18/34/50, mobilenet_v2, mobilenet_v3_small/large, "
    "efficientnet_b0..b3, timm:<model>; empty: resnet<depth>",
    "imagenet_weights": "local torchvision state dict of the backbone ('' = random init; "
    "nothing is downloaded)",
    "content_target": "auto (geometry on synthetic data, PRNet on real data), geometry or prnet",
    "content_size": "side of the content target map the decoder predicts",
    "prnet_weights": "local PRNet weights (safetensors from 'disentangle-fas convert-prnet')",
    "prnet_input_crop_scale": "side of the stored crops in face-box sides; > 0 re-cuts them "
    "to PRNet's square (0: fed unchanged)",
    "variant": "the paper's method: full, baseline, content or domain (Table 3 rows)",
    "lmcl_scale": "LMCL scale s of the paper's heads",
    "lmcl_margin": "LMCL margin m of the paper's heads",
    "w_dom": "weight of the domain classification loss",
    "w_cont": "weight of the content (target map) loss",
    "w_cont_cnf": "weight of the content confusion loss",
    "w_dom_cnf": "weight of the domain confusion loss",
    "w_live_cnf": "weight of the liveness confusion loss",
    "steps": "optimizer steps",
    "batch_size": "images per step; a multiple of 2 x the source domains",
    "lr": "AdamW peak learning rate (linear warm-up, cosine decay)",
    "weight_decay": "AdamW weight decay",
    "warmup_steps": "steps of linear learning-rate warm-up",
    "grad_clip": "maximum gradient norm (0 = no clipping)",
    "eval_every": "evaluate (source val and target) every N steps and at the end",
    "log_every": "write the training losses to log.jsonl every N steps",
    "threshold": "decision threshold: source_val_eer (honest) or oracle_target_eer "
    "(the literature's)",
    "checkpoint_policy": "checkpoint reported: best_source_val (honest), last or "
    "oracle_best_target (the literature's)",
    "averaging": "weights evaluated and saved: none, ema or swad (a uniform average of the "
    "steps after --average-start)",
    "ema_decay": "decay of the EMA, in (0, 1)",
    "average_start": "fraction of the steps, in [0, 1), before the weight average starts",
    "out": "output folder of the run",
    "seed": "seed of the data, the initialisation and the batch order",
    "device": "auto, cpu, cuda or cuda:N",
    "amp": "bf16 autocast on CUDA",
    "channels_last": "NHWC memory format on CUDA",
    "compile": "torch.compile the model",
    "resume": "continue the run in --out from its saved state",
    "overwrite": "replace the run in a non-empty --out",
    "allow_config_change": "let --resume continue with a changed configuration",
    "tensorboard": "also log to TensorBoard (needs tensorboard)",
    "progress": "show a progress bar",
}
