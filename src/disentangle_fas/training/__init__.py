"""Training: configuration, data of a task, the loop, protocols, the command line.

* :class:`TrainConfig` -- every hyperparameter with its default, TOML/YAML + flags.
* :func:`build_task` -> :class:`TaskData` -- synthetic benchmark or a training store.
* :func:`train` -> :class:`TrainResult` -- plain PyTorch loop, resumable, DDP-ready.
* :func:`run_protocol` -- every leave-one-out task and several variants, one table.
* :class:`ObjectiveMethod`, :func:`register_method` -- train a model and objective of one's
  own through the same loop (the method contract is
  :class:`~disentangle_fas.contracts.TrainingMethod`).
"""

from disentangle_fas.training.config import TrainConfig, load_config, parse_config
from disentangle_fas.training.data import TaskData, build_task
from disentangle_fas.training.loop import NonFiniteLossError, TrainResult, lr_at, train
from disentangle_fas.training.methods import (
    ObjectiveMethod,
    available_methods,
    build_method,
    register_method,
)
from disentangle_fas.training.protocol import ProtocolResult, run_protocol

__all__ = [
    "NonFiniteLossError",
    "ObjectiveMethod",
    "ProtocolResult",
    "TaskData",
    "TrainConfig",
    "TrainResult",
    "available_methods",
    "build_method",
    "build_task",
    "load_config",
    "lr_at",
    "parse_config",
    "register_method",
    "run_protocol",
    "train",
]
