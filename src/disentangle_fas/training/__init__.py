"""Training: configuration, data of a task, the loop, protocols, the command line.

* :class:`TrainConfig` -- every hyperparameter with its default, TOML/YAML + flags.
* :func:`build_task` -> :class:`TaskData` -- synthetic benchmark or a training store.
* :func:`train` -> :class:`TrainResult` -- plain PyTorch loop, resumable, DDP-ready.
* :func:`run_protocol` -- every leave-one-out task and several variants, one table.
* :class:`ObjectiveMethod`, :func:`register_method` -- train a model and objective of one's
  own through the same loop (the method contract is
  :class:`~disentangle_fas.contracts.TrainingMethod`).
"""

from typing import TYPE_CHECKING

from disentangle_fas._lazy import lazy_exports

if TYPE_CHECKING:
    from disentangle_fas.training.config import TrainConfig
    from disentangle_fas.training.config_io import load_config, parse_config
    from disentangle_fas.training.data import TaskData
    from disentangle_fas.training.loop import NonFiniteLossError, TrainResult, lr_at, train
    from disentangle_fas.training.methods import (
        ObjectiveMethod,
        available_methods,
        build_method,
        register_method,
    )
    from disentangle_fas.training.protocol import ProtocolResult, run_protocol
    from disentangle_fas.training.tasks import build_task

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

#: public name -> the module that defines it (imported on first use).
_EXPORTS = {
    "TrainConfig": "disentangle_fas.training.config",
    "load_config": "disentangle_fas.training.config_io",
    "parse_config": "disentangle_fas.training.config_io",
    "TaskData": "disentangle_fas.training.data",
    "NonFiniteLossError": "disentangle_fas.training.loop",
    "TrainResult": "disentangle_fas.training.loop",
    "lr_at": "disentangle_fas.training.loop",
    "train": "disentangle_fas.training.loop",
    "ObjectiveMethod": "disentangle_fas.training.methods",
    "available_methods": "disentangle_fas.training.methods",
    "build_method": "disentangle_fas.training.methods",
    "register_method": "disentangle_fas.training.methods",
    "ProtocolResult": "disentangle_fas.training.protocol",
    "run_protocol": "disentangle_fas.training.protocol",
    "build_task": "disentangle_fas.training.tasks",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
